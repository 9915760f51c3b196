import assert from 'node:assert/strict';
import {mkdirSync, readlinkSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {rpmRoot} from '../helpers/roots.js';
import {kheadersArchive, REAL} from '../helpers/kheaders.js';
import {buildJson, khpkg, mustRun, scratch, tool} from '../helpers/run.js';
import {addedByKhpkg, treeDigest} from '../helpers/tree.js';

const REL = REAL.release;
const RPM = 'kernel-devel-6.12.117+deb12_amd64-1.x86_64.rpm';

describe('.rpm from the bundled real archive (rpm -K, -qp, rpm2cpio, rpm --root, dnf)', function () {
  const s = scratch();
  let rpm: string;
  let expected: Map<string, string>;
  before(() => {
    const [a] = buildJson([REAL.archive, '--config', REAL.config, '--format', 'rpm', '--out', join(s.dir, 'out')]);
    rpm = a!.path;
    mkdirSync(join(s.dir, 'x'));
    mustRun('tar', ['-xJf', REAL.archive, '-C', join(s.dir, 'x')]);
    expected = treeDigest(join(s.dir, 'x'));
  });
  after(() => s.cleanup());

  it('is named kernel-devel-<version>-<revision>.<arch>.rpm; --json gives its real size and sha256', () => {
    assert.equal(rpm, join(s.dir, 'out', RPM));
    const [a] = buildJson([REAL.archive, '--config', REAL.config, '--format', 'rpm', '--out', join(s.dir, 'again')]);
    assert.equal(a!.size, readFileSync(a!.path).length);
    assert.equal(a!.sha256, mustRun('sha256sum', [a!.path]).split(' ')[0]);
  });

  it('rpm -K checks the header SHA-256 and SHA-1, the payload SHA-256 and the MD5', () => {
    const out = mustRun('rpm', ['-K', '-v', rpm]);
    for (const line of ['Header SHA256 digest: OK', 'Header SHA1 digest: OK', 'Payload SHA256 digest: OK', 'MD5 digest: OK']) {
      assert.ok(out.includes(line), `${line} in:\n${out}`);
    }
  });

  it('rpm -qpi shows the fields kernel.spec and Fedora use', () => {
    const qf = mustRun('rpm', [
      '-qp',
      '--qf',
      '%{NAME}|%{VERSION}|%{RELEASE}|%{ARCH}|%{LICENSE}|%{SUMMARY}|%{PAYLOADCOMPRESSOR}|%{FILEDIGESTALGO}|%{PAYLOADDIGESTALGO}|%{SOURCERPM}',
      rpm,
    ]);
    assert.equal(
      qf,
      'kernel-devel|6.12.117+deb12_amd64|1|x86_64|GPL-2.0-only WITH Linux-syscall-note|Linux kernel headers for 6.12.117+deb12-amd64 (from kheaders)|xz|8|8|kernel-devel-6.12.117+deb12_amd64-1.src.rpm',
    );
    assert.match(mustRun('rpm', ['-qpi', rpm]), /Description :\nThis package provides the kernel header files of Linux 6\.12\.117\+deb12-amd64/);
  });

  it('rpm -qp --provides/--requires: kernel-devel-uname-r, installonlypkg, rpmlib features only', () => {
    assert.deepEqual(mustRun('rpm', ['-qp', '--provides', rpm]).trim().split('\n'), [
      'kernel-devel = 6.12.117+deb12_amd64-1',
      'kernel-devel-x86_64 = 6.12.117+deb12_amd64-1',
      'kernel-devel-uname-r = 6.12.117+deb12-amd64',
      'installonlypkg(kernel)',
    ]);
    assert.deepEqual(mustRun('rpm', ['-qp', '--requires', rpm]).trim().split('\n'), [
      'rpmlib(CompressedFileNames) <= 3.0.4-1',
      'rpmlib(FileDigests) <= 4.6.0-1',
      'rpmlib(PayloadFilesHavePrefix) <= 4.0-1',
      'rpmlib(PayloadIsXz) <= 5.2-1',
    ]);
  });

  it('rpm -qpl lists every file and dir of the tree plus the build link; rpm2cpio | cpio -t agrees', () => {
    const files = mustRun('rpm', ['-qpl', rpm]).trim().split('\n');
    const prefix = `/usr/src/kernels/${REL}`;
    assert.equal(files.length, expected.size + 1 /* tree dir */ + 4 /* .config, include/config, auto.conf, Makefile */ + 2 /* lib/modules/<rel>, build */);
    for (const p of expected.keys()) assert.ok(files.includes(`${prefix}/${p}`), p);
    assert.ok(files.includes(`/lib/modules/${REL}/build`));
    assert.ok(!files.includes('/usr/src') && !files.includes('/lib/modules'), 'shared system dirs are not owned');
    const cpio = mustRun('sh', ['-c', `rpm2cpio '${rpm}' | cpio -t --quiet`])
      .trim()
      .split('\n');
    assert.deepEqual([...cpio].map((p) => p.replace(/^\./, '')).sort(), [...files].sort());
  });

  it('rpm --root -i installs it byte-identical to the archive, -V is clean, -qf owns the files, -e removes them', () => {
    const root = join(s.dir, 'root');
    const r = rpmRoot(root);
    mustRun('rpm', [...r, '-i', '--nodeps', rpm]);
    const tree = join(root, 'usr/src/kernels', REL);
    assert.deepEqual(treeDigest(tree, addedByKhpkg), expected);
    assert.equal(readlinkSync(join(root, 'lib/modules', REL, 'build')), `/usr/src/kernels/${REL}`);
    assert.deepEqual(readFileSync(join(tree, '.config')), readFileSync(REAL.config));
    assert.equal(mustRun('rpm', [...r, '-V', 'kernel-devel']), '');
    assert.equal(mustRun('rpm', [...r, '-qf', `/usr/src/kernels/${REL}/include/linux/kconfig.h`]).trim(), 'kernel-devel-6.12.117+deb12_amd64-1.x86_64');
    mustRun('rpm', [...r, '-e', 'kernel-devel']);
    assert.equal(mustRun('find', [join(root, 'usr/src/kernels'), '-mindepth', '1']), '');
  });

  it('dnf reads a createrepo_c repository of it and finds kernel-devel-uname-r = <release>', () => {
    const repo = join(s.dir, 'repo');
    mkdirSync(repo);
    writeFileSync(join(repo, RPM), readFileSync(rpm));
    mustRun('createrepo_c', ['-q', repo]);
    const dnf = ['-q', '--setopt=reposdir=/dev/null', `--setopt=cachedir=${join(s.dir, 'dnfcache')}`, '--releasever=12', `--repofrompath=khpkg,file://${repo}`];
    const found = mustRun('dnf', [...dnf, 'repoquery', '--whatprovides', `kernel-devel-uname-r = ${REL}`]);
    assert.match(found, /^kernel-devel-0:6\.12\.117\+deb12_amd64-1\.x86_64$/m);
    mustRun('dnf', [...dnf, 'download', '--destdir', join(s.dir, 'dl'), 'kernel-devel']);
    assert.deepEqual(readFileSync(join(s.dir, 'dl', RPM)), readFileSync(rpm));
  });
});

describe('.rpm compressions, reproducibility, foreign arches; deb and rpm in one pass', () => {
  const s = scratch();
  after(() => s.cleanup());

  for (const z of ['zstd', 'gzip'] as const) {
    it(`--compression ${z}: rpm -K passes and rpm --root installs it`, () => {
      const [a] = buildJson([REAL.archive, '-f', 'rpm', '-z', z, '--out', join(s.dir, z)]);
      assert.match(mustRun('rpm', ['-K', a!.path]), /digests OK/);
      assert.equal(mustRun('rpm', ['-qp', '--qf', '%{PAYLOADCOMPRESSOR}', a!.path]), z);
      const requires = mustRun('rpm', ['-qp', '--requires', a!.path]);
      assert.equal(/rpmlib\(PayloadIsZstd\) <= 5\.4\.18-1/.test(requires), z === 'zstd');
      const root = join(s.dir, `root-${z}`);
      mustRun('rpm', [...rpmRoot(root), '-i', '--nodeps', a!.path]);
      assert.equal(readFileSync(join(root, 'usr/src/kernels', REL, 'include/generated/utsrelease.h'), 'utf8'), `#define UTS_RELEASE "${REL}"\n`);
    });
  }

  it('--compression none is refused for rpm with a clear message and nothing written', () => {
    const out = join(s.dir, 'none');
    mkdirSync(out);
    const r = khpkg(['build', REAL.archive, '-f', 'rpm', '-z', 'none', '--out', out]);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, 'khpkg: --compression none is not available for rpm (xz, zstd or gzip)\n');
    assert.equal(mustRun('ls', ['-A', out]), '');
  });

  it('with SOURCE_DATE_EPOCH two builds are byte-identical', () => {
    const env = {SOURCE_DATE_EPOCH: '1700000000'};
    const a = buildJson([REAL.archive, '-f', 'rpm', '-z', 'zstd', '--out', join(s.dir, 'ra')], env);
    const b = buildJson([REAL.archive, '-f', 'rpm', '-z', 'zstd', '--out', join(s.dir, 'rb')], env);
    assert.equal(a[0]!.sha256, b[0]!.sha256);
    assert.equal(mustRun('rpm', ['-qp', '--qf', '%{BUILDTIME}', a[0]!.path]), '1700000000');
  });

  it('a foreign arm64 archive becomes an aarch64 rpm that installs with --ignorearch', async () => {
    const file = join(s.dir, 'arm64.tar.xz');
    writeFileSync(file, await kheadersArchive({srcarch: 'arm64', config: ['64BIT', 'ARM64'], release: '6.1.0-56-arm64'}));
    const [a] = buildJson([file, '-f', 'rpm', '--out', join(s.dir, 'arm')]);
    assert.equal(a!.path, join(s.dir, 'arm', 'kernel-devel-6.1.0_56_arm64-1.aarch64.rpm'));
    assert.match(
      mustRun('rpm', ['-qp', '--provides', a!.path]),
      /^kernel-devel-uname-r = 6\.1\.0_56_arm64$/m,
      'more than one - in the release: mapped like Version',
    );
    const root = join(s.dir, 'root-arm');
    mustRun('rpm', [...rpmRoot(root), '-i', '--nodeps', '--ignorearch', a!.path]);
    assert.equal(readlinkSync(join(root, 'usr/src/kernels/6.1.0-56-arm64/include/linux/kref-link.h')), 'kref.h');
  });

  it('--format deb --format rpm writes both from one pass, and each equals its single-format build', () => {
    const both = buildJson([REAL.archive, '-f', 'deb', '-f', 'rpm', '-z', 'zstd', '--out', join(s.dir, 'both')]);
    assert.deepEqual(
      both.map((a) => a.format),
      ['deb', 'rpm'],
    );
    const deb = buildJson([REAL.archive, '-f', 'deb', '-z', 'zstd', '--out', join(s.dir, 'only-deb')]);
    const rpm = buildJson([REAL.archive, '-f', 'rpm', '-z', 'zstd', '--out', join(s.dir, 'only-rpm')]);
    assert.equal(both[0]!.sha256, deb[0]!.sha256);
    assert.equal(both[1]!.sha256, rpm[0]!.sha256);
    assert.equal(tool('rpm', ['-K', both[1]!.path]).code, 0);
    assert.equal(tool('dpkg-deb', ['--info', both[0]!.path]).code, 0);
  });
});
