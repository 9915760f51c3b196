import assert from 'node:assert/strict';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import {createRequire} from 'node:module';
import {join} from 'node:path';
import {gzipSync} from 'node:zlib';
import {BUILD_REAL, kheadersArchive, REAL, withExtraHeader} from '../helpers/kheaders.js';
import {khpkg, mustRun, runnableByOthers, scratch} from '../helpers/run.js';
import {addedByKhpkg, treeDigest} from '../helpers/tree.js';

const REL = REAL.release;
const TREE = `usr/src/linux-headers-${REL}`;

function json<T>(args: string[], env: Record<string, string> = {}): T {
  const r = khpkg([...args, '--json'], {env});
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as T;
}

/** Everything under a root except khpkg's own registry dir. */
function rootListing(root: string): string[] {
  return [...treeDigest(root, (rel) => rel === 'var/lib/khpkg').keys()].filter((p) => p !== 'var' && p !== 'var/lib');
}

describe('install, list, info, files, owns, verify, remove under a temp root', () => {
  const s = scratch();
  const root = join(s.dir, 'root');
  let expected: Map<string, string>;
  before(() => {
    mkdirSync(root);
    mkdirSync(join(s.dir, 'x'));
    mustRun('tar', ['-xJf', REAL.archive, '-C', join(s.dir, 'x')]);
    expected = treeDigest(join(s.dir, 'x'));
  });
  after(() => s.cleanup());

  it('installs the real archive: the tree is byte-identical; source leads to it, build to its headers-only dir (no include/: DKMS skips)', () => {
    const r = json<{status: string; release: string; path: string}>(['install', REAL.archive, '--root', root, '--config', REAL.config]);
    assert.equal(r.status, 'installed');
    assert.equal(r.path, join(root, TREE), 'where the tree really is');
    assert.deepEqual(treeDigest(join(root, TREE), addedByKhpkg), expected);
    assert.match(readFileSync(join(root, TREE, 'Makefile'), 'utf8'), /^\$\(error khpkg: .* is a headers-only tree/m);
    assert.equal(readlinkSync(join(root, 'lib/modules', REL, 'source')), `../../../${TREE}`, 'relative under a --root: it resolves from the host too');
    assert.equal(readlinkSync(join(root, 'lib/modules', REL, 'build')), `../../../${TREE}/headers-only`);
    // What DKMS asks (test -e build/include) says no headers; what bpftrace and libbpf look for under build/ is there.
    assert.equal(existsSync(join(root, 'lib/modules', REL, 'build/include')), false);
    assert.ok(existsSync(join(root, 'lib/modules', REL, 'build/arch/x86/include/generated/asm/orc_hash.h')));
    assert.match(readFileSync(join(root, 'lib/modules', REL, 'build/Makefile'), 'utf8'), /is a headers-only tree/);
    assert.deepEqual(readFileSync(join(root, TREE, 'include/linux/version.h')), readFileSync(join(root, TREE, 'include/generated/uapi/linux/version.h')));
    assert.deepEqual(readFileSync(join(root, TREE, '.config')), readFileSync(REAL.config));
    const st = readdirSync(join(root, 'usr/src'));
    assert.deepEqual(st, [`linux-headers-${REL}`], 'no staging dir left');
  });

  it('list --json, info and files describe it', () => {
    const list = json<Record<string, unknown>[]>(['list', '--root', root]);
    assert.equal(list.length, 1);
    assert.deepEqual(Object.keys(list[0]!).sort(), [
      'arch',
      'bytes',
      'files',
      'installedAt',
      'path',
      'rel',
      'release',
      'running',
      'sourceSha256',
      'version',
      'via',
    ]);
    assert.equal(list[0]!.release, REL);
    assert.equal(list[0]!.version, '6.12.117');
    assert.equal(list[0]!.arch, 'amd64');
    assert.equal(list[0]!.sourceSha256, REAL.sha256);
    assert.equal(
      list[0]!.files,
      6686 + 9,
      'archive files and links + .config, auto.conf, the Makefile stub, the version.h link, the headers-only dir’s Makefile, arch and .config links, the build and source links',
    );
    assert.equal(list[0]!.running, false);
    const info = json<Record<string, unknown>>(['info', REL, '--root', root]);
    assert.equal(info.layout, 'debian');
    assert.equal(info.sourceKind, 'file');
    assert.match(String(info.configSha256), /^[0-9a-f]{64}$/);
    const files = khpkg(['files', REL, '--root', root]).stdout.trim().split('\n');
    assert.ok(files.includes(join(root, TREE, 'include/linux/kconfig.h')), 'paths where the files really are');
    assert.ok(files.includes(join(root, `lib/modules/${REL}/build`)));
    assert.ok(files.includes(join(root, `lib/modules/${REL}/source`)));
  });

  it('owns names the set for its files (like dpkg -S) and exits 1 for others', () => {
    const o = json<{release: string}[]>(['owns', `/${TREE}/include/linux/kconfig.h`, '--root', root]);
    assert.deepEqual(
      o.map((x) => x.release),
      [REL],
    );
    assert.equal(khpkg(['owns', join(root, TREE, 'include/linux/sched.h'), '--root', root]).code, 0, 'a path given under the root works too');
    const none = khpkg(['owns', '/etc/passwd', '--root', root]);
    assert.equal(none.code, 1);
    assert.equal(none.stderr, 'khpkg: /etc/passwd belongs to no installed header set\n');
  });

  it('verify is clean, then names a changed byte, a changed mode and a missing file, exit 1', () => {
    assert.equal(khpkg(['verify', '--root', root]).code, 0);
    const kref = join(root, TREE, 'include/linux/kref.h');
    const bytes = readFileSync(kref);
    bytes[10] ^= 1;
    writeFileSync(kref, bytes);
    chmodSync(join(root, TREE, 'include/linux/list.h'), 0o600);
    rmSync(join(root, TREE, 'include/linux/sched.h'));
    const r = khpkg(['verify', REL, '--root', root]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, new RegExp(`^changed-content +${join(root, TREE).replace(/[.+]/g, '\\$&')}/include/linux/kref\\.h \\(sha256 differs\\)$`, 'm'));
    assert.match(r.stdout, /^changed-mode +\/.*\/include\/linux\/list\.h \(mode 600, expected 644\)$/m);
    assert.match(r.stdout, /^missing +\/.*\/include\/linux\/sched\.h \(file is missing\)$/m);
    const j = khpkg(['verify', '--root', root, '--json']);
    assert.equal(j.code, 1);
    assert.deepEqual((JSON.parse(j.stdout) as {problem: string}[]).map((p) => p.problem).sort(), ['changed-content', 'changed-mode', 'missing']);
  });

  it('install again: the same headers are "unchanged" however compressed, damage is noticed and repaired, other content needs --force', async () => {
    // The previous test damaged the set: a changed mode and a missing file (a same-size byte change needs verify's full rehash).
    const damaged = khpkg(['install', REAL.archive, '--root', root, '--config', REAL.config]);
    assert.equal(damaged.code, 1);
    assert.match(
      damaged.stderr,
      /^khpkg: headers for 6\.12\.117\+deb12-amd64 are installed but damaged: 2 file\(s\) changed or missing .*'khpkg install --reinstall'/,
    );
    assert.equal(json<{status: string}>(['install', REAL.archive, '--root', root, '--reinstall']).status, 'reinstalled');
    assert.equal(khpkg(['verify', '--root', root]).code, 0, 'the reinstalled tree is whole again');
    const gz = join(s.dir, 'same-tree.tar.gz');
    writeFileSync(gz, gzipSync(mustRunBuffer('xz', ['-dc', REAL.archive])));
    assert.equal(json<{status: string}>(['install', gz, '--root', root]).status, 'unchanged', 'the same tar, gzipped: the same headers');
    const other = withExtraHeader(join(s.dir, 'x2'), 'khpkg-extra.h', join(s.dir, 'other.tar.xz'));
    const refused = khpkg(['install', other, '--root', root]);
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /^khpkg: headers for 6\.12\.117\+deb12-amd64 are installed from other content \(installed [0-9a-f]{12}…, this archive [0-9a-f]{12}…\): pass --force to replace them\n$/,
    );
    const forced = json<{status: string}>(['install', other, '--root', root, '--force']);
    assert.equal(forced.status, 'replaced');
    assert.equal(khpkg(['verify', '--root', root]).code, 0, 'the replaced tree is whole again');
    assert.equal(existsSync(join(root, TREE, '.config')), false, 'the new install had no config');
    assert.ok(existsSync(join(root, TREE, 'include/linux/khpkg-extra.h')));
    assert.deepEqual(readdirSync(join(root, 'usr/src')), [`linux-headers-${REL}`], 'old tree and stage are gone');
  });

  it('remove keeps a user file, reports it, and otherwise leaves the root as it was', () => {
    writeFileSync(join(root, TREE, 'include/mine.h'), 'mine\n');
    const [r] = json<{removed: number; kept: string[]}[]>(['remove', REL, '--root', root]);
    assert.deepEqual(r!.kept, [`${TREE}/include/mine.h`]);
    // The shared system dirs stay: base-files and the kernel's package own them on a real system.
    assert.deepEqual(rootListing(root), [
      'lib',
      'lib/modules',
      'usr',
      'usr/src',
      `usr/src/linux-headers-${REL}`,
      `usr/src/linux-headers-${REL}/include`,
      `usr/src/linux-headers-${REL}/include/mine.h`,
    ]);
    const gone = khpkg(['remove', REL, '--root', root]);
    assert.equal(gone.code, 0, 'removing what is gone is done already, as apt remove says');
    assert.equal(gone.stderr, `khpkg: warning: headers for ${REL} are not installed; nothing to remove\n`);
  });

  it('a fresh root is left as it was after install + remove, but for the registry and the shared system dirs', async () => {
    const fresh = join(s.dir, 'fresh');
    mkdirSync(fresh);
    const small = join(s.dir, 'small.tar.xz');
    writeFileSync(small, await kheadersArchive());
    assert.equal(khpkg(['install', small, '--root', fresh, '-q']).code, 0);
    assert.equal(khpkg(['remove', '6.1.0-test', '--root', fresh, '-q']).code, 0);
    assert.deepEqual(rootListing(fresh), ['lib', 'lib/modules', 'usr', 'usr/src'], 'lib/modules/6.1.0-test, which it made, went');
  });

  it('runs <root>/etc/kernel/header_postinst.d hooks with the release when asked (--hooks)', async () => {
    const hroot = join(s.dir, 'hooks');
    mkdirSync(join(hroot, 'etc/kernel/header_postinst.d'), {recursive: true});
    writeFileSync(join(hroot, 'etc/kernel/header_postinst.d/dkms'), '#!/bin/sh\necho "$1" >> "$DPKG_ROOT/hook.log"\n', {mode: 0o755});
    writeFileSync(join(hroot, 'etc/kernel/header_postinst.d/not.run'), '#!/bin/sh\necho bad >> "$DPKG_ROOT/hook.log"\n', {mode: 0o755});
    const small = join(s.dir, 'small.tar.xz');
    writeFileSync(small, await kheadersArchive());
    assert.equal(khpkg(['install', small, '--root', hroot, '-q']).code, 0);
    assert.equal(existsSync(join(hroot, 'hook.log')), false, 'not by default under another root');
    assert.equal(khpkg(['remove', '6.1.0-test', '--root', hroot, '-q']).code, 0);
    assert.equal(khpkg(['install', small, '--root', hroot, '--hooks', '-q']).code, 0);
    assert.equal(readFileSync(join(hroot, 'hook.log'), 'utf8'), '6.1.0-test\n', 'run-parts names only, with the release');
  });

  it('a failing hook: installed anyway, exit 1 naming the hook', async () => {
    const froot = join(s.dir, 'failhook');
    mkdirSync(join(froot, 'etc/kernel/header_postinst.d'), {recursive: true});
    writeFileSync(join(froot, 'etc/kernel/header_postinst.d/broken'), '#!/bin/sh\nexit 3\n', {mode: 0o755});
    const small = join(s.dir, 'small.tar.xz');
    const r = khpkg(['install', small, '--root', froot, '--hooks', '-q']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^khpkg: headers installed, but the hook .*\/broken failed with exit 3\n$/);
    assert.equal(json<unknown[]>(['list', '--root', froot]).length, 1);
  });

  it('refuses a tree or build link khpkg did not make, unless --force', async () => {
    const droot = join(s.dir, 'distro');
    mkdirSync(join(droot, 'usr/src/linux-headers-6.1.0-test/include'), {recursive: true});
    const small = join(s.dir, 'small.tar.xz');
    const r = khpkg(['install', small, '--root', droot]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'khpkg: /usr/src/linux-headers-6.1.0-test exists and khpkg did not install it: remove it, or pass --force to replace it\n');
    assert.equal(khpkg(['install', small, '--root', droot, '--force', '-q']).code, 0);
    assert.equal(khpkg(['verify', '--root', droot]).code, 0);
  });

  it('--layout kernels installs to /usr/src/kernels/<release>', async () => {
    const kroot = join(s.dir, 'kernels');
    mkdirSync(kroot);
    const small = join(s.dir, 'small.tar.xz');
    assert.equal(khpkg(['install', small, '--root', kroot, '--layout', 'kernels', '-q']).code, 0);
    assert.equal(readlinkSync(join(kroot, 'lib/modules/6.1.0-test/build')), '../../../usr/src/kernels/6.1.0-test');
    assert.ok(existsSync(join(kroot, 'usr/src/kernels/6.1.0-test/include/linux/kconfig.h')));
  });

  it('in a merged-/usr root (lib -> usr/lib) the relative build link still leads to the tree, and remove takes it', async () => {
    const mroot = join(s.dir, 'merged');
    mkdirSync(join(mroot, 'usr/lib'), {recursive: true});
    symlinkSync('usr/lib', join(mroot, 'lib'));
    const small = join(s.dir, 'small.tar.xz');
    assert.equal(khpkg(['install', small, '--root', mroot, '-q']).code, 0);
    const link = join(mroot, 'lib/modules/6.1.0-test/source');
    assert.equal(readlinkSync(link), '../../../src/linux-headers-6.1.0-test', 'relative to where the link really is: usr/lib/modules/<rel>');
    assert.equal(realpathSync(link), realpathSync(join(mroot, 'usr/src/linux-headers-6.1.0-test')));
    assert.equal(khpkg(['verify', '--root', mroot]).code, 0);
    assert.equal(khpkg(['remove', '6.1.0-test', '--root', mroot, '-q']).code, 0);
    assert.equal(existsSync(join(mroot, 'usr/lib/modules/6.1.0-test/build')), false);
    assert.equal(existsSync(join(mroot, 'usr/lib/modules/6.1.0-test/source')), false);
  });

  it('a non-root user gets one line before any work when the root is not writable', function () {
    const ro = join(s.dir, 'readonly');
    mkdirSync(ro, {mode: 0o755});
    chmodSync(s.dir, 0o755);
    const {node, bin} = runnableByOthers();
    const archive = join(s.dir, 'readable.tar.xz'); // the checkout itself may be unreadable to nobody (a clone in /root)
    copyFileSync(REAL.archive, archive);
    chmodSync(archive, 0o644);
    const r = mustRunAs('nobody', [node, bin, 'install', archive, '--root', ro]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^khpkg: .*readonly is not writable \(not root: run with sudo, or pass --root DIR that you own\)\n$/);
    assert.deepEqual(readdirSync(ro), []);
  });
});

