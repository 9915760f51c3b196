import assert from 'node:assert/strict';
import {createHash} from 'node:crypto';
import {existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {gunzipSync} from 'node:zlib';
import {testSigningKey, TEST_KEY} from '../helpers/gpg.js';
import {BUILD_REAL, REAL} from '../helpers/kheaders.js';
import {khpkg, mustRun, scratch, tool} from '../helpers/run.js';
import {pacmanArgs, pacmanRoot} from '../helpers/roots.js';
import {FORMATS} from '../../src/formats/table.js';

const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

/** A private APT: its own state, cache, sources and trusted keys, so the machine's apt is untouched. */
function privateApt(dir: string, source: string, key?: string): (args: string[]) => ReturnType<typeof tool> {
  for (const d of ['lists/partial', 'cache/archives/partial', 'etc/apt.conf.d', 'etc/preferences.d', 'etc/sources.list.d', 'etc/trusted.gpg.d'])
    mkdirSync(join(dir, d), {recursive: true});
  writeFileSync(join(dir, 'status'), '');
  writeFileSync(join(dir, 'etc/sources.list'), `${source}\n`);
  if (key) writeFileSync(join(dir, 'etc/trusted.gpg.d/khpkg-test.asc'), readFileSync(key));
  const conf = join(dir, 'apt.conf');
  writeFileSync(
    conf,
    [
      `Dir::State "${dir}";`,
      `Dir::State::Lists "${dir}/lists";`,
      `Dir::State::status "${dir}/status";`,
      `Dir::Cache "${dir}/cache";`,
      `Dir::Etc "${dir}/etc";`,
      `Dir::Etc::Trusted "${dir}/etc/trusted.gpg";`,
      `Dir::Etc::TrustedParts "${dir}/etc/trusted.gpg.d";`,
      'APT::Architecture "amd64";',
      'APT::Sandbox::User "root";',
      '',
    ].join('\n'),
  );
  return (args) => tool('apt-get', args, {env: {APT_CONFIG: conf}, cwd: dir});
}

/** dnf against the repo alone, in its own install root and cache. */
function privateDnf(dir: string, repo: string, opts: {gpg?: string} = {}): (args: string[]) => ReturnType<typeof tool> {
  mkdirSync(join(dir, 'root'), {recursive: true});
  const base = [
    '-y',
    '--disableplugin=local',
    `--installroot=${dir}/root`,
    '--setopt=reposdir=/dev/null',
    '--setopt=kh.skip_if_unavailable=0',
    `--setopt=cachedir=${dir}/cache`,
    '--releasever=1',
    `--repofrompath=kh,file://${repo}`,
    ...(opts.gpg ? ['--setopt=kh.gpgcheck=1', '--setopt=kh.repo_gpgcheck=1', `--setopt=kh.gpgkey=file://${opts.gpg}`] : ['--setopt=kh.gpgcheck=0']),
  ];
  return (args) => tool('dnf', [...base, ...args]);
}

function repoJson(
  args: string[],
  env: Record<string, string> = {},
): {added: {filename: string}[]; removed: string[]; packages: {deb: number; rpm: number; pacman: number; sysext: number}; read: number} {
  const r = khpkg(['repo', ...args, '--json'], {env});
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

describe('repo: one directory that apt and dnf both use', function () {
  const s = scratch();
  const out = join(s.dir, 'out');
  const pkgs: Record<'deb1' | 'rpm1' | 'deb2' | 'rpm2', string> = {deb1: '', rpm1: '', deb2: '', rpm2: ''};
  before(() => {
    for (const rev of ['1', '2']) {
      const r = khpkg(['build', REAL.archive, '--config', REAL.config, '-f', 'deb', '-f', 'rpm', '-z', 'zstd', '--revision', rev, '-o', out, '--json']);
      assert.equal(r.code, 0, r.stderr);
      const [deb, rpm] = (JSON.parse(r.stdout).packages as {format: string; path: string}[]).sort((a, b) => (a.format < b.format ? -1 : 1));
      pkgs[`deb${rev}` as 'deb1'] = deb!.path;
      pkgs[`rpm${rev}` as 'rpm1'] = rpm!.path;
    }
  });
  after(() => s.cleanup());

  it('an empty repository is a valid one: apt-get update and dnf makecache succeed, and no lock is published', () => {
    const empty = join(s.dir, 'empty');
    assert.deepEqual(repoJson([empty]).packages, {deb: 0, rpm: 0, pacman: 0, sysext: 0});
    for (const flat of [false, true]) {
      const dir = flat ? join(s.dir, 'empty-flat') : empty;
      if (flat) repoJson([dir, '--flat']);
      const apt = privateApt(join(s.dir, `apt-empty-${flat}`), `deb [trusted=yes] file:${dir} ${flat ? './' : 'stable main'}`);
      const up = apt(['update']);
      assert.equal(up.code, 0, up.stderr);
      assert.doesNotMatch(up.stderr + up.stdout, /^(E|W):/m, 'no error or warning from apt');
    }
    const dnf = privateDnf(join(s.dir, 'dnf-empty'), empty);
    const cache = dnf(['makecache']);
    assert.equal(cache.code, 0, cache.stderr);
    const published = mustRun('find', [empty, '-name', '*lock*']);
    assert.equal(published, '', 'the lock lives beside the repository, not in it');
  });

  describe('unsigned', () => {
    const repo = join(s.dir, 'plain');

    it('indexes what dpkg-scanpackages and createrepo_c would, for the same files', () => {
      const r = repoJson([repo, pkgs.deb1, pkgs.rpm1]);
      assert.deepEqual(r.packages, {deb: 1, rpm: 1, pacman: 0, sysext: 0});
      assert.equal(r.added.length, 2);
      // APT: the same paragraphs (digests, size, file name) as dpkg-scanpackages writes.
      const ours = readFileSync(join(repo, 'dists/stable/main/binary-amd64/Packages'), 'utf8');
      const theirs = mustRun('dpkg-scanpackages', ['-m', 'pool'], {cwd: repo});
      for (const field of ['Package', 'Version', 'Architecture', 'Filename', 'Size', 'MD5sum', 'SHA1', 'SHA256', 'Installed-Size']) {
        const pick = (t: string): string | undefined => new RegExp(`^${field}: (.*)$`, 'm').exec(t)?.[1];
        assert.equal(pick(ours), pick(theirs), field);
      }
      const release = readFileSync(join(repo, 'dists/stable/Release'), 'utf8');
      assert.match(release, new RegExp(` ${sha256(join(repo, 'dists/stable/main/binary-amd64/Packages.gz'))} +\\d+ main/binary-amd64/Packages.gz`));
      // RPM-MD: the same primary facts as createrepo_c finds in the same pool.
      const copy = join(s.dir, 'createrepo');
      mkdirSync(copy);
      mustRun('cp', ['-r', join(repo, 'pool'), copy]);
      mustRun('createrepo_c', ['-q', copy]);
      const primary = (d: string): string => {
        const file = readdirSync(join(d, 'repodata')).find((f) => f.endsWith('primary.xml.gz'))!;
        return gunzipSync(readFileSync(join(d, 'repodata', file))).toString('utf8');
      };
      const [a, b] = [primary(repo), primary(copy)];
      for (const re of [
        /<checksum type="sha256" pkgid="YES">(\w+)</,
        /<rpm:header-range start="(\d+)" end="(\d+)"/,
        /<size package="(\d+)" installed="(\d+)" archive="(\d+)"/,
        /<location href="([^"]+)"/,
        /<version [^>]*>/,
      ]) {
        assert.deepEqual(re.exec(a)?.slice(1), re.exec(b)?.slice(1), String(re));
      }
      const provides = (t: string): string[] =>
        [...t.matchAll(/<rpm:entry ([^>]*)\/>/g)]
          .map((m) => m[1]!)
          .filter((e) => !e.includes('rpmlib('))
          .sort();
      assert.deepEqual(provides(a), provides(b));
    });

    it('apt-get update sees linux-headers-<rel> and apt-get download fetches the very file', () => {
      const apt = privateApt(join(s.dir, 'apt-plain'), `deb [trusted=yes] file:${repo} stable main`);
      const up = apt(['update']);
      assert.equal(up.code, 0, up.stderr);
      const dl = apt(['download', `linux-headers-${REAL.release}`]);
      assert.equal(dl.code, 0, dl.stderr);
      const got = readdirSync(join(s.dir, 'apt-plain')).find((f) => f.endsWith('.deb'))!;
      assert.equal(sha256(join(s.dir, 'apt-plain', got)), sha256(pkgs.deb1));
    });

    it('dnf finds kernel-devel-uname-r = <rel> in it', () => {
      const dnf = privateDnf(join(s.dir, 'dnf-plain'), repo);
      const q = dnf(['repoquery', '--whatprovides', `kernel-devel-uname-r = ${REAL.release}`]);
      assert.equal(q.code, 0, q.stderr);
      assert.match(q.stdout, /^kernel-devel-0:6\.12\.117\+deb12_amd64-1\.x86_64$/m);
    });

    it('adds a revision reading only the new files, and --keep 1 drops the old one from pool and indexes', () => {
      const r = repoJson([repo, pkgs.deb2, pkgs.rpm2]);
      assert.equal(r.read, 2, 'only the two new packages are read; the others come from the registry');
      assert.deepEqual(r.packages, {deb: 2, rpm: 2, pacman: 0, sysext: 0});
      assert.match(readFileSync(join(repo, 'dists/stable/main/binary-amd64/Packages'), 'utf8'), /Version: 6\.12\.117-1\n[^]*Version: 6\.12\.117-2\n/);
      const again = repoJson([repo]);
      assert.equal(again.read, 0, 'nothing changed, nothing read');
      const kept = repoJson([repo, '--keep', '1']);
      assert.deepEqual(kept.packages, {deb: 1, rpm: 1, pacman: 0, sysext: 0});
      assert.equal(kept.removed.length, 2);
      for (const f of kept.removed) {
        assert.match(f, /-1[._]/);
        assert.equal(existsSync(join(repo, f)), false);
      }
      const packages = readFileSync(join(repo, 'dists/stable/main/binary-amd64/Packages'), 'utf8');
      assert.doesNotMatch(packages, /Version: 6\.12\.117-1\n/);
      const q = privateDnf(join(s.dir, 'dnf-keep'), repo)(['repoquery', 'kernel-devel']);
      assert.match(q.stdout, /-2\.x86_64/);
      assert.doesNotMatch(q.stdout, /-1\.x86_64/);
    });

    it('--remove takes a package out by name; a name it does not hold is an error that changes nothing', () => {
      const before = readFileSync(join(repo, 'dists/stable/Release'));
      const bad = khpkg(['repo', repo, '--remove', 'linux-headers-9.9.9']);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /^khpkg: no package in .* matches 'linux-headers-9\.9\.9'\n$/);
      assert.deepEqual(readFileSync(join(repo, 'dists/stable/Release')), before);
      const r = repoJson([repo, '--remove', `linux-headers-${REAL.release}`]);
      assert.deepEqual(r.packages, {deb: 0, rpm: 1, pacman: 0, sysext: 0});
      // No debs left: an empty APT index, still a repository apt accepts (see the empty-repository test).
      assert.equal(readFileSync(join(repo, 'dists/stable/main/binary-amd64/Packages'), 'utf8'), '');
      assert.equal(existsSync(join(repo, 'repodata/repomd.xml')), true);
    });

    it('a file that is not a package is refused with one line, and nothing is added', () => {
      const junk = join(s.dir, 'junk.deb');
      writeFileSync(junk, 'not a package');
      const pool = (): string[] => readdirSync(join(repo, 'pool'), {recursive: true}) as string[];
      const before = pool();
      const r = khpkg(['repo', repo, junk]);
      assert.equal(r.code, 1);
      assert.equal(r.stderr, `khpkg: junk.deb is none of the packages a repository holds (${FORMATS.join(', ')})\n`);
      assert.deepEqual(pool(), before);
    });
  });

  it('build --repo builds straight into a repository', () => {
    const repo = join(s.dir, 'from-build');
    const r = khpkg([...BUILD_REAL, '-f', 'deb', '-z', 'zstd', '-o', join(s.dir, 'out-b'), '--repo', repo, '--flat', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const {packages: artifacts, repo: result} = JSON.parse(r.stdout) as {packages: {sha256: string}[]; repo: {packages: {deb: number}}};
    assert.equal(result.packages.deb, 1);
    // Flat: Packages and Release at the top, for `deb file:DIR ./`.
    assert.match(readFileSync(join(repo, 'Packages'), 'utf8'), new RegExp(`^SHA256: ${artifacts[0]!.sha256}$`, 'm'));
    const apt = privateApt(join(s.dir, 'apt-flat'), `deb [trusted=yes] file:${repo} ./`);
    assert.equal(apt(['update']).code, 0);
    assert.equal(apt(['download', `linux-headers-${REAL.release}`]).code, 0);
  });

  describe('signed with --sign-key', () => {
    const repo = join(s.dir, 'signed');
    const gnupg = join(s.dir, 'gnupg');
    const env = {GNUPGHOME: gnupg};
    const key = join(repo, 'khpkg-archive-key.asc');
    before(() => {
      testSigningKey(gnupg);
      // Unsigned first: signing an existing repo signs the rpms already in it too.
      repoJson([repo, pkgs.deb1, pkgs.rpm1]);
      repoJson([repo, '--sign-key', TEST_KEY], env);
    });

    it('apt verifies InRelease with the key, and refuses the repo without it', () => {
      for (const f of ['dists/stable/InRelease', 'dists/stable/Release.gpg', 'repodata/repomd.xml.asc']) assert.ok(existsSync(join(repo, f)), f);
      const trusted = privateApt(join(s.dir, 'apt-signed'), `deb file:${repo} stable main`, key);
      const up = trusted(['update']);
      assert.equal(up.code, 0, up.stderr);
      assert.doesNotMatch(up.stderr, /NO_PUBKEY|not signed/);
      assert.equal(trusted(['download', `linux-headers-${REAL.release}`]).code, 0);
      const untrusted = privateApt(join(s.dir, 'apt-nokey'), `deb file:${repo} stable main`)(['update']);
      assert.notEqual(untrusted.code, 0);
      assert.match(untrusted.stderr, /NO_PUBKEY/);
    });

    it('dnf with gpgcheck and repo_gpgcheck downloads the rpm, and rpm -K passes its header signature', () => {
      const dir = join(s.dir, 'dnf-signed');
      mkdirSync(join(dir, 'root'), {recursive: true});
      mustRun('rpm', ['--root', join(dir, 'root'), '--import', key]);
      const dl = privateDnf(dir, repo, {gpg: key})(['download', '--destdir', dir, `kernel-devel-uname-r = ${REAL.release}`]);
      assert.equal(dl.code, 0, dl.stderr + dl.stdout);
      const rpm = join(
        dir,
        readdirSync(dir).find((f) => f.endsWith('.rpm'))!,
      );
      const k = tool('rpm', ['--root', join(dir, 'root'), '-Kv', rpm]);
      assert.equal(k.code, 0, k.stdout + k.stderr);
      assert.match(k.stdout, /Header V4 RSA\/SHA256 Signature, key ID \w+: OK/);
      // The signature is real: rpm without the key cannot vouch for it.
      mkdirSync(join(dir, 'empty'));
      const nokey = tool('rpm', ['--root', join(dir, 'empty'), '-Kv', rpm]);
      assert.notEqual(nokey.code, 0);
      assert.match(nokey.stdout + nokey.stderr, /NOKEY/i);
      // The header and payload are what khpkg built: only the signature header changed.
      assert.equal(mustRun('rpm', ['-qp', '--qf', '%{SHA256HEADER}', rpm]), mustRun('rpm', ['-qp', '--qf', '%{SHA256HEADER}', pkgs.rpm1]));
    });

    it('a tampered repomd.xml fails dnf repo_gpgcheck', () => {
      const copy = join(s.dir, 'tampered');
      mustRun('cp', ['-r', repo, copy]);
      const md = join(copy, 'repodata/repomd.xml');
      writeFileSync(md, readFileSync(md, 'utf8').replace('<revision>', '<revision>1'));
      const r = privateDnf(join(s.dir, 'dnf-tampered'), copy, {gpg: join(copy, 'khpkg-archive-key.asc')})(['repoquery', 'kernel-devel']);
      assert.notEqual(r.code, 0, r.stdout);
      assert.match(r.stderr + r.stdout, /repomd\.xml GPG signature verification error/);
      assert.doesNotMatch(r.stdout, /kernel-devel-0:/);
    });

    it('a key gpg does not have fails in one line and leaves the repo as it was', () => {
      const before = readFileSync(join(repo, 'dists/stable/InRelease'));
      const r = khpkg(['repo', repo, pkgs.rpm2, '--sign-key', 'nobody@khpkg.invalid'], {env});
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^khpkg: gpg could not sign with key 'nobody@khpkg\.invalid'.*\n$/);
      assert.deepEqual(readFileSync(join(repo, 'dists/stable/InRelease')), before);
      assert.equal((readdirSync(join(repo, 'pool'), {recursive: true}) as string[]).filter((f) => f.endsWith('.rpm') || f.includes('.adding-')).length, 1);
    });
  });
});

