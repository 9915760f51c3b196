import assert from 'node:assert/strict';
import {cpioHeader, CPIO_TRAILER} from '../../src/formats/rpm/cpio.js';
import {headerBytes, int16, int32, str} from '../../src/formats/rpm/header.js';
import {lead} from '../../src/formats/rpm/lead.js';
import {HEADER_IMMUTABLE} from '../../src/formats/rpm/tags.js';

describe('rpm format parts, byte by byte', () => {
  it('a header: magic, counts, the region entry first and its trailer last, sorted tags, aligned integers', () => {
    const h = headerBytes(
      HEADER_IMMUTABLE,
      new Map([
        [1001, str('1.0')],
        [1000, str('x')],
        [1030, int16([0o100644])],
        [1028, int32([7])],
      ]),
    );
    assert.equal(h.readUInt32BE(0), 0x8eade801);
    const n = h.readUInt32BE(8);
    const size = h.readUInt32BE(12);
    assert.equal(n, 5);
    assert.equal(h.length, 16 + 16 * n + size);
    const entry = (i: number): number[] => [0, 4, 8, 12].map((o) => h.readInt32BE(16 + 16 * i + o));
    assert.deepEqual(entry(0), [HEADER_IMMUTABLE, 7, size - 16, 16]);
    assert.deepEqual(
      [1, 2, 3, 4].map((i) => entry(i)[0]),
      [1000, 1001, 1028, 1030],
    );
    const store = 16 + 16 * n;
    const off1028 = entry(3)[2]!;
    assert.equal(off1028 % 4, 0, 'int32 aligned');
    assert.equal(h.readUInt32BE(store + off1028), 7);
    const trailer = [0, 4, 8, 12].map((o) => h.readInt32BE(store + size - 16 + o));
    assert.deepEqual(trailer, [HEADER_IMMUTABLE, 7, -16 * n, 16]);
  });

  it('a lead: magic, v3.0, NVR, header-style signature', () => {
    const l = lead('kernel-devel-6.1-1');
    assert.equal(l.length, 96);
    assert.equal(l.readUInt32BE(0), 0xedabeedb);
    assert.equal(l.toString('latin1', 10, 28), 'kernel-devel-6.1-1');
    assert.equal(l.readUInt16BE(78), 5);
  });

  it('a newc cpio header is 4-aligned', () => {
    const h = cpioHeader({name: './a/b.h', ino: 3, mode: 0o100644, mtime: 1, size: 5, nlink: 1});
    assert.equal(h.toString('latin1', 0, 6), '070701');
    assert.equal(h.length % 4, 0);
    assert.equal(h.toString('latin1', 6, 14), '00000003');
    assert.match(CPIO_TRAILER.toString('latin1'), /TRAILER!!!/);
  });
});
