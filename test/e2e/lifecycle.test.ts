import assert from 'node:assert/strict';
import {existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync} from 'node:fs';
import {createRequire} from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import {join} from 'node:path';
import {lockRoot} from '../../src/registry/lock.js';
import {REAL, withExtraHeader} from '../helpers/kheaders.js';
import {khpkg, mustRun, needInput, scratch, tool} from '../helpers/run.js';
import {findBtf} from '../../src/btf/image.js';
import {CACHE} from '../helpers/cache.js';
import {installedKernelRoot} from '../helpers/roots.js';
import {treeDigest} from '../helpers/tree.js';

const REL = REAL.release;

/**
 * A stand-in for DKMS's own kernel hook (sorted after khpkg's): records what DKMS's own test for
 * "headers installed" (`test -e /lib/modules/<rel>/build/include`, dkms_autoinstaller and
 * common.postinst alike) said when it ran, and whether the headers were there for BPF tools.
 */
function standInDkms(root: string): void {
  mkdirSync(join(root, 'etc/kernel/postinst.d'), {recursive: true});
  writeFileSync(
    join(root, 'etc/kernel/postinst.d/dkms'),
    '#!/bin/sh\nif [ -e "$DPKG_ROOT/lib/modules/$1/build/include" ]; then echo "$1 build" >> "$DPKG_ROOT/dkms.log"; else echo "$1 skip" >> "$DPKG_ROOT/dkms.log"; fi\n' +
      '[ -e "$DPKG_ROOT/lib/modules/$1/source/include/linux/kconfig.h" ] && echo "$1 headers" >> "$DPKG_ROOT/dkms.log"; exit 0\n',
    {mode: 0o755},
  );
}

const runParts = (root: string, dir: 'postinst.d' | 'postrm.d', release = REL, env: Record<string, string> = {}) =>
  tool('run-parts', [`--arg=${release}`, `--arg=/boot/vmlinuz-${release}`, join(root, 'etc/kernel', dir)], {env: {DPKG_ROOT: root, ...env}});

const listed = (root: string): string[] => JSON.parse(khpkg(['list', '--root', root, '--json']).stdout).map((s: {release: string}) => s.release);

