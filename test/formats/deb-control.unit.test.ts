import assert from 'node:assert/strict';
import type {PackageEntry} from '../../src/content/plan.js';
import {controlParagraph, debIdentity, installedSizeKiB, md5sums, wrap} from '../../src/formats/deb/control.js';
import {debHeadersMeta} from '../../src/formats/deb/meta.js';
import {assertGolden} from '../helpers/golden.js';

const kernel = {release: '6.1.0-Test_WSL2', version: '6.1.42', srcarch: 'x86', debArch: 'amd64', rpmArch: 'x86_64', sha256: 'ab'.repeat(32)};
const options = {revision: '1', maintainer: 'Jane Doe <jane@example.org>'};
const meta = debHeadersMeta(kernel, options);

const entries: PackageEntry[] = [
  {path: 'usr/src/linux-headers-x', type: 'dir', mode: 0o755, mtime: 0, size: 0},
  {path: 'usr/src/linux-headers-x/a.h', type: 'file', mode: 0o644, mtime: 0, size: 1, md5: '0cc175b9c0f1b6a831c399e269772661'},
  {path: 'usr/src/linux-headers-x/b.h', type: 'file', mode: 0o644, mtime: 0, size: 1025, md5: '92eb5ffee6ae2fec3ad71c777531578f'},
  {path: 'lib/modules/x/build', type: 'symlink', mode: 0o777, mtime: 0, size: 0, linkTarget: '/usr/src/linux-headers-x'},
];

describe('deb control member', () => {
  it('names the package from the release, lowercased, with characters dpkg forbids as -', () => {
    assert.deepEqual(debIdentity(meta), {name: 'linux-headers-6.1.0-test-wsl2', version: '6.1.42-1', arch: 'amd64'});
    assert.throws(() => debIdentity(debHeadersMeta(kernel, {...options, revision: 'a b'})), /not a Debian revision/);
    assert.throws(() => debIdentity(debHeadersMeta(kernel, {...options, version: 'x1'})), /not a Debian upstream version/);
  });

  it('Installed-Size counts KiB per file rounded up and 1 per dir or link, as dpkg-gencontrol does', () => {
    assert.equal(installedSizeKiB(entries), 1 + 1 + 2 + 1);
  });

  it('control and md5sums are byte for byte what they were (golden)', () => {
    assertGolden('deb-control', controlParagraph(debIdentity(meta), meta, entries).toString());
    assertGolden('deb-md5sums', md5sums(entries));
  });

  it('wraps description paragraphs under 80 columns without breaking words', () => {
    const lines = wrap('word '.repeat(40), 78);
    assert.ok(lines.every((l) => l.length <= 78));
    assert.equal(lines.join(' '), 'word '.repeat(40).trim());
  });
});
