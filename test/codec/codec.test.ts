import assert from 'node:assert/strict';
import {randomBytes} from 'node:crypto';
import {readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {decompressBuffer, methodOf} from '../../src/codec/decompress.js';
import {REAL} from '../helpers/kheaders.js';
import {mustRun, scratch} from '../helpers/run.js';

/**
 * khpkg's own lz4 (legacy frame) and lzo (lzop) decoders against what the real tools write: the
 * kernel's own commands (`lz4 -l`, as kbuild's cmd_lz4; `lzop -9`, as its cmd_lzo) and their other
 * levels, on a real headers tar, on data that does not compress and on data that compresses 1000:1.
 */
describe('codec: lz4 and lzo as the kernel compresses its images', function () {
  this.timeout(120_000);
  const s = scratch();
  after(() => s.cleanup());
  const inputs: Record<string, Buffer> = {};
  before(() => {
    inputs.tar = Buffer.from(mustRun('sh', ['-c', `xz -dc '${REAL.archive}' | base64 -w0`]), 'base64');
    inputs.random = randomBytes(3 << 20);
    inputs.zeros = Buffer.alloc(20 << 20);
    inputs.small = Buffer.from('khpkg');
    for (const [name, data] of Object.entries(inputs)) writeFileSync(join(s.dir, name), data);
  });

  const cases: [string, string[], 'lz4' | 'lzo'][] = [
    ['lz4 -l -9 (kbuild)', ['lz4', '-l', '-9', '-f', '-q'], 'lz4'],
    ['lz4 -l -1', ['lz4', '-l', '-1', '-f', '-q'], 'lz4'],
    ['lzop -9 (kbuild)', ['lzop', '-9', '-f', '-o'], 'lzo'],
    ['lzop -1', ['lzop', '-1', '-f', '-o'], 'lzo'],
  ];
  for (const [what, cmd, method] of cases) {
    it(`${what}: every input decodes to its bytes`, async () => {
      for (const [name, data] of Object.entries(inputs)) {
        const packed = join(s.dir, `${name}.${what.replace(/\W+/g, '-')}`);
        if (method === 'lz4') mustRun(cmd[0]!, [...cmd.slice(1), join(s.dir, name), packed]);
        else mustRun(cmd[0]!, [...cmd.slice(1), packed, join(s.dir, name)]);
        const bytes = readFileSync(packed);
        assert.equal(methodOf(bytes), method, `${name}: told by its magic`);
        const out = await decompressBuffer(bytes, method, 1 << 30);
        assert.ok(out.equals(data), `${name} (${data.length} bytes) comes back as it was`);
      }
    });
  }

  it('damaged or hostile data is one clear error, never a wrong answer or a crash', async () => {
    const lz4 = join(s.dir, 'tar.lz4');
    mustRun('lz4', ['-l', '-9', '-f', '-q', join(s.dir, 'tar'), lz4]);
    const lzo = join(s.dir, 'tar.lzo');
    mustRun('lzop', ['-9', '-f', '-o', lzo, join(s.dir, 'tar')]);
    for (const [method, file] of [
      ['lz4', lz4],
      ['lzo', lzo],
    ] as const) {
      const good = readFileSync(file);
      const bad: [string, Buffer][] = [
        ['cut short', good.subarray(0, good.length >> 1)],
        ...(method === 'lzo' ? ([['its magic alone', good.subarray(0, 9)]] as [string, Buffer][]) : []),
        ['a byte flipped in every 4 KiB', Buffer.from(good.map((b, i) => (i > 64 && i % 4096 === 0 ? b ^ 0x5a : b)))],
      ];
      for (const [why, data] of bad) {
        // The legacy lz4 frame has no checksum: a flipped literal gives other bytes, which whatever reads them validates
        // (a kernel image's archive, its BTF); every bound is checked all the same. lzop's checksums are.
        if (method === 'lz4' && why.startsWith('a byte flipped')) {
          const out = await decompressBuffer(data, method, 1 << 30).catch((e: Error) => e);
          assert.ok(out instanceof Error ? /^lz4 data is corrupt \(/.test(out.message) : !out.equals(inputs.tar!), `lz4, ${why}`);
          continue;
        }
        await assert.rejects(decompressBuffer(data, method, 1 << 30), (e: Error) => {
          assert.match(e.message, new RegExp(`^${method} data is corrupt \\(`), `${method}, ${why}: ${e.message}`);
          return true;
        });
      }
      if (method === 'lz4') assert.equal((await decompressBuffer(good.subarray(0, 4), method, 1 << 30)).length, 0, 'a legacy frame of no blocks is nothing');
      // A decompression bomb stops at the bound, whatever the method.
      const zeros = join(s.dir, `zeros.${method}`);
      if (method === 'lz4') mustRun('lz4', ['-l', '-f', '-q', join(s.dir, 'zeros'), zeros]);
      else mustRun('lzop', ['-f', '-o', zeros, join(s.dir, 'zeros')]);
      await assert.rejects(decompressBuffer(readFileSync(zeros), method, 1 << 20), /corrupt \(more than 1048576 bytes decompressed\)/);
    }
  });
});