describe('zero-touch: headers come with a kernel and go with it', function () {
  this.timeout(300_000);
  const s = scratch();
  after(() => s.cleanup());

  it('hooks enable, then run-parts postinst.d installs the new kernel’s headers before DKMS’s hook runs; postrm.d removes them', () => {
    const root = join(s.dir, 'debian');
    installedKernelRoot(s.dir, root);
    standInDkms(root);
    assert.equal(khpkg(['hooks', 'enable', '--root', root]).code, 0);
    const status = JSON.parse(khpkg(['hooks', 'status', '--root', root, '--json']).stdout);
    assert.equal(status.enabled, true);
    const up = runParts(root, 'postinst.d');
    assert.equal(up.code, 0, up.stderr);
    assert.equal(
      readFileSync(join(root, 'dkms.log'), 'utf8'),
      `${REL} skip\n${REL} headers\n`,
      'a headers-only tree: DKMS skips the kernel, the headers are there',
    );
    assert.deepEqual(listed(root), [REL]);
    assert.ok(readFileSync(join(root, `usr/src/linux-headers-${REL}/.config`)).equals(readFileSync(REAL.config)), "the kernel's /boot/config came along");
    assert.equal(khpkg(['verify', REL, '--root', root]).code, 0);

    const down = runParts(root, 'postrm.d');
    assert.equal(down.code, 0, down.stderr);
    assert.deepEqual(listed(root), []);
    assert.equal(existsSync(join(root, `usr/src/linux-headers-${REL}`)), false);
    assert.ok(existsSync(join(root, `lib/modules/${REL}/modules.dep`)), "the kernel's own files stay");
  });

  it('with DKMS installed and no kernel source: the headers-only tree is there before DKMS’s hook, which skips the kernel (it would fail building against it)', () => {
    const root = join(s.dir, 'dkms-no-source');
    installedKernelRoot(s.dir, root);
    standInDkms(root);
    mkdirSync(join(root, 'usr/sbin'), {recursive: true});
    writeFileSync(join(root, 'usr/sbin/dkms'), '#!/bin/sh\nexit 0\n', {mode: 0o755});
    assert.equal(khpkg(['hooks', 'enable', '--root', root]).code, 0);
    const up = runParts(root, 'postinst.d');
    assert.equal(up.code, 0, up.stderr);
    assert.equal(readFileSync(join(root, 'dkms.log'), 'utf8'), `${REL} skip\n${REL} headers\n`, "DKMS's hook skips the kernel; the headers are there");
    assert.match(
      up.stdout,
      /^khpkg: installed headers for .* \(headers-only\); DKMS skips .* \(no Linux 6\.12 source for a module-build tree of .*\); to build modules for it: install Linux 6\.12's source/m,
    );
    assert.deepEqual(listed(root), [REL]);
    assert.equal(JSON.parse(khpkg(['info', REL, '--root', root, '--json']).stdout).tier, 'headers');
  });

  it('the boot units do the same around dkms.service: khpkg.service installs the headers-only tree DKMS skips, khpkg-headers.service has nothing left to do', () => {
    const root = join(s.dir, 'dkms-boot');
    mkdirSync(join(root, 'usr/sbin'), {recursive: true});
    writeFileSync(join(root, 'usr/sbin/dkms'), '#!/bin/sh\nexit 0\n', {mode: 0o755});
    const env = {KHPKG_KHEADERS: REAL.archive, KHPKG_PROC_CONFIG: REAL.config, KHPKG_RUNNING_RELEASE: REL};
    const said = (action: string): string => JSON.parse(khpkg(['hooks', 'run', action, '--root', root, '--json'], {env}).stdout).said;
    assert.equal(said('boot-after-dkms'), '', 'nothing was left for after DKMS');
    assert.match(said('boot'), /^installed headers for .* \(headers-only\); DKMS skips .*; to build modules for it: /);
    assert.deepEqual(listed(root), [REL]);
    assert.equal(existsSync(join(root, `lib/modules/${REL}/build/include`)), false, 'what dkms.service asks: no headers to build against');
    assert.equal(said('boot-after-dkms'), '', 'still nothing for after DKMS');
    assert.match(said('boot'), /are installed already \(headers-only\)$/, 'the next boot: current headers are only read');
    const status = JSON.parse(khpkg(['status', '--root', root, '--json'], {env}).stdout) as {installed: boolean; tier: string};
    assert.deepEqual([status.installed, status.tier], [true, 'headers']);
  });

  it('the kernel-install plugin does the same with add and remove', () => {
    const root = join(s.dir, 'kernel-install');
    installedKernelRoot(s.dir, root);
    assert.equal(khpkg(['hooks', 'enable', '--root', root]).code, 0);
    const plugin = join(root, 'etc/kernel/install.d/35-khpkg.install');
    assert.equal(
      mustRun(plugin, ['add', REL, join(root, 'boot/efi/entry'), `/boot/vmlinuz-${REL}`], {env: {KHPKG_ROOT: root}}).trim(),
      `khpkg: installed headers for ${REL} at ${join(root, `usr/src/linux-headers-${REL}`)} (headers-only)`,
    );
    assert.deepEqual(listed(root), [REL]);
    assert.ok(existsSync(join(root, `lib/modules/${REL}/source/include/linux/kconfig.h`)));
    assert.ok(existsSync(join(root, `lib/modules/${REL}/build/Makefile`)));
    mustRun(plugin, ['remove', REL, join(root, 'boot/efi/entry')], {env: {KHPKG_ROOT: root}});
    assert.deepEqual(listed(root), []);
  });

  it('never fails a kernel install: no kheaders, kheaders built in, a busy registry each give one line and exit 0', () => {
    const root = join(s.dir, 'failures');
    installedKernelRoot(s.dir, root, '6.1.0-nokh', {kheaders: 'none'});
    installedKernelRoot(s.dir, root, '6.1.0-builtin', {kheaders: 'builtin'});
    installedKernelRoot(s.dir, root);
    assert.equal(khpkg(['hooks', 'enable', '--root', root]).code, 0);
    const none = runParts(root, 'postinst.d', '6.1.0-nokh');
    assert.equal(none.code, 0);
    assert.equal(
      none.stderr,
      'khpkg: 6.1.0-nokh has no kheaders module (CONFIG_IKHEADERS is off in that kernel): nothing to install its headers from (the kernel is not affected)\n',
    );
    const builtin = runParts(root, 'postinst.d', '6.1.0-builtin');
    assert.equal(builtin.code, 0);
    assert.match(builtin.stdout, /^khpkg: 6\.1\.0-builtin has kheaders built in: its headers will be installed at its first boot/);
    assert.equal(builtin.stderr, '');

    const lock = lockRoot(root, 0);
    try {
      const busy = runParts(root, 'postinst.d', REL, {KHPKG_HOOK_WAIT: '1'});
      assert.equal(busy.code, 0);
      assert.match(busy.stderr, /^khpkg: another khpkg is changing .* \(the kernel is not affected\)\n$/);
    } finally {
      lock.release();
    }
    assert.deepEqual(listed(root), [], 'nothing was installed by the failed runs');
    assert.deepEqual(
      ['usr/src'].flatMap((d) =>
        existsSync(join(root, d))
          ? tool('ls', ['-A', join(root, d)])
              .stdout.split('\n')
              .filter((n) => n.startsWith('.khpkg'))
          : [],
      ),
      [],
    );
  });

  it('install --kernel refuses a module that holds another release’s headers', () => {
    const root = join(s.dir, 'mismatch');
    installedKernelRoot(s.dir, root, '6.12.999-other');
    const r = khpkg(['install', '--kernel', '6.12.999-other', '--root', root]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^khpkg: .*kheaders\.ko\.xz holds the headers of 6\.12\.117\+deb12-amd64, not of 6\.12\.999-other\n$/);
    assert.deepEqual(listed(root), []);
    const built = JSON.parse(
      khpkg(['build', '--kernel', REL, '--root', (installedKernelRoot(s.dir, root), root), '-o', join(s.dir, 'out'), '-z', 'zstd', '--json']).stdout,
    );
    assert.equal(built.packages[0].name, `linux-headers-${REL}`);
  });

  it('hooks disable leaves the root exactly as before hooks enable, and the unit passes systemd-analyze verify', () => {
    const root = join(s.dir, 'disable');
    installedKernelRoot(s.dir, root);
    mkdirSync(join(root, 'etc/kernel/postinst.d'), {recursive: true}); // one dir was there before, empty
    const before = treeDigest(root);
    assert.equal(khpkg(['hooks', 'enable', '--root', root]).code, 0);
    const unit = join(root, 'etc/systemd/system/khpkg.service');
    const late = join(root, 'etc/systemd/system/khpkg-headers.service');
    const verify = tool('systemd-analyze', ['verify', unit, late]);
    assert.equal(verify.code, 0, verify.stderr);
    assert.match(readFileSync(unit, 'utf8'), /^Before=dkms\.service$/m);
    assert.match(readFileSync(late, 'utf8'), /^After=dkms\.service$/m);
    assert.match(readFileSync(late, 'utf8'), /hooks run boot-after-dkms$/m);
    assert.equal(khpkg(['hooks', 'enable', '--root', root]).code, 0, 'enable again changes nothing');
    assert.equal(khpkg(['hooks', 'disable', '--root', root]).code, 0);
    // All but the admin's choice, remembered so that khpkg's package leaves the hooks off on its next install or upgrade.
    assert.deepEqual(
      treeDigest(root, (rel) => rel === 'var' || rel.startsWith('var/')),
      before,
    );
    assert.ok(existsSync(join(root, 'var/lib/khpkg/hooks-disabled')));
    const again = JSON.parse(khpkg(['hooks', 'enable', '--unless-admin-disabled', '--root', root, '--json']).stdout);
    assert.deepEqual(again, {written: [], adminDisabled: true}, "the package's enable leaves an admin's disable alone");
    assert.equal(JSON.parse(khpkg(['hooks', 'status', '--root', root, '--json']).stdout).enabled, false);
  });
});

