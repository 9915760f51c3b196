import assert from 'node:assert/strict';
import {existsSync, mkdirSync, readdirSync, readFileSync} from 'node:fs';
import {join} from 'node:path';
import {debianKernelDeb, debianKernelDebWithKheaders, kernelDeb, kernelRpm, kheadersKoXz} from '../helpers/kernel-packages.js';
import {testSigningKey, TEST_KEY} from '../helpers/gpg.js';
import {REAL, REAL72} from '../helpers/kheaders.js';
import {khpkg, mustRun, needInput, scratch, tool} from '../helpers/run.js';
import {addedByKhpkg, treeDigest} from '../helpers/tree.js';

interface KernelJson {
  release: string;
  ok: boolean;
  sources: string[];
  packages?: string[];
  error?: {code: string; message: string};
  btf?: {source: string; types: number};
}

/** The tree a headers package holds equals the archive's, but for what khpkg adds (config, Makefile, BTF files). */
function assertTreeIsArchive(dir: string, pkg: string, treeDir: string, archive: string): void {
  const unpacked = join(dir, `unpacked-${pkg.split('/').pop()}`);
  const fromArchive = join(dir, `archive-${archive.split('/').pop()}`);
  mkdirSync(unpacked, {recursive: true});
  mkdirSync(fromArchive, {recursive: true});
  if (pkg.endsWith('.deb')) mustRun('dpkg-deb', ['-x', pkg, unpacked]);
  else mustRun('sh', ['-c', `cd '${unpacked}' && rpm2cpio '${pkg}' | cpio -idm --quiet`]);
  mustRun('tar', ['-xJf', archive, '-C', fromArchive]);
  const skip = (rel: string): boolean => addedByKhpkg(rel) || rel === 'vmlinux.h' || rel === 'vmlinux';
  assert.deepEqual(treeDigest(join(unpacked, treeDir), skip), treeDigest(fromArchive, skip));
}

/** A file of a package, by dpkg-deb or rpm2cpio. */
function packagedFile(pkg: string, path: string): Buffer {
  return pkg.endsWith('.deb')
    ? Buffer.from(mustRun('sh', ['-c', `dpkg-deb --fsys-tarfile '${pkg}' | tar -xO './${path}' | base64 -w0`]), 'base64')
    : Buffer.from(mustRun('sh', ['-c', `rpm2cpio '${pkg}' | cpio -i --quiet --to-stdout './${path}' | base64 -w0`]), 'base64');
}