describe('repo: pacman sync databases beside the APT and DNF indexes (#37)', function () {
  this.timeout(300_000);
  const s = scratch();
  after(() => s.cleanup());

  it('khpkg.db and khpkg.files hold what repo-add writes for the same package; pacman -Sy, -Ss and -S install from them; signed, gpg verifies every database', () => {
    const out = join(s.dir, 'out');
    const built = JSON.parse(khpkg([...BUILD_REAL, '-f', 'pacman', '-o', out, '--json']).stdout) as {packages: {path: string; name: string}[]};
    const pkg = built.packages[0]!;
    assert.match(pkg.path, /-x86_64\.pkg\.tar\.zst$/, 'zstd, pacman’s own default');
    const gpg = testSigningKey(join(s.dir, 'gnupg'));
    const repo = join(s.dir, 'repo');
    const r = repoJson([repo, pkg.path, '--sign-key', TEST_KEY], gpg);
    assert.deepEqual(r.packages, {deb: 0, rpm: 0, pacman: 1, sysext: 0});
    const dir = join(repo, 'pacman/x86_64');
    // repo-add (Debian's pacman-package-manager) on the very file, in a dir of its own.
    const ref = join(s.dir, 'repo-add');
    mkdirSync(ref);
    mustRun('cp', [pkg.path, ref]);
    mustRun('repo-add', ['-q', join(ref, 'khpkg.db.tar.gz'), join(ref, pkg.path.split('/').pop()!)]);
    for (const db of ['db', 'files']) {
      const [ours, theirs] = [join(s.dir, `ours-${db}`), join(s.dir, `theirs-${db}`)];
      for (const [to, from] of [
        [ours, join(dir, `khpkg.${db}`)],
        [theirs, join(ref, `khpkg.${db}.tar.gz`)],
      ] as const) {
        mkdirSync(to);
        mustRun('tar', ['-xzf', from, '-C', to]);
      }
      assert.equal(mustRun('diff', ['-r', theirs, ours]), '', `khpkg.${db} holds what repo-add writes`);
      for (const f of [`khpkg.${db}`, `khpkg.${db}.tar.gz`]) mustRun('gpg', ['--verify', join(dir, `${f}.sig`), join(dir, f)], {env: gpg});
    }
    // A later update that reads only a new .deb takes the pacman package's file list from the registry: the .files database keeps it.
    const deb = (JSON.parse(khpkg([...BUILD_REAL, '-f', 'deb', '-o', out, '--json']).stdout) as {packages: {path: string}[]}).packages[0]!.path;
    const again = repoJson([repo, deb, '--sign-key', TEST_KEY], gpg);
    assert.deepEqual([again.read, again.packages], [1, {deb: 1, rpm: 0, pacman: 1, sysext: 0}], 'only the .deb is read');
    const [later, theirs] = [join(s.dir, 'later-files'), join(s.dir, 'theirs-files')];
    mkdirSync(later);
    mustRun('tar', ['-xzf', join(dir, 'khpkg.files'), '-C', later]);
    assert.equal(mustRun('diff', ['-r', theirs, later]), '', 'khpkg.files after an update that did not read the package');
    // A pacman reading the repository as a file:// mirror.
    const root = join(s.dir, 'root');
    pacmanRoot(root);
    writeFileSync(join(root, 'etc/pacman.conf'), `[options]\nArchitecture = auto\nSigLevel = Never\n[khpkg]\nServer = file://${repo}/pacman/$arch\n`);
    const pacman = (args: string[]): string => mustRun('pacman', [...pacmanArgs(root), '--noconfirm', ...args]);
    pacman(['-Sy']);
    assert.match(pacman(['-Ss', 'linux-headers']), new RegExp(`^khpkg/${pkg.name.replace(/[.+]/g, '\\$&')} `, 'm'));
    pacman(['-S', pkg.name]);
    assert.match(pacman(['-Qkk', pkg.name]), /, 0 altered files/);
    assert.ok(existsSync(join(root, `usr/lib/modules/${REAL.release}/build/include/linux/sched.h`)));
  });
});

