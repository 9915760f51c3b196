import assert from 'node:assert/strict';
import {mkdirSync, readFileSync, readlinkSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {kheadersArchive, REAL} from '../helpers/kheaders.js';
import {dpkgRoot} from '../helpers/roots.js';
import {buildJson, khpkg, mustRun, scratch, tool} from '../helpers/run.js';
import {addedByKhpkg, treeDigest} from '../helpers/tree.js';

const REL = REAL.release;
const DEB = `linux-headers-${REL}_6.12.117-1_amd64.deb`;

describe('.deb from the bundled real archive (dpkg-deb, dpkg --root, lintian)', function () {
  const s = scratch();
  let deb: string;
  let expected: Map<string, string>;
  before(() => {
    const [a] = buildJson([REAL.archive, '--config', REAL.config, '--out', join(s.dir, 'out')]);
    deb = a!.path;
    // What the archive holds, extracted by GNU tar: the installed tree must equal it.
    mkdirSync(join(s.dir, 'x'));
    mustRun('tar', ['-xJf', REAL.archive, '-C', join(s.dir, 'x')]);
    expected = treeDigest(join(s.dir, 'x'));
  });
  after(() => s.cleanup());

  it('is named linux-headers-<release>_<version>_<debarch>.deb and says so in --json', () => {
    assert.equal(deb, join(s.dir, 'out', DEB));
  });

  it('dpkg-deb --info shows the control fields', () => {
    const info = mustRun('dpkg-deb', ['--info', deb]);
    assert.match(info, /^ Package: linux-headers-6\.12\.117\+deb12-amd64$/m);
    assert.match(info, /^ Version: 6\.12\.117-1$/m);
    assert.match(info, /^ Architecture: amd64$/m);
    assert.match(info, /^ Provides: linux-headers$/m);
    assert.match(info, /^ Section: kernel$/m);
    assert.match(info, /^ Installed-Size: \d+$/m);
    assert.match(info, /^ Description: Linux kernel headers for 6\.12\.117\+deb12-amd64 \(from kheaders\)$/m);
    assert.match(info, /md5sums/);
    assert.match(info, /postinst/);
  });

  it('dpkg-deb --contents lists the tree, .config, auto.conf and the absolute source and build links', () => {
    const list = mustRun('dpkg-deb', ['--contents', deb]);
    const rel = REL.replace(/[.+]/g, '\\$&');
    assert.match(list, new RegExp(`\\./lib/modules/${rel}/source -> /usr/src/linux-headers-${rel}\n`));
    assert.match(list, new RegExp(`\\./lib/modules/${rel}/build -> /usr/src/linux-headers-${rel}/headers-only\n`));
    assert.match(list, /\.\/usr\/src\/linux-headers-[^/]+\/include\/linux\/kconfig\.h/);
    assert.match(list, /\.\/usr\/src\/linux-headers-[^/]+\/\.config/);
    assert.match(list, /\.\/usr\/src\/linux-headers-[^/]+\/include\/config\/auto\.conf/);
    assert.match(list, /^-rw-r--r-- root\/root .*\/usr\/share\/doc\/linux-headers-[^/]+\/copyright$/m);
  });

  it('dpkg --root installs it, the tree is byte-identical to the archive, dpkg --verify is clean', () => {
    const root = join(s.dir, 'root');
    dpkgRoot(root);
    mustRun('dpkg', [`--root=${root}`, '--log=/dev/null', '--force-script-chrootless', '-i', deb]);
    const tree = join(root, 'usr/src', `linux-headers-${REL}`);
    const installed = treeDigest(tree, addedByKhpkg);
    assert.equal(installed.size, expected.size);
    assert.deepEqual(installed, expected);
    assert.equal(readlinkSync(join(root, 'lib/modules', REL, 'source')), `/usr/src/linux-headers-${REL}`);
    assert.equal(readlinkSync(join(root, 'lib/modules', REL, 'build')), `/usr/src/linux-headers-${REL}/headers-only`);
    assert.deepEqual(readFileSync(join(tree, '.config')), readFileSync(REAL.config));
    const autoconf = readFileSync(join(tree, 'include/config/auto.conf'), 'utf8');
    assert.match(autoconf, /^CONFIG_SMP=y$/m);
    assert.match(autoconf, /^CONFIG_CC_VERSION_TEXT=x86_64-linux-gnu-gcc-12 \(Debian 12\.2\.0-14\+deb12u1\) 12\.2\.0$/m, 'strings unquoted since 5.17');
    assert.equal(mustRun('dpkg', [`--root=${root}`, '--verify']), '');
    mustRun('dpkg', [`--root=${root}`, '--log=/dev/null', '--force-script-chrootless', '-r', `linux-headers-${REL}`]);
  });

  it('runs <root>/etc/kernel/header_postinst.d hooks with the release, inside the root', () => {
    const root = join(s.dir, 'hooks');
    dpkgRoot(root);
    mkdirSync(join(root, 'etc/kernel/header_postinst.d'), {recursive: true});
    const hook = join(root, 'etc/kernel/header_postinst.d/record');
    writeFileSync(hook, `#!/bin/sh\necho "$1 $DPKG_ROOT" > "$DPKG_ROOT/hook-ran"\n`, {mode: 0o755});
    mustRun('dpkg', [`--root=${root}`, '--log=/dev/null', '--force-script-chrootless', '-i', deb]);
    assert.equal(readFileSync(join(root, 'hook-ran'), 'utf8'), `${REL} ${root}\n`);
  });

  it('lintian reports no errors (accepted warning: initial-upload-closes-no-bugs)', function () {
    this.timeout(300_000);
    const r = tool('lintian', ['--allow-root', '--no-cfg', deb]);
    const lines = (r.stdout + r.stderr).split('\n').filter((l) => /^[EW]: /.test(l));
    const unexpected = lines.filter((l) => !/initial-upload-closes-no-bugs/.test(l));
    assert.deepEqual(unexpected, []);
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });
});

describe('.deb reproducibility, compressions and foreign arches', () => {
  const s = scratch();
  after(() => s.cleanup());

  it('two builds are byte-identical, with and without SOURCE_DATE_EPOCH', () => {
    const a = buildJson([REAL.archive, '--out', join(s.dir, 'a'), '-z', 'zstd']);
    const b = buildJson([REAL.archive, '--out', join(s.dir, 'b'), '-z', 'zstd']);
    assert.equal(a[0]!.sha256, b[0]!.sha256);
    const c = buildJson([REAL.archive, '--out', join(s.dir, 'c'), '-z', 'zstd'], {SOURCE_DATE_EPOCH: '1700000000'});
    const d = buildJson([REAL.archive, '--out', join(s.dir, 'd'), '-z', 'zstd'], {SOURCE_DATE_EPOCH: '1700000000'});
    assert.equal(c[0]!.sha256, d[0]!.sha256);
    assert.notEqual(a[0]!.sha256, c[0]!.sha256, 'SOURCE_DATE_EPOCH changes the timestamps');
    const list = mustRun('dpkg-deb', ['--contents', c[0]!.path]);
    assert.ok(
      list
        .split('\n')
        .filter(Boolean)
        .every((l) => l.includes('2023-11-14 22:13')),
      'every mtime clamped to SOURCE_DATE_EPOCH',
    );
  });

  it('the entries read before the release is known are held in a temp file, or in memory where there is none: same package', () => {
    const a = buildJson([REAL.archive, '--out', join(s.dir, 'held-file'), '-z', 'zstd']);
    const b = buildJson([REAL.archive, '--out', join(s.dir, 'held-mem'), '-z', 'zstd'], {TMPDIR: join(s.dir, 'no-such-dir')});
    assert.equal(a[0]!.sha256, b[0]!.sha256);
  });

  it('xz builds are byte-identical too, whatever the thread count (block size decides, not threads)', function () {
    this.timeout(300_000);
    // Alone, the .deb's xz gets every core; beside an .rpm in one call, half of them.
    const alone = buildJson([REAL.archive, '--out', join(s.dir, 'xa')]);
    const paired = buildJson([REAL.archive, '-f', 'deb', '-f', 'rpm', '--out', join(s.dir, 'xb')]);
    assert.match(paired[0]!.path, /\.deb$/);
    assert.equal(alone[0]!.sha256, paired[0]!.sha256);
  });

  for (const z of ['zstd', 'gzip', 'none'] as const) {
    it(`--compression ${z}: dpkg-deb reads it and dpkg --root installs it`, () => {
      const [a] = buildJson([REAL.archive, '--out', join(s.dir, `z-${z}`), '-z', z]);
      const info = mustRun('dpkg-deb', ['--info', a!.path]);
      assert.match(info, /Package: linux-headers-6\.12\.117\+deb12-amd64/);
      const members = mustRun('ar', ['t', a!.path]).trim().split('\n');
      const ext = {zstd: '.zst', gzip: '.gz', none: ''}[z];
      assert.deepEqual(members, ['debian-binary', `control.tar${ext}`, `data.tar${ext}`]);
      const root = join(s.dir, `root-${z}`);
      dpkgRoot(root);
      mustRun('dpkg', [`--root=${root}`, '--log=/dev/null', '--force-script-chrootless', '-i', a!.path]);
      assert.equal(readFileSync(join(root, 'usr/src', `linux-headers-${REL}`, 'include/generated/utsrelease.h'), 'utf8'), `#define UTS_RELEASE "${REL}"\n`);
    });
  }

  const foreign: [string, string[], string][] = [
    ['arm64', ['64BIT', 'ARM64'], 'arm64'],
    ['riscv', ['64BIT', 'RISCV'], 'riscv64'],
    ['powerpc', ['64BIT', 'CPU_LITTLE_ENDIAN'], 'ppc64el'],
    ['s390', ['64BIT'], 's390x'],
    ['arm', ['AEABI', 'VFP'], 'armhf'],
    ['x86', [], 'i386'],
  ];
  for (const [srcarch, config, debArch] of foreign) {
    it(`a foreign ${srcarch} archive gets ${debArch} names and installs with --force-architecture`, async () => {
      const file = join(s.dir, `${srcarch}.tar.xz`);
      writeFileSync(file, await kheadersArchive({srcarch, config, release: `6.1.0-test-${srcarch}`}));
      const [a] = buildJson([file, '--out', join(s.dir, `f-${srcarch}`), '-z', 'zstd', '--revision', '3']);
      assert.equal(a!.arch, debArch);
      assert.equal(a!.path, join(s.dir, `f-${srcarch}`, `linux-headers-6.1.0-test-${srcarch}_6.1.42-3_${debArch}.deb`));
      const root = join(s.dir, `froot-${srcarch}`);
      dpkgRoot(root);
      mustRun('dpkg', [`--root=${root}`, '--log=/dev/null', '--force-script-chrootless', '--force-architecture', '-i', a!.path]);
      assert.equal(readlinkSync(join(root, `usr/src/linux-headers-6.1.0-test-${srcarch}/include/linux/kref-link.h`)), 'kref.h');
      assert.match(mustRun('dpkg', [`--root=${root}`, '-s', `linux-headers-6.1.0-test-${srcarch}`]), new RegExp(`Architecture: ${debArch}`));
    });
  }

  it('lowercases package names but keeps the exact release in paths (WSL2-style releases)', async () => {
    const file = join(s.dir, 'wsl.tar.xz');
    const rel = '5.15.90.1-microsoft-standard-WSL2';
    writeFileSync(file, await kheadersArchive({release: rel, version: [5, 15, 90]}));
    const [a] = buildJson([file, '--out', join(s.dir, 'wsl'), '-z', 'zstd']);
    assert.equal(a!.name, 'linux-headers-5.15.90.1-microsoft-standard-wsl2');
    assert.match(mustRun('dpkg-deb', ['--contents', a!.path]), /\.\/usr\/src\/linux-headers-5\.15\.90\.1-microsoft-standard-WSL2\/include\/linux\/kconfig\.h/);
  });

  it('--version, --maintainer and DEBFULLNAME/DEBEMAIL reach the control file', () => {
    const [a] = buildJson([REAL.archive, '--out', join(s.dir, 'v'), '-z', 'zstd', '--version', '6.12.117+custom'], {
      DEBFULLNAME: 'Jane Doe',
      DEBEMAIL: 'jane@example.com',
    });
    const info = mustRun('dpkg-deb', ['--info', a!.path]);
    assert.match(info, /^ Version: 6\.12\.117\+custom-1$/m);
    assert.match(info, /^ Maintainer: Jane Doe <jane@example\.com>$/m);
    const [b] = buildJson([REAL.archive, '--out', join(s.dir, 'm'), '-z', 'zstd', '--maintainer', 'Ops <ops@example.net>']);
    assert.match(mustRun('dpkg-deb', ['--info', b!.path]), /^ Maintainer: Ops <ops@example\.net>$/m);
  });

  it('refuses a config from another kernel, with nothing written', () => {
    const other = join(s.dir, 'other.config');
    writeFileSync(other, readFileSync(REAL.config, 'utf8').replace('CONFIG_SMP=y', '# CONFIG_SMP is not set').replace('CONFIG_EXT4_FS=m', 'CONFIG_EXT4_FS=y'));
    const out = join(s.dir, 'refused');
    mkdirSync(out);
    const r = khpkg(['build', REAL.archive, '--config', other, '--out', out]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^khpkg: .*other\.config: does not match the archive's include\/generated\/autoconf\.h \(1 symbols differ, e\.g\. CONFIG_EXT4_FS\)/);
    assert.equal(mustRun('ls', ['-A', out]), '');
  });
});