describe('headers for every kernel of a fleet: distro kernel packages as SOURCE', function () {
  this.timeout(900_000);
  const s = scratch();
  after(() => s.cleanup());
  let debianDeb: string;
  let fedora: string[] = [];
  let wrongKernel: string;
  const R72 = REAL72.release;

  before(function () {
    this.timeout(900_000);
    const original = debianKernelDeb(REAL.release);
    needInput(original, `Debian's linux-image-${REAL.release}-unsigned is not in the test cache: 'npm run setup' fetches it (bin/fetch-kbuild-test-debs.sh)`);
    debianDeb = debianKernelDebWithKheaders(original!, REAL.release, REAL.archive, s.dir);
    // Fedora's split: the image and config in kernel-core, kheaders.ko.xz in kernel-modules-core.
    fedora = [
      kernelRpm(s.dir, 'kernel-core', '7.2.13', {
        [`lib/modules/${R72}/config`]: {from: REAL72.config},
        [`lib/modules/${R72}/System.map`]: {text: 'ffffffff81000000 T _stext\n'},
      }),
      kernelRpm(s.dir, 'kernel-modules-core', '7.2.13', {
        [`lib/modules/${R72}/kernel/kernel/kheaders.ko.xz`]: {from: kheadersKoXz(s.dir, REAL72.archive, R72)},
        [`lib/modules/${R72}/modules.builtin`]: {text: 'kernel/lib/crc32.ko\n'},
      }),
    ];
    // A package whose kheaders.ko holds another kernel's headers: that kernel fails, and only it.
    wrongKernel = kernelDeb(s.dir, 'linux-modules-6.1.0-99-amd64', '6.1.0-99', {
      'boot/config-6.1.0-99-amd64': {from: REAL.config},
      'lib/modules/6.1.0-99-amd64/kernel/kernel/kheaders.ko.xz': {from: kheadersKoXz(s.dir, REAL.archive, REAL.release)},
    });
  });

  it("one kernel: Debian's real linux-image .deb with kheaders.ko.xz in it gives a .deb and an .rpm that dpkg, lintian and rpm accept, the archive's tree, the package's config and its image's BTF", function () {
    const out = join(s.dir, 'one');
    const r = khpkg(['build', debianDeb, '-f', 'deb', '-f', 'rpm', '-o', out, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const json = JSON.parse(r.stdout) as {packages: {path: string; format: string}[]; kernels: KernelJson[]};
    assert.equal(json.kernels.length, 1);
    assert.equal(json.kernels[0]!.release, REAL.release);
    const deb = json.packages.find((p) => p.format === 'deb')!.path;
    const rpm = json.packages.find((p) => p.format === 'rpm')!.path;
    assert.match(mustRun('dpkg-deb', ['--info', deb]), new RegExp(`Package: linux-headers-${REAL.release.replace(/[+.]/g, '\\$&')}`));
    const lintian = tool('lintian', ['--allow-root', '--no-cfg', deb]);
    assert.deepEqual(
      (lintian.stdout + lintian.stderr).split('\n').filter((l) => /^E: /.test(l)),
      [],
    );
    assert.match(mustRun('rpm', ['-K', '--nosignature', rpm]), /digests OK/);
    assert.match(mustRun('rpm', ['-qpl', rpm]), new RegExp(`/usr/src/kernels/${REAL.release.replace(/[+.]/g, '\\$&')}/vmlinux\\.h`));
    assertTreeIsArchive(s.dir, deb, `usr/src/linux-headers-${REAL.release}`, REAL.archive);
    assertTreeIsArchive(s.dir, rpm, `usr/src/kernels/${REAL.release}`, REAL.archive);
    const config = packagedFile(debianDeb, `boot/config-${REAL.release}`);
    assert.ok(config.length > 100_000, "Debian's package carries its config");
    assert.deepEqual(packagedFile(deb, `usr/src/linux-headers-${REAL.release}/.config`), config);
    assert.deepEqual(packagedFile(rpm, `usr/src/kernels/${REAL.release}/.config`), config);
    // The image's BTF came with the package: vmlinux.h is a real dump, the build says where it came from.
    assert.match(packagedFile(deb, `usr/src/linux-headers-${REAL.release}/vmlinux.h`).toString('latin1', 0, 200), /#ifndef __VMLINUX_H__/);
    assert.equal(json.kernels[0]!.btf!.source, `${debianDeb}: /boot/vmlinuz-${REAL.release}`);
    assert.ok(json.kernels[0]!.btf!.types > 100_000);
  });

  it('several kernels in one run (a real .deb, two rpmbuild .rpms, one broken .deb): each built or none, one line for the broken one, exit 3, the repository updated once', function () {
    const sources = [debianDeb, ...fedora, wrongKernel];
    const out = join(s.dir, 'fleet');
    const repo = join(s.dir, 'repo');
    const env = testSigningKey(join(s.dir, 'gpg'));
    const r = khpkg(['build', ...sources, '-f', 'deb', '-f', 'rpm', '-o', out, '--jobs', '2', '--repo', repo, '--sign-key', TEST_KEY, '--json'], {env});
    assert.equal(r.code, 3, r.stderr);
    assert.equal(r.stderr, '');
    const json = JSON.parse(r.stdout) as {packages: {path: string}[]; kernels: KernelJson[]; repo: {added: unknown[]; signed: boolean}};
    const releases = ['6.1.0-99-amd64', REAL.release, R72];
    assert.deepEqual(
      json.kernels.map((k) => [k.release, k.ok]),
      releases.map((rel) => [rel, rel !== '6.1.0-99-amd64']),
    );
    const broken = json.kernels.find((k) => !k.ok)!;
    assert.equal(broken.error!.code, 'bad-input');
    assert.match(broken.error!.message, /holds the headers of 6\.12\.117\+deb12-amd64, not of 6\.1\.0-99-amd64/);
    const fedoraKernel = json.kernels.find((k) => k.release === R72)!;
    assert.deepEqual(fedoraKernel.sources, fedora, "both of Fedora's packages made the one kernel");
    // Every kernel that was built has both formats; the broken one left nothing behind.
    assert.equal(json.packages.length, 2 * (releases.length - 1));
    assert.deepEqual(
      readdirSync(out).filter((f) => f.includes('6.1.0')),
      [],
    );
    assert.equal(json.repo.added.length, json.packages.length, 'one repository update with every package');
    assert.equal(json.repo.signed, true);
    const rpm72 = fedoraKernel.packages!.find((p) => p.endsWith('.rpm'))!;
    const deb72 = fedoraKernel.packages!.find((p) => p.endsWith('.deb'))!;
    assertTreeIsArchive(s.dir, rpm72, `usr/src/kernels/${R72}`, REAL72.archive);
    assert.deepEqual(packagedFile(deb72, `usr/src/linux-headers-${R72}/.config`), readFileSync(REAL72.config));
    assert.match(mustRun('rpm', ['-qpl', rpm72]), /\/lib\/modules\/7\.2\.13\+deb14-cloud-amd64\/build/);

    // Without --json: the packages on stdout, the broken kernel's one line on stderr, a summary.
    const human = khpkg(['build', ...fedora, wrongKernel, '-o', join(s.dir, 'fleet-human')]);
    assert.equal(human.code, 3);
    assert.equal(human.stderr, `khpkg: 6.1.0-99-amd64: ${broken.error!.message}\n`);
    assert.match(human.stdout, /1 of 2 kernels built; 1 failed\n$/);
  });

  it('a kernel whose packages hold no kheaders.ko says which package to add; every kernel failing exits 1', () => {
    // As Ubuntu's linux-image: the image and config, CONFIG_IKHEADERS=m, the modules in another package.
    const noModules = kernelDeb(s.dir, 'linux-image-6.1.0-98-amd64', '6.1.0-98', {
      'boot/config-6.1.0-98-amd64': {text: 'CONFIG_X86_64=y\nCONFIG_IKHEADERS=m\n'},
    });
    const one = khpkg(['build', noModules, '-o', join(s.dir, 'none')]);
    assert.equal(one.code, 1);
    assert.match(
      one.stderr,
      /^khpkg: no kheaders\.ko of 6\.1\.0-98-amd64 in .*: give the package that holds its modules too \(Ubuntu: linux-modules-<rel>; Fedora: kernel-modules-core\)\n$/,
    );
    const both = khpkg(['build', noModules, wrongKernel, '-o', join(s.dir, 'none')]);
    assert.equal(both.code, 1);
    assert.equal(both.stderr.split('\n').filter(Boolean).length, 2);
    assert.equal(existsSync(join(s.dir, 'none')), false, 'no out dir made for nothing');
  });

  it("an unpacked kernel directory is a SOURCE, and so are one kernel's packages together: inspect names it, install puts its headers in a root", () => {
    const dir = join(s.dir, 'unpacked-fedora');
    mkdirSync(dir, {recursive: true});
    for (const rpm of fedora) mustRun('sh', ['-c', `cd '${dir}' && rpm2cpio '${rpm}' | cpio -idm --quiet`]);
    const info = khpkg(['inspect', dir, '--json']);
    assert.equal(info.code, 0, info.stderr);
    assert.equal(JSON.parse(info.stdout).release, R72);
    const root = join(s.dir, 'root');
    mkdirSync(root);
    const inst = khpkg(['install', dir, '--root', root, '--json']);
    assert.equal(inst.code, 0, inst.stderr);
    assert.deepEqual(readFileSync(join(root, `usr/src/linux-headers-${R72}/.config`)), readFileSync(REAL72.config));
    // One kernel's packages together (Fedora's split); two kernels' are for build only.
    const both = khpkg(['inspect', ...fedora, '--json']);
    assert.equal(both.code, 0, both.stderr);
    assert.equal(JSON.parse(both.stdout).release, R72);
    const two = khpkg(['inspect', fedora[1]!, wrongKernel]);
    assert.equal(two.code, 2);
    assert.match(two.stderr, /the SOURCEs hold 2 kernels \(6\.1\.0-99-amd64, 7\.2\.13\+deb14-cloud-amd64\): give one kernel's packages \(build takes many\)/);
    const other = khpkg(['build', s.dir, '-o', join(s.dir, 'x')]);
    assert.equal(other.code, 1);
    assert.match(other.stderr, /a directory without an unpacked kernel/);
  });
});