function mustRunBuffer(cmd: string, args: string[]): Buffer {
  const {spawnSync} = createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process');
  const r = spawnSync(cmd, args, {maxBuffer: 256 << 20});
  assert.equal(r.status, 0);
  return r.stdout;
}

function mustRunAs(user: string, argv: string[]): {code: number; stderr: string} {
  const {spawnSync} = createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process');
  const r = spawnSync('runuser', ['-u', user, '--', ...argv], {env: {...process.env, KHPKG_ROOT: '/nonexistent'}});
  if (r.error) throw r.error;
  return {code: r.status ?? -1, stderr: r.stderr.toString()};
}

describe('install from a .deb or .rpm that khpkg built (no dpkg or rpm needed)', () => {
  const s = scratch();
  after(() => s.cleanup());

  it('gives the same tree and registry rows as installing the archive itself', () => {
    const out = join(s.dir, 'pkgs');
    const {packages: built} = json<{packages: {format: string; path: string}[]}>([...BUILD_REAL, '-f', 'deb', '-f', 'rpm', '-z', 'zstd', '--out', out]);
    const rows: Record<string, unknown>[] = [];
    const trees: Map<string, string>[] = [];
    for (const [name, source] of [
      ['archive', REAL.archive],
      ['deb', built[0]!.path],
      ['rpm', built[1]!.path],
    ] as const) {
      const root = join(s.dir, name);
      mkdirSync(root);
      const args = name === 'archive' ? ['--config', REAL.config] : [];
      assert.equal(khpkg(['install', source, '--root', root, '-q', ...args]).code, 0, name);
      trees.push(treeDigest(join(root, TREE)));
      const info = json<Record<string, unknown>>(['info', REL, '--root', root]);
      assert.equal(info.sourceKind, name === 'archive' ? 'file' : name);
      assert.equal(info.sourcePath, source);
      // Paths name each root: compare what the sets hold, relative to their roots.
      const files = json<{path?: string; rel: string}[]>(['files', REL, '--root', root]).map(({path: _path, ...f}) => f);
      rows.push({...info, path: undefined, sourceKind: undefined, sourcePath: undefined, installedAt: undefined, files});
    }
    assert.deepEqual(trees[1], trees[0], 'deb tree');
    assert.deepEqual(trees[2], trees[0], 'rpm tree');
    assert.deepEqual(rows[1], rows[0], 'deb registry rows');
    assert.deepEqual(rows[2], rows[0], 'rpm registry rows');
    assert.equal((rows[0] as {sourceSha256: string}).sourceSha256, REAL.sha256, 'the archive the package came from');
  });

  it('a package neither khpkg built nor a kernel package is refused with one line', () => {
    const foreign = join(s.dir, 'foreign.deb');
    const pkg = join(s.dir, 'foreign');
    mkdirSync(join(pkg, 'DEBIAN'), {recursive: true});
    writeFileSync(join(pkg, 'DEBIAN/control'), 'Package: foreign\nVersion: 1\nArchitecture: all\nMaintainer: x <x@example.org>\nDescription: not ours\n');
    mustRun('dpkg-deb', ['--root-owner-group', '-b', pkg, foreign]);
    const r = khpkg(['install', foreign, '--root', join(s.dir, 'archive')]);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      `khpkg: ${foreign}: foreign is a .deb neither built by khpkg (its description names no kheaders archive) nor a kernel package (no lib/modules/<release>/ or /boot/vmlinuz-<release> in it)\n`,
    );
  });
});