describe('repo: system extensions with the SHA256SUMS systemd-sysupdate reads (#36)', function () {
  this.timeout(300_000);
  const s = scratch();
  after(() => s.cleanup());

  it("sysext/<name>_<version>.raw (sysupdate's @v) beside SHA256SUMS that sha256sum -c accepts; signed, gpg verifies SHA256SUMS.gpg; unsigned again, the signature goes", () => {
    const os = join(s.dir, 'os-release');
    writeFileSync(os, 'ID=flatcar\nSYSEXT_LEVEL=1.0\n');
    const [img] = JSON.parse(khpkg([...BUILD_REAL, '-f', 'sysext', '--os-release', os, '-o', join(s.dir, 'out'), '--json']).stdout).packages as {
      path: string;
    }[];
    const gpg = testSigningKey(join(s.dir, 'gnupg'));
    const repo = join(s.dir, 'repo');
    const r = repoJson([repo, img!.path, '--sign-key', TEST_KEY], gpg);
    assert.deepEqual(r.packages, {deb: 0, rpm: 0, pacman: 0, sysext: 1});
    const dir = join(repo, 'sysext');
    assert.deepEqual(readdirSync(dir).sort(), ['SHA256SUMS', 'SHA256SUMS.gpg', `linux-headers-${REAL.release}_6.12.117-1.raw`]);
    assert.match(
      mustRun('sha256sum', ['-c', 'SHA256SUMS'], {cwd: dir}),
      new RegExp(`^linux-headers-${REAL.release.replace(/[.+]/g, '\\$&')}_6\\.12\\.117-1\\.raw: OK$`, 'm'),
    );
    mustRun('gpg', ['--verify', join(dir, 'SHA256SUMS.gpg'), join(dir, 'SHA256SUMS')], {env: gpg});
    repoJson([repo]);
    assert.deepEqual(readdirSync(dir).sort(), ['SHA256SUMS', `linux-headers-${REAL.release}_6.12.117-1.raw`]);
  });
});
