import assert from 'node:assert/strict';
import {AR_MAGIC, arHeader, arMember, readAr} from '../../src/formats/deb/ar.js';
import {assertGolden} from '../helpers/golden.js';

describe('ar (the .deb container), byte by byte', () => {
  it('a member header is 60 bytes: name/16 mtime/12 uid/6 gid/6 mode/8 size/10 and the `\\n terminator', () => {
    const h = arHeader('debian-binary', 4, 1700000000);
    assert.equal(h.length, 60);
    assert.equal(h.toString('latin1'), 'debian-binary   1700000000  0     0     100644  4         `\n');
  });

  it('an odd-sized member is padded with one newline; readAr gives the members back', () => {
    const deb = Buffer.concat([AR_MAGIC, arMember('debian-binary', Buffer.from('2.0\n'), 0), arMember('control.tar', Buffer.from('abc'), 0)]);
    assertGolden('ar-two-members', deb, 'hex');
    assert.equal(deb.length, 8 + 60 + 4 + 60 + 3 + 1);
    const members = readAr(deb);
    assert.deepEqual([...members.keys()], ['debian-binary', 'control.tar']);
    assert.equal(members.get('control.tar')!.toString(), 'abc');
  });

  it('refuses names over 16 bytes, and a member cut short', () => {
    assert.throws(() => arHeader('a-name-longer-than-16', 1, 0), /too long/);
    const deb = Buffer.concat([AR_MAGIC, arMember('data.tar.xz', Buffer.from('0123456789'), 0)]);
    assert.throws(() => readAr(deb.subarray(0, deb.length - 4)), /cut short/);
    assert.throws(() => readAr(Buffer.from('not an ar')), /not an ar archive/);
  });
});
