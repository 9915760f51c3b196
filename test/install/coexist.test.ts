import assert from 'node:assert/strict';
import {spawn, spawnSync} from 'node:child_process';
import {appendFileSync, chmodSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, symlinkSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {REAL} from '../helpers/kheaders.js';
import {dpkgRoot, rpmRoot} from '../helpers/roots.js';
import {khpkg, mustRun, scratch, tool} from '../helpers/run.js';

const REL = REAL.release;
const DEB_TREE = `usr/src/linux-headers-${REL}`;
const LINK = `lib/modules/${REL}/build`;
const BIN = new URL('../../bin/run.js', import.meta.url).pathname;

/** No staging, scan or old tree of khpkg's anywhere under the tree parents. */
function leftovers(root: string): string[] {
  return ['usr/src', 'usr/src/kernels'].flatMap((d) => (existsSync(join(root, d)) ? readdirSync(join(root, d)).filter((n) => n.startsWith('.khpkg-')) : []));
}

describe('living beside dpkg, rpm and the user', function () {
  const s = scratch();
  let debs: string;
  before(() => {
    debs = join(s.dir, 'pkgs');
    const r = khpkg(['build', REAL.archive, '--config', REAL.config, '-o', debs, '-f', 'deb', '-f', 'rpm', '-z', 'gzip', '--root', join(s.dir)]);
    assert.equal(r.code, 0, r.stderr);
  });
  after(() => s.cleanup());
  const pkg = (ext: string): string =>
    join(
      debs,
      readdirSync(debs).find((f) => f.endsWith(ext))!,
    );

  for (const [what, makeDeb] of [
    ['a linux-headers .deb khpkg built', () => pkg('.deb')],
    [
      'a linux-headers .deb dpkg-deb built from the bundled archive',
      () => {
        const tree = join(s.dir, 'dpkg-deb-tree');
        mkdirSync(join(tree, DEB_TREE), {recursive: true});
        mkdirSync(join(tree, 'DEBIAN'));
        mustRun('tar', ['-xJf', REAL.archive, '-C', join(tree, DEB_TREE)]);
        mkdirSync(join(tree, `lib/modules/${REL}`), {recursive: true});
        symlinkSync(`/${DEB_TREE}`, join(tree, LINK));
        writeFileSync(
          join(tree, 'DEBIAN/control'),
          `Package: linux-headers-${REL}\nVersion: 6.12.117-1~deb12u1\nArchitecture: amd64\nMaintainer: Debian Kernel Team <debian-kernel@lists.debian.org>\nDescription: Header files for Linux ${REL}\n`,
        );
        const out = join(s.dir, 'distro.deb');
        mustRun('dpkg-deb', ['--root-owner-group', '-Zgzip', '--build', tree, out]);
        return out;
      },
    ],
  ] as const) {
    it(`refuses to touch ${what} installed by dpkg, --force or not; dpkg -V stays clean`, () => {
      const root = join(s.dir, `dpkg-${what.length}`);
      dpkgRoot(root);
      mustRun('dpkg', [`--root=${root}`, '--force-script-chrootless', '-i', makeDeb()]);
      for (const force of [[], ['--force'], ['--reinstall'], ['--force', '--layout', 'debian']]) {
        const r = khpkg(['install', REAL.archive, '--root', root, ...force]);
        assert.equal(r.code, 1, r.stderr);
        assert.match(
          r.stderr,
          new RegExp(
            `^khpkg: /${DEB_TREE.replace(/\+/g, '\\+')} belongs to the dpkg package linux-headers-${REL.replace(/\+/g, '\\+')}: khpkg will not overwrite it, --force or not\\. .*apt remove linux-headers-.*khpkg install --via dpkg\\n$`,
          ),
        );
      }
      assert.equal(tool('dpkg', [`--root=${root}`, '-V']).stdout, '', 'dpkg -V reports nothing changed');
      assert.deepEqual(leftovers(root), []);
      assert.equal(existsSync(join(root, 'var/lib/khpkg/registry.db')) ? JSON.parse(khpkg(['list', '--root', root, '--json']).stdout).length : 0, 0);
    });
  }

  it('refuses to touch a kernel-devel rpm installed by rpm, --force or not; rpm -V stays clean', () => {
    const root = join(s.dir, 'rpm');
    mustRun('rpm', [...rpmRoot(root), '-i', '--nodeps', pkg('.rpm')]);
    for (const force of [[], ['--force']]) {
      const r = khpkg(['install', REAL.archive, '--root', root, '--layout', 'kernels', ...force]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(
        r.stderr,
        /^khpkg: \/usr\/src\/kernels\/.* belongs to the rpm package kernel-devel-6\.12\.117\+deb12_amd64-1\.x86_64: .*rpm -e kernel-devel-.*--via rpm\n$/,
      );
    }
    // The debian layout's tree is free, but the build link is rpm's.
    const link = khpkg(['install', REAL.archive, '--root', root, '--force']);
    assert.equal(link.code, 1);
    assert.match(link.stderr, new RegExp(`/${LINK.replace(/\+/g, '\\+')} belongs to the rpm package`));
    assert.equal(tool('rpm', ['--root', root, '-V', 'kernel-devel']).stdout, '', 'rpm -V reports nothing changed');
    assert.deepEqual(leftovers(root), []);
  });

  it("keeps the root's own /usr/src and /lib/modules/<rel>: install then remove leaves them as they were", () => {
    const root = join(s.dir, 'system');
    mkdirSync(join(root, `lib/modules/${REL}/kernel`), {recursive: true});
    mkdirSync(join(root, 'usr/src'), {recursive: true});
    writeFileSync(join(root, `lib/modules/${REL}/modules.dep`), '');
    assert.equal(khpkg(['install', REAL.archive, '--root', root]).code, 0);
    const files = khpkg(['files', REL, '--root', root]).stdout.split('\n');
    for (const shared of ['usr', 'usr/src', 'lib', 'lib/modules', `lib/modules/${REL}`])
      assert.ok(!files.includes(join(root, shared)), `/${shared} is not the set's`);
    assert.ok(files.includes(join(root, LINK)) && files.includes(join(root, DEB_TREE)));
    assert.equal(khpkg(['remove', REL, '--root', root]).code, 0);
    assert.ok(
      existsSync(join(root, 'usr/src')) && existsSync(join(root, `lib/modules/${REL}/kernel`)) && existsSync(join(root, `lib/modules/${REL}/modules.dep`)),
    );
    assert.equal(existsSync(join(root, LINK)), false);
    assert.equal(existsSync(join(root, DEB_TREE)), false);

    // In an empty root, the dirs the set made for itself go with it; the shared ones stay.
    const empty = join(s.dir, 'empty');
    mkdirSync(empty);
    assert.equal(khpkg(['install', REAL.archive, '--root', empty]).code, 0);
    assert.ok(
      khpkg(['files', REL, '--root', empty])
        .stdout.split('\n')
        .includes(join(empty, `lib/modules/${REL}`)),
      'it made lib/modules/<rel>',
    );
    assert.equal(khpkg(['remove', REL, '--root', empty]).code, 0);
    assert.equal(existsSync(join(empty, `lib/modules/${REL}`)), false);
    assert.ok(existsSync(join(empty, 'usr/src')) && existsSync(join(empty, 'lib/modules')));
  });

  it('knows the same headers by content: recompressed, and without --config again, it is nothing to do', () => {
    const root = join(s.dir, 'identity');
    mkdirSync(root);
    assert.equal(khpkg(['install', REAL.archive, '--root', root, '--config', REAL.config]).code, 0);
    const threaded = join(s.dir, 'threaded.tar.xz');
    mustRun('sh', ['-c', `xz -dc '${REAL.archive}' | xz -T2 -3 -c > '${threaded}'`]);
    const again = khpkg(['install', threaded, '--root', root, '--json']);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(JSON.parse(again.stdout).status, 'unchanged');
    assert.deepEqual(leftovers(root), []);
    // Another config is another set of headers: refused without --force, naming both digests.
    const config = join(s.dir, 'other.config');
    writeFileSync(config, `${readFileSync(REAL.config, 'utf8')}# the same symbols, saved by another tool\n`);
    const other = khpkg(['install', threaded, '--root', root, '--config', config]);
    assert.equal(other.code, 1);
    assert.match(
      other.stderr,
      /^khpkg: headers for .* are installed with another config \(installed [0-9a-f]{12}…, given [0-9a-f]{12}…\): pass --force to replace it\n$/,
    );
  });

  it('notices damage on install, and --reinstall repairs it keeping what the user added', () => {
    const root = join(s.dir, 'repair');
    mkdirSync(root);
    assert.equal(khpkg(['install', REAL.archive, '--root', root, '--config', REAL.config]).code, 0);
    const tree = join(root, DEB_TREE);
    appendFileSync(join(tree, 'include/linux/sched.h'), 'garbage\n');
    chmodSync(join(tree, 'include/linux/kref.h'), 0o600);
    writeFileSync(join(tree, 'include/linux/mine.h'), '#define MINE 1\n');
    tool('rm', ['-f', join(root, LINK)]);
    symlinkSync('/etc/passwd', join(root, LINK));
    const noticed = khpkg(['install', REAL.archive, '--root', root]);
    assert.equal(noticed.code, 1);
    assert.match(
      noticed.stderr,
      /^khpkg: headers for .* are installed but damaged: 3 file\(s\) changed or missing \(see 'khpkg verify .*'\): run 'khpkg install --reinstall'/,
    );
    const r = khpkg(['install', REAL.archive, '--root', root, '--reinstall', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout);
    assert.equal(result.status, 'reinstalled');
    assert.deepEqual(result.kept, [`${DEB_TREE}/include/linux/mine.h`]);
    assert.equal(khpkg(['verify', REL, '--root', root]).code, 0, 'verify is clean after the repair');
    assert.equal(readFileSync(join(tree, 'include/linux/mine.h'), 'utf8'), '#define MINE 1\n');
    assert.ok(readFileSync(join(tree, '.config')).equals(readFileSync(REAL.config)), 'the config it was installed with is kept');
    // --force replacement keeps the user's file too, as dpkg does on upgrade.
    const forced = JSON.parse(khpkg(['install', REAL.archive, '--root', root, '--force', '--json']).stdout);
    assert.deepEqual(forced.kept, [`${DEB_TREE}/include/linux/mine.h`]);
    assert.equal(khpkg(['verify', REL, '--root', root]).code, 0);
  });

  it('SIGINT at several moments of an install leaves no scan or staging dir, exits 130 every time, and the next install works', async function () {
    this.timeout(240_000);
    const root = join(s.dir, 'sigint');
    mkdirSync(root);
    /** An install of the real archive; resolves when it ends, with when its scan dir appeared (the work began: the handler is set). */
    const install = (at?: (began: number) => number) => {
      const t0 = Date.now();
      const child = spawn(process.execPath, [BIN, 'install', REAL.archive, '--root', root, '--force'], {stdio: ['ignore', 'ignore', 'pipe']});
      let stderr = '';
      let began = 0;
      let sent = false;
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const poll = setInterval(() => {
        if (!began && leftovers(root).some((n) => n.includes('.khpkg-scan-'))) began = Date.now() - t0;
        if (began && at && !sent && Date.now() - t0 >= at(began)) {
          sent = child.kill('SIGINT');
        }
      }, 5);
      return new Promise<{code: number | null; stderr: string; began: number; took: number; sent: boolean}>((r) =>
        child.on('close', (code) => {
          clearInterval(poll);
          r({code, stderr, began, took: Date.now() - t0, sent});
        }),
      );
    };
    // How long the whole install takes on this machine, so the signals land inside its work however fast it is.
    const whole = await install();
    assert.equal(whole.code, 0, whole.stderr);
    assert.ok(whole.began > 0, 'the install wrote its tree into a scan dir first');
    assert.equal(khpkg(['remove', REL, '--root', root, '-q']).code, 0);
    // Moments after the work began, never past 60% of how long it lasted here (a later run may be faster: other tests share the cores).
    const work = whole.took - whole.began;
    for (const ms of [0, 100, 300, 600, 1000].map((d) => Math.min(d, 0.6 * work))) {
      const r = await install((began) => began + ms);
      assert.ok(r.sent, `the signal was sent ${ms} ms into the install's work`);
      assert.equal(r.code, 130, `exit ${r.code} when interrupted ${ms} ms into the work: ${r.stderr}`);
      assert.match(r.stderr, /khpkg: interrupted \(SIGINT\)/);
      assert.deepEqual(leftovers(root), [], `nothing left after a SIGINT ${ms} ms into the work`);
      const listed = khpkg(['list', '--root', root, '--json']);
      assert.equal(listed.code, 0, listed.stderr);
      if (JSON.parse(listed.stdout).length > 0) assert.equal(khpkg(['remove', REL, '--root', root, '-q']).code, 0);
    }
    assert.equal(khpkg(['install', REAL.archive, '--root', root, '--force']).code, 0);
    assert.equal(khpkg(['verify', REL, '--root', root]).code, 0);
  });

  it('a registry dir linked out of the root is refused, and nothing is written there', () => {
    const root = join(s.dir, 'escape');
    const outside = join(s.dir, 'outside');
    mkdirSync(join(root, 'var/lib'), {recursive: true});
    mkdirSync(outside);
    symlinkSync(outside, join(root, 'var/lib/khpkg'));
    const r = khpkg(['install', REAL.archive, '--root', root]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^khpkg: .*var\/lib\/khpkg is a symlink out of the root/);
    assert.deepEqual(readdirSync(outside), []);
    assert.equal(existsSync(join(root, DEB_TREE)), false);
    assert.deepEqual(leftovers(root), []);
  });

  it('prune in a root without modules asks first: without a terminal it needs --yes', () => {
    const root = join(s.dir, 'sysroot');
    mkdirSync(root);
    assert.equal(khpkg(['install', REAL.archive, '--root', root]).code, 0);
    const r = khpkg(['prune', '--root', root]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^khpkg: prune would remove 1 header set\(s\), every one installed \(.*\): pass --yes to confirm, or --dry-run to list them\n$/);
    assert.equal(JSON.parse(khpkg(['list', '--root', root, '--json']).stdout).length, 1, 'nothing removed');
    assert.equal(khpkg(['prune', '--root', root, '--yes']).code, 0);
    assert.deepEqual(JSON.parse(khpkg(['list', '--root', root, '--json']).stdout), []);
  });

  it('build records only where asked; list --built marks packages whose file is gone, prune --built forgets them', () => {
    const before = existsSync('/var/lib/khpkg/registry.db');
    const out = join(s.dir, 'unrecorded');
    const plain = khpkg(['build', REAL.archive, '-o', out, '-z', 'zstd'], {env: {KHPKG_ROOT: undefined}});
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(existsSync('/var/lib/khpkg/registry.db'), before, 'a build without --root makes no registry in /');

    const root = join(s.dir, 'records');
    mkdirSync(root);
    const built = JSON.parse(khpkg(['build', REAL.archive, '-o', join(s.dir, 'rec'), '-z', 'zstd', '--root', root, '--json']).stdout).packages as {
      path: string;
    }[];
    const listed = (): {path: string; present: boolean}[] => JSON.parse(khpkg(['list', '--built', '--root', root, '--json']).stdout);
    assert.deepEqual(
      listed().map((a) => a.present),
      [true],
    );
    tool('rm', ['-f', built[0]!.path]);
    assert.deepEqual(
      listed().map((a) => a.present),
      [false],
    );
    assert.equal(khpkg(['prune', '--built', '--root', root]).code, 0);
    assert.deepEqual(listed(), []);
  });

  it('system errors are one line naming the path, with no stack trace', () => {
    const file = join(s.dir, 'a-file');
    writeFileSync(file, '');
    const out = khpkg(['build', REAL.archive, '-o', file]);
    assert.equal(out.code, 2);
    assert.equal(out.stderr, `khpkg: --out ${file}: not a directory\n`);
    const repo = khpkg(['repo', join(s.dir, 'repo'), join(s.dir, 'missing.rpm')]);
    assert.equal(repo.code, 1);
    assert.equal(repo.stderr, `khpkg: ${join(s.dir, 'missing.rpm')}: no such file or directory\n`);

    const root = join(s.dir, 'full');
    mkdirSync(root);
    assert.equal(khpkg(['install', REAL.archive, '--root', root]).code, 0);
    const full = spawnFull(['list', '--json', '--root', root]);
    assert.equal(full.code, 1);
    assert.equal(full.stderr, 'khpkg: standard output: no space left on device\n');
    const fullSlow = spawnFull(['info', REL, '--json', '--root', root]);
    assert.equal(fullSlow.code, 1);
    assert.equal(fullSlow.stderr, 'khpkg: standard output: no space left on device\n');

    // A damaged registry: one line with the fix, from every read command.
    const db = join(root, 'var/lib/khpkg/registry.db');
    const bytes = readFileSync(db);
    bytes.fill(0x41, 100, Math.min(bytes.length, 8192));
    writeFileSync(db, bytes);
    tool('rm', ['-f', `${db}-wal`, `${db}-shm`]);
    for (const args of [['list'], ['info', REL], ['doctor']]) {
      const r = khpkg([...args, '--root', root]);
      assert.equal(r.code, 1, `${args[0]}: ${r.stderr}`);
      assert.match(r.stderr, /^khpkg: registry .*registry\.db is damaged.*run 'khpkg doctor --rebuild'.*\n$/, args[0]);
      assert.doesNotMatch(r.stderr, /\\x0a|internal error|\n\s+at /);
    }
  });
});

/** Runs khpkg with stdout on /dev/full. */
function spawnFull(args: string[]): {code: number; stderr: string} {
  const fd = openSync('/dev/full', 'w');
  try {
    const r = spawnSync(process.execPath, [BIN, ...args], {stdio: ['ignore', fd, 'pipe']});
    return {code: r.status ?? -1, stderr: r.stderr.toString()};
  } finally {
    closeSync(fd);
  }
}
