import assert from 'node:assert/strict';
import {mkdirSync, rmSync, utimesSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {findKernelSource} from '../../src/kbuild/discover.js';
import {hasKitFor, kernelSourceFor} from '../../src/kbuild/kit-cache.js';
import {mustRun, scratch} from '../helpers/run.js';

/** The few files of a kernel source that tell its series and make it one (a real one is 150 MB). */
function fakeSource(dir: string, version: string): string {
  const [v, p, s] = version.split('.');
  mkdirSync(join(dir, 'scripts/basic'), {recursive: true});
  mkdirSync(join(dir, 'arch/x86'), {recursive: true});
  mkdirSync(join(dir, 'include/linux'), {recursive: true});
  writeFileSync(join(dir, 'Makefile'), `VERSION = ${v}\nPATCHLEVEL = ${p}\nSUBLEVEL = ${s}\nEXTRAVERSION =\n`);
  writeFileSync(join(dir, 'scripts/Makefile.build'), '# kbuild\n');
  writeFileSync(join(dir, 'scripts/basic/fixdep.c'), 'int main(void) { return 0; }\n');
  writeFileSync(join(dir, 'arch/x86/Makefile'), '# x86\n');
  writeFileSync(join(dir, 'include/linux/never.h'), '/* a source header: never taken, the archive is the truth */\n');
  return dir;
}

describe('kernel sources found by themselves, and the kit cached per series (#24)', () => {
  const s = scratch();
  after(() => s.cleanup());

  it('finds khpkg.conf first, then Debian’s linux-source-X.Y.tar.xz, Ubuntu’s .tar.bz2, then an unpacked tree, each only for its series', () => {
    const root = join(s.dir, 'find');
    mkdirSync(join(root, 'usr/src'), {recursive: true});
    assert.equal(findKernelSource(root, '6.12'), undefined);
    fakeSource(join(root, 'usr/src/linux-6.12.117'), '6.12.117');
    assert.deepEqual(findKernelSource(root, '6.12'), {path: join(root, 'usr/src/linux-6.12.117'), shown: '/usr/src/linux-6.12.117', how: 'unpacked tree'});
    assert.equal(findKernelSource(root, '6.1'), undefined, 'a 6.12 tree is no 6.1 source');
    // Ubuntu: /usr/src/linux-source-X.Y.Z/linux-source-X.Y.Z.tar.bz2
    mkdirSync(join(root, 'usr/src/linux-source-6.12.9'), {recursive: true});
    writeFileSync(join(root, 'usr/src/linux-source-6.12.9/linux-source-6.12.9.tar.bz2'), 'BZh');
    assert.equal(findKernelSource(root, '6.12')?.shown, '/usr/src/linux-source-6.12.9/linux-source-6.12.9.tar.bz2');
    writeFileSync(join(root, 'usr/src/linux-source-6.12.tar.xz'), '');
    assert.equal(findKernelSource(root, '6.12')?.shown, '/usr/src/linux-source-6.12.tar.xz', "Debian's before Ubuntu's");
    mkdirSync(join(root, 'etc/khpkg'), {recursive: true});
    writeFileSync(
      join(root, 'etc/khpkg/khpkg.conf'),
      '# mine\nkbuild-source = /srv/linux-6.1.55.tar.xz\nkbuild-source = /srv/linux-6.12.200.tar.gz  # newer\n',
    );
    mkdirSync(join(root, 'srv'));
    writeFileSync(join(root, 'srv/linux-6.12.200.tar.gz'), '');
    assert.deepEqual(findKernelSource(root, '6.12'), {path: join(root, 'srv/linux-6.12.200.tar.gz'), shown: '/srv/linux-6.12.200.tar.gz', how: 'khpkg.conf'});
    assert.equal(findKernelSource(root, '6.1'), undefined, 'a configured source that is not there is passed over');
    writeFileSync(join(root, 'etc/khpkg/khpkg.conf'), 'kbuild_source /srv\n');
    assert.throws(() => findKernelSource(root, '6.12'), /khpkg\.conf:1: not a 'key = value' line/);
    writeFileSync(join(root, 'etc/khpkg/khpkg.conf'), 'kbuild-source = srv/linux.tar.xz\n');
    assert.throws(() => findKernelSource(root, '6.12'), /must be an absolute path/);
  });

  it('reads a source once: the next kernel of the series gets the cached kit, also with the source gone; a changed source is read again', async () => {
    const root = join(s.dir, 'cache');
    mkdirSync(join(root, 'usr/src'), {recursive: true});
    const tree = fakeSource(join(s.dir, 'linux-6.12.117'), '6.12.117');
    const tarball = join(root, 'usr/src/linux-source-6.12.tar.xz');
    mustRun('tar', ['-C', s.dir, '-cJf', tarball, 'linux-6.12.117']);
    assert.equal(hasKitFor(root, '6.12'), true);
    const first = await kernelSourceFor(root, '6.12', 'x86');
    assert.ok(first);
    assert.deepEqual([first.fromCache, first.path, first.source.version], [false, '/usr/src/linux-source-6.12.tar.xz', '6.12.117']);
    assert.deepEqual(
      first.source.files.map((f) => f.path).sort(),
      ['Makefile', 'arch/x86/Makefile', 'scripts/Makefile.build', 'scripts/basic/fixdep.c'],
      'never the source’s headers',
    );
    const second = await kernelSourceFor(root, '6.12', 'x86');
    assert.equal(second?.fromCache, true);
    const byPath = (files: {path: string; mode: number; data: Buffer}[]) => [...files].sort((a, b) => (a.path < b.path ? -1 : 1));
    assert.deepEqual([second.source.version, byPath(second.source.files)], [first.source.version, byPath(first.source.files)]);
    rmSync(tarball);
    assert.equal(hasKitFor(root, '6.12'), true, 'the cache stands for the removed source');
    assert.equal((await kernelSourceFor(root, '6.12', 'x86'))?.fromCache, true);
    // The linux-source package upgraded: another tarball at the same path is read again.
    writeFileSync(join(tree, 'Makefile'), 'VERSION = 6\nPATCHLEVEL = 12\nSUBLEVEL = 118\n');
    mustRun('tar', ['-C', s.dir, '-cJf', tarball, 'linux-6.12.117']);
    utimesSync(tarball, new Date(), new Date(Date.now() + 5000));
    const upgraded = await kernelSourceFor(root, '6.12', 'x86');
    assert.deepEqual([upgraded?.fromCache, upgraded?.source.version], [false, '6.12.118']);
    assert.equal(await kernelSourceFor(root, '6.1', 'x86'), undefined);
    assert.equal(hasKitFor(root, '6.1'), false);
  });

  it('reads Ubuntu’s .tar.bz2 through bzip2, streamed like the rest', async () => {
    const root = join(s.dir, 'ubuntu');
    fakeSource(join(s.dir, 'u/linux-source-6.8.0'), '6.8.12');
    mkdirSync(join(root, 'usr/src/linux-source-6.8.0'), {recursive: true});
    mustRun('tar', ['-C', join(s.dir, 'u'), '-cjf', join(root, 'usr/src/linux-source-6.8.0/linux-source-6.8.0.tar.bz2'), 'linux-source-6.8.0']);
    const got = await kernelSourceFor(root, '6.8', 'x86');
    assert.deepEqual([got?.how, got?.source.version, got?.source.files.length], ['linux-source package', '6.8.12', 4]);
  });
});