describe('prune and status', () => {
  const s = scratch();
  after(() => s.cleanup());

  it('prune removes only sets whose kernel is gone; --dry-run only says so', async () => {
    const root = join(s.dir, 'prune');
    mkdirSync(root);
    for (const rel of ['6.1.0-kept', '6.1.0-gone']) {
      const f = join(s.dir, `${rel}.tar.xz`);
      writeFileSync(f, await kheadersArchive({release: rel}));
      assert.equal(khpkg(['install', f, '--root', root, '-q']).code, 0);
    }
    writeFileSync(join(root, 'lib/modules/6.1.0-kept/modules.dep'), '');
    assert.deepEqual(
      json<{release: string}[]>(['prune', '--root', root, '--dry-run']).map((p) => p.release),
      ['6.1.0-gone'],
    );
    assert.equal(json<unknown[]>(['list', '--root', root]).length, 2, 'dry run changed nothing');
    assert.equal(khpkg(['prune', '--root', root]).stdout, 'removed 6.1.0-gone\n');
    assert.deepEqual(
      json<{release: string}[]>(['list', '--root', root]).map((p) => p.release),
      ['6.1.0-kept'],
    );
  });

  it("status says whether the running kernel's headers are installed and current, and what to run", () => {
    const root = join(s.dir, 'status');
    mkdirSync(root);
    const env = {KHPKG_KHEADERS: REAL.archive, KHPKG_RUNNING_RELEASE: REL, KHPKG_PROC_CONFIG: join(s.dir, 'none')};
    const before = json<{installed: boolean; kheaders: string; advice: string}>(['status', '--root', root], env);
    assert.equal(before.kheaders, 'present');
    assert.equal(before.installed, false);
    assert.equal(before.advice, "run 'khpkg install' to install this kernel's headers");
    assert.equal(khpkg(['install', '--root', root, '-q'], {env}).code, 0, 'no SOURCE: the running kernel');
    const now = json<{current: boolean; advice: string}>(['status', '--root', root], env);
    assert.equal(now.current, true);
    assert.equal(now.advice, 'headers are installed and current');
    assert.equal(json<{running: boolean}[]>(['list', '--root', root], env)[0]!.running, true);
    const rebuilt = json<{current: boolean; advice: string}>(['status', '--root', root], {
      ...env,
      KHPKG_KHEADERS: join(s.dir, 'prune', 'lib/modules/6.1.0-kept/modules.dep'),
    });
    assert.equal(rebuilt.current, false);
    assert.match(rebuilt.advice, /rebuilt since: run 'khpkg install --force'/);
  });
});
