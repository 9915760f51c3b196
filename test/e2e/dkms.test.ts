import assert from 'node:assert/strict';
import {copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {parseSymvers} from '../../src/kbuild/symvers.js';
import {CACHE, DKMS_ROOT, needDebianRoot, release, TestRoot} from '../helpers/debian-root.js';
import {REAL} from '../helpers/kheaders.js';
import {kbuildTestInputs} from '../helpers/module.js';
import {kheadersModuleXz} from '../helpers/roots.js';
import {mustRun, scratch} from '../helpers/run.js';

const REL = REAL.release;
const SERIES = '6.12';
/** The DKMS packages' own .debs, kept by bin/make-test-root.sh for apt-get runs with no network. */
const DKMS_DEBS = join(CACHE, 'dkms-debs');
/** The two real DKMS packages bin/make-test-root.sh installed in the root (AUTOINSTALL=yes both). */
const MODULES = ['acpi_call', 'igb_uio'];

/**
 * A kernel package as Debian builds it, for the bundled archive's release: Debian's own maintainer
 * scripts (postinst runs /etc/kernel/postinst.d through linux-base's linux-run-hooks, with
 * --exit-on-error), a real vmlinuz, the config, a real Debian kernel's modules (the 6.12 cloud
 * kernel's, under this release), and kheaders.ko.xz: the bundled archive in a real ELF module.
 */
function kernelPackage(dir: string, opts: {name?: string; vmlinuz?: Buffer; modules?: boolean} = {}): string {
  const inputs = kbuildTestInputs();
  const image = join(CACHE, `image-${inputs.abi}`);
  const stage = join(dir, opts.name ?? 'kernel');
  const mod = join(stage, 'lib/modules', REL);
  mkdirSync(join(stage, 'DEBIAN'), {recursive: true});
  mkdirSync(join(stage, 'boot'), {recursive: true});
  if (opts.modules !== false) {
    cpSync(join(image, 'lib/modules', inputs.abi, 'kernel'), join(mod, 'kernel'), {recursive: true});
    for (const f of ['modules.order', 'modules.builtin', 'modules.builtin.modinfo']) {
      if (existsSync(join(image, 'lib/modules', inputs.abi, f))) copyFileSync(join(image, 'lib/modules', inputs.abi, f), join(mod, f));
    }
  }
  mkdirSync(join(mod, 'kernel/kernel'), {recursive: true});
  copyFileSync(kheadersModuleXz(dir), join(mod, 'kernel/kernel/kheaders.ko.xz'));
  // The kernel's own image (its BTF goes into the headers) when setup could keep it, else the cloud kernel's.
  const own = join(CACHE, `vmlinuz-${REL}`);
  if (opts.vmlinuz) writeFileSync(join(stage, 'boot', `vmlinuz-${REL}`), opts.vmlinuz);
  else copyFileSync(existsSync(own) ? own : join(image, 'boot', `vmlinuz-${inputs.abi}`), join(stage, 'boot', `vmlinuz-${REL}`));
  copyFileSync(REAL.config, join(stage, 'boot', `config-${REL}`));
  for (const script of ['postinst', 'prerm', 'postrm', 'preinst']) {
    const text = readFileSync(join(CACHE, `image-${inputs.abi}.control`, script), 'utf8').replaceAll(inputs.abi, REL);
    writeFileSync(join(stage, 'DEBIAN', script), text, {mode: 0o755});
  }
  writeFileSync(
    join(stage, 'DEBIAN/control'),
    [
      `Package: linux-image-${REL}`,
      'Version: 6.12.117-1~khpkgtest',
      'Architecture: amd64',
      'Maintainer: khpkg tests <tests@khpkg.invalid>',
      'Pre-Depends: linux-base (>= 4.12~)',
      'Depends: kmod',
      'Section: kernel',
      'Priority: optional',
      `Description: Linux ${REL} for khpkg's tests, with kheaders.ko (CONFIG_IKHEADERS=m)`,
      '',
    ].join('\n'),
  );
  const deb = join(dir, `${opts.name ?? `linux-image-${REL}`}.deb`);
  mustRun('dpkg-deb', ['--root-owner-group', '-Znone', '-b', stage, deb]);
  return deb;
}

/** Debian's linux-source-6.12 as it installs: the source tarball at /usr/src/linux-source-6.12.tar.xz. */
function sourcePackage(dir: string): string {
  const stage = join(dir, 'source');
  mkdirSync(join(stage, 'DEBIAN'), {recursive: true});
  mkdirSync(join(stage, 'usr/src'), {recursive: true});
  copyFileSync(kbuildTestInputs().source, join(stage, `usr/src/linux-source-${SERIES}.tar.xz`));
  writeFileSync(
    join(stage, 'DEBIAN/control'),
    `Package: linux-source-${SERIES}\nVersion: 6.12.118-1~khpkgtest\nArchitecture: all\nMaintainer: khpkg tests <tests@khpkg.invalid>\nDescription: Linux kernel source for version ${SERIES}, as Debian ships it\n`,
  );
  const deb = join(dir, `linux-source-${SERIES}.deb`);
  mustRun('dpkg-deb', ['--root-owner-group', '-Znone', '-b', stage, deb]);
  return deb;
}

/** What dpkg says of a package: `ii`, `iF`, ... or '' when unknown. */
function dpkgState(root: TestRoot, pkg: string): string {
  const r = root.run(['dpkg-query', '-W', '-f', '${db:Status-Abbrev}', pkg]);
  return r.code === 0 ? r.stdout.trim() : '';
}

/** dpkg is sound: nothing half-installed or half-configured, and apt can work (it refuses on a broken dpkg). */
function assertAptWorks(root: TestRoot, when: string): void {
  assert.equal(root.must(['dpkg', '--audit']).trim(), '', `dpkg --audit ${when}`);
  root.must(['apt-get', 'check']);
  root.must(['apt-get', 'install', '-y', '--no-download', 'kmod'], ['DEBIAN_FRONTEND=noninteractive']);
}

/**
 * gcc in the root (DKMS brought it; clang is not there) compiles C that includes the kernel's
 * headers, found where BCC and bpftrace look: the arch dirs through /lib/modules/<rel>/build, the
 * rest through /lib/modules/<rel>/source. Returns offsetof(struct task_struct, tgid) as they give it.
 */
function compileAgainstKernel(root: TestRoot): number {
  const m = `/lib/modules/${REL}`;
  writeFileSync(join(root.dir, 'tmp/offset.c'), '#include <linux/sched.h>\nint off_tgid = __builtin_offsetof(struct task_struct, tgid);\n');
  const include = root.must(['gcc', '-print-file-name=include']).trim();
  const flags = [
    '-nostdinc',
    '-isystem',
    include,
    ...[
      `${m}/build/arch/x86/include`,
      `${m}/build/arch/x86/include/generated`,
      `${m}/source/include`,
      `${m}/build/arch/x86/include/uapi`,
      `${m}/build/arch/x86/include/generated/uapi`,
      `${m}/source/include/uapi`,
      `${m}/source/include/generated/uapi`,
    ].map((d) => `-I${d}`),
    '-include',
    `${m}/source/include/linux/kconfig.h`,
    '-D__KERNEL__',
  ];
  const asm = root.must(['gcc', '-O2', '-S', '-o', '-', ...flags, '/tmp/offset.c']);
  return Number(/^off_tgid:\s*\n\s*\.long\s+(\d+)/m.exec(asm)?.[1]);
}

/** `dpkg -i` of the test kernel: it must end configured (`ii`) whatever DKMS finds. What was said, and how long it took. */
function installKernel(root: TestRoot): {said: string; seconds: number} {
  const t = process.hrtime.bigint();
  const r = root.run(['dpkg', '-i', '/tmp/kernel.deb'], ['DEBIAN_FRONTEND=noninteractive']);
  const said = r.stdout + r.stderr;
  assert.equal(r.code, 0, said);
  assert.equal(dpkgState(root, `linux-image-${REL}`), 'ii');
  return {said, seconds: Number(process.hrtime.bigint() - t) / 1e9};
}

describe('a kernel upgrade with DKMS never breaks apt, and DKMS modules build against khpkg’s headers (#24)', function () {
  this.timeout(40 * 60_000);
  const roots: TestRoot[] = [];
  let s: {dir: string; cleanup: () => void};
  let kernelDeb: string;
  let sourceDeb: string;

  before(function () {
    needDebianRoot(DKMS_ROOT, 'usr/sbin/dkms');
    s = scratch('khpkg-dkms-');
    kernelDeb = kernelPackage(s.dir);
    sourceDeb = sourcePackage(s.dir);
  });
  afterEach(() => {
    for (const r of roots.splice(0)) r.unmount();
  });
  after(() => s?.cleanup());

  /** A fresh DKMS root with khpkg installed from its own .deb (its postinst enables the hooks). */
  const dkmsRoot = (name: string): TestRoot => {
    const root = new TestRoot(join(s.dir, name), {from: DKMS_ROOT});
    roots.push(root);
    copyFileSync(release().deb, join(root.dir, 'tmp/khpkg.deb'));
    copyFileSync(kernelDeb, join(root.dir, 'tmp/kernel.deb'));
    assert.match(root.must(['dpkg', '-i', '/tmp/khpkg.deb']), /wrote \/etc\/kernel\/postinst\.d\/zz-khpkg-headers/);
    return root;
  };

  it('with linux-source-6.12 installed: the kernel ends ii, DKMS built both modules with its vermagic and its CRCs; a broken module fails nothing; removal is clean; the next install reads no source', () => {
    const root = dkmsRoot('with-source');
    copyFileSync(sourceDeb, join(root.dir, 'tmp/source.deb'));
    root.must(['dpkg', '-i', '/tmp/source.deb']);
    // A third DKMS module that cannot build for this kernel: without khpkg DKMS would skip the kernel; with it, nothing may fail.
    mkdirSync(join(root.dir, 'usr/src/broken-1.0'), {recursive: true});
    writeFileSync(join(root.dir, 'usr/src/broken-1.0/broken.c'), '#error "this module does not support the kernel"\n');
    writeFileSync(join(root.dir, 'usr/src/broken-1.0/Makefile'), 'obj-m := broken.o\n');
    writeFileSync(
      join(root.dir, 'usr/src/broken-1.0/dkms.conf'),
      'PACKAGE_NAME="broken"\nPACKAGE_VERSION="1.0"\nBUILT_MODULE_NAME[0]="broken"\nDEST_MODULE_LOCATION[0]="/updates/dkms"\nAUTOINSTALL="yes"\n',
    );
    root.must(['dkms', 'add', '-m', 'broken', '-v', '1.0']);

    const first = installKernel(root);
    const said = first.said;
    assert.match(
      said,
      new RegExp(
        `khpkg: installed headers for ${REL.replace(/\+/g, '\\+')} at /usr/src/linux-headers-\\S+ \\(module-build tree\\); DKMS could not build broken/1\\.0`,
      ),
    );
    assert.match(said, /put back .*'s build link after DKMS/);
    const status = root.must(['dkms', 'status', '-k', REL]);
    assert.match(status, /^acpi-call\/1\.2\.2, .*: installed/m);
    assert.match(status, /^dpdk-kmods\/[^,]+, .*: installed/m);
    assert.equal(root.must(['readlink', '-f', `/lib/modules/${REL}/build`]).trim(), `/usr/src/linux-headers-${REL}`);
    const info = JSON.parse(root.must(['khpkg', 'info', REL, '--json'])) as {tier: string; kbuild: {source: string}};
    assert.deepEqual([info.tier, info.kbuild.source], ['kbuild', `/usr/src/linux-source-${SERIES}.tar.xz`]);
    // What DKMS built has the kernel's vermagic and the CRCs that kernel's own Module.symvers gives (Debian's, for its modules).
    const debian = parseSymvers(readFileSync(kbuildTestInputs().debianSymvers, 'utf8'));
    for (const m of MODULES) {
      const ko = root
        .must(['sh', '-c', `ls /lib/modules/${REL}/updates/dkms/${m}.ko*`])
        .trim()
        .split('\n')[0]!;
      assert.ok(root.must(['modinfo', '-F', 'vermagic', ko]).startsWith(`${REL} SMP `), `${m}: vermagic`);
      const crcs = root
        .must(['modprobe', '--dump-modversions', ko])
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split('\t') as [string, string]);
      assert.ok(crcs.length > 5, `${m} records CRCs`);
      for (const [crc, symbol] of crcs) assert.equal(Number.parseInt(crc, 16), debian.get(symbol)?.crc, `${m}: CRC of ${symbol}`);
      if (m === 'igb_uio')
        assert.ok(
          crcs.some(([, sym]) => sym === 'uio_event_notify'),
          "igb_uio uses uio.ko's exports",
        );
    }
    assertAptWorks(root, 'after the kernel install');

    const removed = root.run(['dpkg', '-r', `linux-image-${REL}`]);
    assert.equal(removed.code, 0, removed.stdout + removed.stderr);
    assert.equal(dpkgState(root, `linux-image-${REL}`), 'rc');
    assert.equal(existsSync(join(root.dir, `usr/src/linux-headers-${REL}`)), false, "khpkg's headers went with the kernel");
    assert.equal(existsSync(join(root.dir, `lib/modules/${REL}/updates/dkms`)), false, "DKMS's modules went with the kernel");
    assert.equal(JSON.parse(root.must(['khpkg', 'list', '--json'])).length, 0);
    assertAptWorks(root, 'after the kernel removal');

    // The next kernel of the series: the kit comes from khpkg's cache, with no source left on the machine.
    root.must(['dpkg', '-r', `linux-source-${SERIES}`]);
    root.must(['dkms', 'remove', 'broken/1.0', '--all']);
    // DKMS forgets a module with the last kernel it was built for: its packages' own postinst adds it again.
    for (const pkg of ['acpi-call-dkms', 'dpdk-kmods-dkms']) root.must(['dpkg-reconfigure', pkg], ['DEBIAN_FRONTEND=noninteractive']);
    assert.match(root.must(['dkms', 'status']), /^acpi-call\/1\.2\.2: added/m);
    const again = installKernel(root);
    assert.match(again.said, /\(module-build tree\)/);
    assert.doesNotMatch(again.said, /DKMS could not build/);
    assert.match(root.must(['dkms', 'status']), /^acpi-call\/1\.2\.2, .*: installed/m, again.said);
    assertAptWorks(root, 'after the install from the cached kit');
    console.log(`      dpkg -i of the kernel: ${first.seconds.toFixed(0)} s reading linux-source-${SERIES}, ${again.seconds.toFixed(0)} s from the cached kit`);
  });

  it('with no kernel source anywhere: the kernel ends ii with a headers-only tree DKMS skips; later DKMS work (apt-get install --reinstall, dpkg-reconfigure, a new DKMS package, a reboot) never breaks apt (#35)', () => {
    const root = dkmsRoot('no-source');
    const {said} = installKernel(root);
    assert.match(
      said,
      new RegExp(`autoinstall for kernel ${REL.replace(/\+/g, '\\+')} was skipped since the kernel headers for this kernel do not seem to be installed`),
    );
    assert.match(
      said,
      new RegExp(
        `khpkg: installed headers for .* \\(headers-only\\); DKMS skips .* \\(no Linux ${SERIES} source for a module-build tree of .*\\); to build modules for it: install Linux ${SERIES}'s source \\(Debian: apt install linux-source-${SERIES};`,
      ),
    );
    assert.equal(root.run(['dkms', 'status', '-k', REL]).stdout.includes('installed'), false);
    const info = JSON.parse(root.must(['khpkg', 'info', REL, '--json'])) as {tier: string};
    assert.equal(info.tier, 'headers');
    assert.match(root.must(['khpkg', 'info', REL]), /^tier +headers$/m);
    root.must(['test', '-f', `/lib/modules/${REL}/source/include/linux/kernel.h`]);
    assert.equal(root.run(['test', '-e', `/lib/modules/${REL}/build/include`]).code, 1, 'what DKMS asks: no build/include, so no headers to build against');
    assertAptWorks(root, 'after the kernel install');

    // Every later way DKMS meets the kernel, with Debian's own dkms and the packages' own maintainer scripts.
    const env = ['DEBIAN_FRONTEND=noninteractive'];
    for (const f of readdirSync(DKMS_DEBS)) copyFileSync(join(DKMS_DEBS, f), join(root.dir, 'tmp', f));
    // No network: apt knows only the .debs given (with its lists, it would fetch the same versions from the mirror).
    rmSync(join(root.dir, 'var/lib/apt/lists'), {recursive: true, force: true});
    mkdirSync(join(root.dir, 'var/lib/apt/lists/partial'), {recursive: true});
    const debs = (pkg: string): string => `/tmp/${readdirSync(DKMS_DEBS).find((f) => f.startsWith(`${pkg}_`))}`;
    const reinstall = root.run(['apt-get', 'install', '-y', '--reinstall', debs('acpi-call-dkms'), debs('dpdk-kmods-dkms')], env);
    assert.equal(reinstall.code, 0, reinstall.stdout + reinstall.stderr);
    assert.match(
      reinstall.stdout + reinstall.stderr,
      /Module build for kernel .* was skipped since the\s+kernel headers for this kernel do(es)? not seem to be installed/,
    );
    for (const pkg of ['acpi-call-dkms', 'dpdk-kmods-dkms']) root.must(['dpkg-reconfigure', pkg], env);
    const third = root.run(['apt-get', 'install', '-y', debs('lime-forensics-dkms')], env);
    assert.equal(third.code, 0, third.stdout + third.stderr);
    for (const pkg of ['acpi-call-dkms', 'dpdk-kmods-dkms', 'lime-forensics-dkms']) assert.equal(dpkgState(root, pkg), 'ii', pkg);
    assertAptWorks(root, 'after DKMS packages were installed for a headers-only kernel');
    // A compiler still finds the kernel's headers where BPF tools look: /lib/modules/<rel>/{source,build}.
    const compiled = compileAgainstKernel(root);
    assert.ok(compiled > 1000, `offsetof(struct task_struct, tgid) = ${compiled}`);

    // A reboot into that kernel: khpkg.service, Debian's dkms.service (dkms_autoinstaller), khpkg-headers.service.
    copyFileSync(REAL.archive, join(root.dir, 'tmp/kheaders.tar.xz'));
    const running = ['KHPKG_RUNNING_RELEASE=' + REL, 'KHPKG_KHEADERS=/tmp/kheaders.tar.xz', `KHPKG_PROC_CONFIG=/boot/config-${REL}`];
    assert.match(root.must(['khpkg', 'hooks', 'run', 'boot'], running), /headers for .* are installed already \(headers-only\)/);
    const dkmsBoot = root.run(['/usr/lib/dkms/dkms_autoinstaller', 'start', REL]);
    assert.equal(dkmsBoot.code, 0, dkmsBoot.stdout + dkmsBoot.stderr);
    assert.match(dkmsBoot.stdout, /autoinstall for kernel .* was skipped since the kernel headers for this kernel do not seem to be installed/);
    root.must(['khpkg', 'hooks', 'run', 'boot-after-dkms'], running);
    const after = root.run(['apt-get', 'install', '-y', '--reinstall', debs('lime-forensics-dkms')], env);
    assert.equal(after.code, 0, after.stdout + after.stderr);
    assertAptWorks(root, 'after the boot units');
    assert.equal(compileAgainstKernel(root), compiled);
    assert.equal(root.run(['khpkg', 'doctor']).code, 0);

    const removed = root.run(['dpkg', '-r', `linux-image-${REL}`]);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(existsSync(join(root.dir, `usr/src/linux-headers-${REL}`)), false);
    assertAptWorks(root, 'after the kernel removal');
  });

  it('a kernel package whose image is empty, cut short or of a kind khpkg cannot read ends ii with its headers, and one line about the image; info says no BTF (#34)', () => {
    const real = readFileSync(join(CACHE, `vmlinuz-${REL}`));
    const images: [string, Buffer][] = [
      ['empty', Buffer.alloc(0)],
      ['cut-short', real.subarray(0, real.length >> 2)],
      ['unknown', Buffer.from('\x7fNOT a kernel image khpkg knows\n'.repeat(50_000))],
    ];
    const root = dkmsRoot('bad-images');
    for (const [name, vmlinuz] of images) {
      copyFileSync(kernelPackage(s.dir, {name: `kernel-${name}`, vmlinuz, modules: false}), join(root.dir, 'tmp/kernel.deb'));
      const {said} = installKernel(root);
      const about = said.split('\n').filter((l) => /^khpkg: installed headers for /.test(l));
      assert.equal(about.length, 1, `${name}: one line from khpkg:\n${said}`);
      assert.match(about[0]!, new RegExp(`/boot/vmlinuz-${REL.replace(/\+/g, '\\+')}.*: the set is made without BTF`), name);
      assert.match(root.must(['khpkg', 'info', REL]), /^btf +none: /m, name);
      root.must(['test', '-f', `/lib/modules/${REL}/source/include/linux/kernel.h`]);
      assertAptWorks(root, `after the kernel with the ${name} image`);
      const removed = root.run(['dpkg', '--purge', `linux-image-${REL}`]);
      assert.equal(removed.code, 0, removed.stderr);
    }
  });

  it('apt remove then apt install khpkg brings the hooks back; an admin’s hooks disable holds; purge keeps what tracks khpkg’s sets', () => {
    const root = dkmsRoot('life-cycle');
    const apt = (...args: string[]): string => root.must(['apt-get', ...args], ['DEBIAN_FRONTEND=noninteractive']);
    const hooksOn = (): boolean => (JSON.parse(root.must(['khpkg', 'hooks', 'status', '--json'])) as {enabled: boolean}).enabled;
    assert.equal(hooksOn(), true);
    apt('remove', '-y', 'khpkg');
    assert.equal(existsSync(join(root.dir, 'etc/kernel/postinst.d/10-khpkg')), false);
    apt('install', '-y', '/tmp/khpkg.deb');
    assert.equal(hooksOn(), true, 'a reinstall after apt remove brings the hooks back');
    root.must(['khpkg', 'hooks', 'disable']);
    apt('install', '-y', '--reinstall', '/tmp/khpkg.deb');
    assert.equal(hooksOn(), false, "the package leaves an admin's 'hooks disable' alone");
    root.must(['khpkg', 'hooks', 'enable']);
    assert.equal(hooksOn(), true);

    // A set khpkg installed, then purge: the registry that tracks it stays, so a khpkg installed again still knows it.
    installKernel(root);
    const purge = root.run(['apt-get', 'purge', '-y', 'khpkg'], ['DEBIAN_FRONTEND=noninteractive']);
    assert.equal(purge.code, 0, purge.stderr);
    assert.match(
      purge.stderr + purge.stdout,
      new RegExp(`khpkg: keeping /var/lib/khpkg: it tracks the header sets khpkg installed \\(${REL.replace(/\+/g, '\\+')}\\)`),
    );
    apt('install', '-y', '/tmp/khpkg.deb');
    const listed = JSON.parse(root.must(['khpkg', 'list', '--json'])) as {release: string}[];
    assert.deepEqual(
      listed.map((l) => l.release),
      [REL],
    );
    assert.match(root.must(['khpkg', 'install', '--kernel', REL]), /already installed/);
    // With its sets removed, purge leaves nothing of khpkg.
    root.must(['khpkg', 'remove', REL]);
    apt('purge', '-y', 'khpkg');
    assert.equal(existsSync(join(root.dir, 'var/lib/khpkg')), false);
    assert.deepEqual(root.khpkgPaths(), []);
    assertAptWorks(root, 'after the purge');
  });
});
