import assert from 'node:assert/strict';
import {mkdirSync, readdirSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {DEFAULT_LIMITS} from '../../src/archive/limits.js';
import {scanArchive} from '../../src/archive/scan.js';
import {KhpkgError} from '../../src/errors.js';
import {compressBuffer} from '../../src/formats/compression.js';
import {kheadersMembers} from '../helpers/kheaders.js';
import {khpkg, scratch} from '../helpers/run.js';
import {longName, tarBytes, type RawMember} from '../helpers/tar.js';

/** A valid tree with `extra` members spliced in before the end. */
async function archiveWith(extra: RawMember[], base = kheadersMembers()): Promise<Buffer> {
  return compressBuffer('xz', tarBytes([...base, ...extra]));
}

async function rejects(bytes: Buffer, pattern: RegExp, limits = DEFAULT_LIMITS): Promise<void> {
  await assert.rejects(scanArchive(bytes, limits), (e: unknown) => {
    assert.ok(e instanceof KhpkgError, `expected a KhpkgError, got ${String(e)}`);
    assert.match(e.message, pattern);
    assert.ok(!e.message.includes('\n'), 'one line');
    return true;
  });
}

describe('archive validation rules (each with a crafted archive)', () => {
  it('accepts the crafted baseline tree', async () => {
    const scan = await scanArchive(await archiveWith([]), DEFAULT_LIMITS);
    assert.equal(scan.info.release, '6.1.0-test');
    assert.equal(scan.info.files, 7);
  });

  const cases: [string, RawMember[], RegExp][] = [
    ['absolute path', [{name: '/etc/passwd', data: 'x'}], /'\/etc\/passwd': absolute path/],
    ['.. component', [{name: './include/../../etc/x.h', data: 'x'}], /'\.\/include\/\.\.\/\.\.\/etc\/x\.h': path escapes the tree/],
    [
      'symlink out of the tree',
      [{name: './include/linux/evil.h', type: '2', linkname: '../../../etc/shadow'}],
      /'\.\/include\/linux\/evil\.h': symlink to '\.\.\/\.\.\/\.\.\/etc\/shadow' points outside the tree/,
    ],
    ['absolute symlink', [{name: './include/linux/abs.h', type: '2', linkname: '/etc/shadow'}], /absolute symlink target/],
    [
      'dangling symlink',
      [{name: './include/linux/gone.h', type: '2', linkname: 'nothere.h'}],
      /'include\/linux\/gone\.h': symlink to 'nothere\.h' points at nothing/,
    ],
    [
      'write through a symlink',
      [
        {name: './include/lnk', type: '2', linkname: 'linux'},
        {name: './include/lnk/x.h', data: 'x'},
      ],
      /written through the symlink include\/lnk/,
    ],
    ['hard link', [{name: './include/linux/hard.h', type: '1', linkname: './include/linux/kref.h'}], /hard links are not allowed/],
    ['character device', [{name: './include/linux/dev.h', type: '3'}], /device files are not allowed/],
    ['fifo', [{name: './include/linux/fifo.h', type: '6'}], /FIFOs are not allowed/],
    [
      'invalid UTF-8 name',
      [{name: Buffer.from([0x2e, 0x2f, 0x69, 0x6e, 0x63, 0x6c, 0x75, 0x64, 0x65, 0x2f, 0xff, 0xfe, 0x2e, 0x68]), data: 'x'}],
      /name is not valid UTF-8/,
    ],
    ['newline in name', [{name: './include/linux/a\nb.h', data: 'x'}], /'\.\/include\/linux\/a\\x0ab\.h': control character in name/],
    ['duplicate entry', [{name: './include/linux/kref.h', data: 'again'}], /'\.\/include\/linux\/kref\.h': duplicate entry/],
    ['file replaced by a directory', [{name: './include/linux/kref.h/', type: '5'}], /duplicate entry/],
    ['entry under a file', [{name: './include/linux/kref.h/x.h', data: 'x'}], /its parent include\/linux\/kref\.h is a file/],
    ['outside include/ and arch/', [{name: './Makefile', data: 'all:'}], /'\.\/Makefile': outside include\/ and arch/],
    ['second architecture', [{name: './arch/arm64/include/', type: '5'}], /a second architecture \(arch\/x86 came first\)/],
    [
      'GNU long name that escapes',
      longName(
        `./include/${'a/'.repeat(60)}../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../x.h`,
        {data: 'x'},
      ),
      /path escapes the tree/,
    ],
  ];
  for (const [rule, extra, pattern] of cases) {
    it(`rejects: ${rule}`, async () => rejects(await archiveWith(extra), pattern));
  }

  it('rejects a file over the per-file bound, naming the flag', async () => {
    await rejects(
      await archiveWith([{name: './include/linux/big.h', data: 'x'.repeat(5000)}]),
      /'\.\/include\/linux\/big\.h': 5000 bytes is over the per-file bound of 4096 \(--max-file-size\)/,
      {...DEFAULT_LIMITS, maxFileBytes: 4096},
    );
  });

  it('rejects an archive over the total bound (a decompression bomb stops early)', async () => {
    const bomb = Array.from({length: 20}, (_, i): RawMember => ({name: `./include/linux/bomb${i}.h`, data: Buffer.alloc(1 << 20)}));
    await rejects(await archiveWith(bomb), /pass the total bound of 8388608 bytes \(--max-total-size\)/, {...DEFAULT_LIMITS, maxTotalBytes: 8 << 20});
  });

  it('rejects a huge declared size without reading it', async () => {
    await rejects(await archiveWith([{name: './include/linux/huge.h', size: 8 ** 11 - 1, data: ''}]), /over the per-file bound/);
  });

  it('rejects trees that are not kheaders (no kconfig.h, no autoconf.h, no arch)', async () => {
    const base = kheadersMembers();
    await rejects(
      await archiveWith(
        [],
        base.filter((m) => !String(m.name).endsWith('kconfig.h')),
      ),
      /include\/linux\/kconfig\.h is missing/,
    );
    await rejects(
      await archiveWith(
        [],
        base.filter((m) => !String(m.name).endsWith('autoconf.h')),
      ),
      /autoconf\.h is missing/,
    );
    await rejects(
      await archiveWith(
        [],
        base.filter((m) => !String(m.name).startsWith('./arch')),
      ),
      /no arch\/<arch>\/include directory/,
    );
  });

  it('rejects a release that is unsafe in paths', async () => {
    await rejects(await compressBuffer('xz', tarBytes(kheadersMembers({release: '../../etc'}))), /release '\.\.\/\.\.\/etc' has characters unsafe in paths/);
  });

  it('rejects truncated and corrupt xz', async () => {
    const good = await archiveWith([]);
    await rejects(good.subarray(0, good.length - 40), /xz data is (cut short|corrupt)/);
    const flipped = Buffer.from(good);
    flipped[Math.floor(flipped.length / 2)]! ^= 0x55;
    await rejects(flipped, /xz data is corrupt|tar data is corrupt/);
  });

  it('rejects inputs that are not archives at all', async () => {
    await rejects(Buffer.alloc(0), /the input is empty/);
    await rejects(Buffer.from('BZh91AY&SY'), /bzip2/);
    await rejects(Buffer.from('hello world, not an archive'), /not a kheaders archive/);
    await rejects(await compressBuffer('xz', Buffer.from('garbage that is not a tar '.repeat(100))), /tar data is corrupt|not a kheaders archive/);
  });

  it('accepts the same tree gzip-, zstd-compressed or as plain tar', async () => {
    for (const c of ['gzip', 'zstd', 'none'] as const) {
      const scan = await scanArchive(await compressBuffer(c, tarBytes(kheadersMembers())), DEFAULT_LIMITS);
      assert.equal(scan.info.release, '6.1.0-test', c);
    }
  });

  it('on the CLI: one line naming the entry and rule, exit 1, no package file left', async () => {
    const s = scratch();
    try {
      const bad = join(s.dir, 'bad.tar.xz');
      writeFileSync(bad, await archiveWith([{name: './include/linux/evil.h', type: '2', linkname: '../../../etc/shadow'}]));
      const out = join(s.dir, 'out');
      mkdirSync(out);
      const r = khpkg(['build', bad, '--out', out, '--format', 'deb']);
      assert.equal(r.code, 1);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /^khpkg: archive entry '\.\/include\/linux\/evil\.h': symlink to '\.\.\/\.\.\/\.\.\/etc\/shadow' points outside the tree\n$/);
      assert.deepEqual(
        readdirSync(out, {withFileTypes: true}).map((d) => d.name),
        [],
        'nothing written',
      );
    } finally {
      s.cleanup();
    }
  });
});