describe('khpkg.service at boot (hooks run boot)', function () {
  this.timeout(300_000);
  const s = scratch();
  after(() => s.cleanup());

  it('installs the running kernel’s headers when missing, does nothing when current, and replaces stale ones', () => {
    const root = join(s.dir, 'boot');
    mkdirSync(root);
    const env = {KHPKG_KHEADERS: REAL.archive, KHPKG_PROC_CONFIG: REAL.config, KHPKG_RUNNING_RELEASE: REL};
    const first = khpkg(['hooks', 'run', 'boot', '--root', root, '--json'], {env});
    assert.equal(first.code, 0, first.stderr);
    assert.match(JSON.parse(first.stdout).said, /^installed headers for /);
    assert.match(JSON.parse(khpkg(['hooks', 'run', 'boot', '--root', root, '--json'], {env}).stdout).said, /are installed already \(headers-only\)$/);
    // The same release rebuilt with another header: the running kernel is the truth.
    const rebuilt = withExtraHeader(join(s.dir, 'x'), 'rebuilt.h', join(s.dir, 'rebuilt.tar.xz'));
    const stale = khpkg(['hooks', 'run', 'boot', '--root', root, '--json'], {env: {...env, KHPKG_KHEADERS: rebuilt}});
    assert.match(JSON.parse(stale.stdout).said, /^replaced headers for /);
    assert.ok(existsSync(join(root, `usr/src/linux-headers-${REL}/include/linux/rebuilt.h`)));
    const none = khpkg(['hooks', 'run', 'boot', '--root', root], {env: {...env, KHPKG_KHEADERS: join(s.dir, 'absent')}});
    assert.equal(none.code, 0, 'a kernel without kheaders does not fail the boot unit');
    assert.match(none.stderr, /^khpkg: .*\(the kernel is not affected\)\n$/);
  });

  it('a current set is told from digests alone: the boot reads the archive, config and BTF but decompresses nothing (#38); other BTF or another config is not current', async () => {
    const root = join(s.dir, 'current');
    mkdirSync(root);
    const image = join(CACHE, `vmlinuz-${REL}`);
    needInput(existsSync(image) ? image : undefined, `no ${image}: 'npm run setup' keeps Debian's vmlinuz of ${REL}`);
    const sysfs = join(s.dir, 'sysfs-vmlinux');
    writeFileSync(sysfs, (await findBtf(readFileSync(image), image)).btf);
    // What the process had mapped when it ended: liblzma (lzma-native's addon) only if xz was decompressed.
    const maps = join(s.dir, 'maps');
    const probe = join(s.dir, 'maps-probe.mjs');
    writeFileSync(
      probe,
      `import {readFileSync, writeFileSync} from 'node:fs';\nprocess.on('exit', () => writeFileSync(${JSON.stringify(maps)}, /lzma/.test(readFileSync('/proc/self/maps', 'utf8')) ? 'xz decompressed' : 'nothing decompressed'));\n`,
    );
    const env = {
      KHPKG_KHEADERS: REAL.archive,
      KHPKG_PROC_CONFIG: REAL.config,
      KHPKG_RUNNING_RELEASE: REL,
      KHPKG_SYSFS_BTF: sysfs,
      NODE_OPTIONS: `--import=${probe}`,
    };
    const boot = (extra: Record<string, string> = {}): string => {
      const r = khpkg(['hooks', 'run', 'boot', '--root', root, '--json'], {env: {...env, ...extra}});
      assert.equal(r.code, 0, r.stderr);
      return `${(JSON.parse(r.stdout) as {said: string}).said} | ${readFileSync(maps, 'utf8')}`;
    };
    assert.match(boot(), /^installed headers for .* \| xz decompressed$/);
    assert.match(boot(), /are installed already \(headers-only\) \| nothing decompressed$/);
    // The kernel's BTF changed (a rebuilt image of the same release): read again, replaced.
    const other = join(s.dir, 'sysfs-other');
    const arm = readdirSync(CACHE).find((f) => /^vmlinuz-.*-arm64$/.test(f));
    needInput(arm, `no arm64 vmlinuz in ${CACHE}: 'npm run setup' fetches one`);
    writeFileSync(other, (await findBtf(readFileSync(join(CACHE, arm!)), arm!)).btf);
    assert.match(boot({KHPKG_SYSFS_BTF: other}), /^replaced headers for .* \| xz decompressed$/);
    assert.match(boot({KHPKG_SYSFS_BTF: other}), /are installed already .* \| nothing decompressed$/);
    // Another config: not current either.
    const config = join(s.dir, 'config');
    writeFileSync(config, `${readFileSync(REAL.config, 'utf8')}CONFIG_KHPKG_TEST_EXTRA=y\n`);
    assert.doesNotMatch(boot({KHPKG_SYSFS_BTF: other, KHPKG_PROC_CONFIG: config}), /installed already/);
  });

  it('a set with half its tree deleted: doctor exits 1 naming it and the fix; the boot unit mends it offline, keeping a user file', () => {
    const root = join(s.dir, 'damaged');
    mkdirSync(root);
    const env = {KHPKG_KHEADERS: REAL.archive, KHPKG_PROC_CONFIG: REAL.config, KHPKG_RUNNING_RELEASE: REL, KHPKG_SYSFS_BTF: join(s.dir, 'no-btf')};
    assert.equal(khpkg(['hooks', 'run', 'boot', '--root', root], {env}).code, 0);
    const tree = join(root, `usr/src/linux-headers-${REL}`);
    writeFileSync(join(tree, 'include/linux/mine.h'), '/* a user file */\n');
    assert.equal(khpkg(['doctor', '--root', root]).stdout, `registry: ok\n${REL}: ok\n`);
    // BCC issue 4213's half-empty headers directory: every tool breaks until someone deletes it by hand.
    const names = readdirSync(join(tree, 'include/linux')).filter((n) => n !== 'mine.h');
    for (const n of names.slice(0, names.length / 2)) rmSync(join(tree, 'include/linux', n), {recursive: true});
    const sick = khpkg(['doctor', '--root', root]);
    assert.equal(sick.code, 1);
    assert.match(
      sick.stdout,
      new RegExp(`^${REL.replace(/\+/g, '\\+')}: damaged \\(\\d+ entries missing\\): run 'khpkg install --reinstall --root ${root}'$`, 'm'),
    );
    const json = JSON.parse(khpkg(['doctor', '--root', root, '--json']).stdout) as {sets: {release: string; ok: boolean; problems: string[]}[]};
    assert.deepEqual(
      json.sets.map((x) => [x.release, x.ok]),
      [[REL, false]],
    );
    assert.notEqual(khpkg(['verify', '--root', root]).code, 0);
    const mended = JSON.parse(khpkg(['hooks', 'run', 'boot', '--root', root, '--json'], {env}).stdout) as {said: string};
    assert.match(mended.said, /^reinstalled headers for /);
    assert.equal(khpkg(['verify', '--root', root]).code, 0, 'verify is clean again');
    assert.equal(readFileSync(join(tree, 'include/linux/mine.h'), 'utf8'), '/* a user file */\n', 'the user file survived');
    assert.equal(khpkg(['doctor', '--root', root]).code, 0);
    // A build link someone pointed at another release's tree: named, and mended the same way.
    mkdirSync(join(root, 'usr/src/linux-headers-6.1.0-other/include'), {recursive: true});
    rmSync(join(root, `lib/modules/${REL}/build`));
    symlinkSync('../../../usr/src/linux-headers-6.1.0-other', join(root, `lib/modules/${REL}/build`));
    const elsewhere = khpkg(['doctor', '--root', root]);
    assert.equal(elsewhere.code, 1);
    assert.match(elsewhere.stdout, /1 entry pointing elsewhere; a headers-only tree behind .*build\/include: DKMS takes that for buildable headers/);
    assert.equal(khpkg(['hooks', 'run', 'boot', '--root', root], {env}).code, 0);
    assert.equal(readlinkSync(join(root, `lib/modules/${REL}/build`)), `../../../usr/src/linux-headers-${REL}/headers-only`);
    assert.equal(khpkg(['doctor', '--root', root]).code, 0);
  });

  it('a headers-only set an older khpkg laid out (build was the tree, so DKMS failed on it) is laid out anew by the next boot, with no flag', () => {
    const root = join(s.dir, 'old-layout');
    mkdirSync(root);
    const env = {KHPKG_KHEADERS: REAL.archive, KHPKG_PROC_CONFIG: REAL.config, KHPKG_RUNNING_RELEASE: REL, KHPKG_SYSFS_BTF: join(s.dir, 'no-btf')};
    assert.equal(khpkg(['hooks', 'run', 'boot', '--root', root], {env}).code, 0);
    // What khpkg before #35 left: build -> the tree itself, no source link, no headers-only dir, no version.h link.
    const tree = `usr/src/linux-headers-${REL}`;
    rmSync(join(root, `lib/modules/${REL}/source`));
    rmSync(join(root, `lib/modules/${REL}/build`));
    symlinkSync(`../../../${tree}`, join(root, `lib/modules/${REL}/build`));
    rmSync(join(root, tree, 'headers-only'), {recursive: true});
    rmSync(join(root, tree, 'include/linux/version.h'));
    const Database = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
    const db = new Database(join(root, 'var/lib/khpkg/registry.db'));
    db.prepare('DELETE FROM files WHERE release = ? AND (path LIKE ? OR path = ? OR path = ?)').run(
      REL,
      `${tree}/headers-only%`,
      `${tree}/include/linux/version.h`,
      `lib/modules/${REL}/source`,
    );
    db.prepare('UPDATE files SET link_target = ? WHERE release = ? AND path = ?').run(`../../../${tree}`, REL, `lib/modules/${REL}/build`);
    db.close();
    assert.equal(khpkg(['verify', '--root', root]).code, 0, 'the old layout is what the registry records');
    const doctor = khpkg(['doctor', '--root', root]);
    assert.equal(doctor.code, 1);
    assert.match(
      doctor.stdout,
      /: damaged \(a headers-only tree behind .*build\/include: DKMS takes that for buildable headers and fails where it would skip\)/,
    );
    const boot = JSON.parse(khpkg(['hooks', 'run', 'boot', '--root', root, '--json'], {env}).stdout) as {said: string};
    assert.match(boot.said, /^reinstalled headers for /);
    assert.equal(existsSync(join(root, `lib/modules/${REL}/build/include`)), false);
    assert.equal(readlinkSync(join(root, `lib/modules/${REL}/source`)), `../../../${tree}`);
    assert.equal(khpkg(['doctor', '--root', root]).code, 0);
    assert.match(JSON.parse(khpkg(['hooks', 'run', 'boot', '--root', root, '--json'], {env}).stdout).said, /are installed already/);
  });
});
