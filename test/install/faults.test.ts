import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import {chmodSync, chownSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {compressBuffer} from '../../src/formats/compression.js';
import {kheadersMembers, REAL} from '../helpers/kheaders.js';
import {khpkg, mustRun, runnableByOthers, scratch} from '../helpers/run.js';
import {tarBytes} from '../helpers/tar.js';

const BIN = new URL('../../bin/run.js', import.meta.url).pathname;

describe('faults: a full disk, a damaged registry', () => {
  const s = scratch();
  after(() => s.cleanup());

  it('a root that fills up (tmpfs): a clean one-line error, nothing left behind', function () {
    const root = join(s.dir, 'full');
    mkdirSync(root);
    mustRun('mount', ['-t', 'tmpfs', '-o', 'size=6m', 'tmpfs', root]);
    try {
      const r = khpkg(['install', REAL.archive, '--root', root]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^khpkg: .*: no space left on device\n$/);
      assert.equal(existsSync(join(root, 'usr')), false, 'the staging dir is gone, and so are the dirs made for it');
      assert.equal(existsSync(join(root, 'lib')), false);
      assert.deepEqual(JSON.parse(khpkg(['list', '--root', root, '--json']).stdout), []);
    } finally {
      mustRun('umount', [root]);
    }
  });

  it('a truncated or garbage registry: a clear error, and doctor --rebuild recreates it from the trees on disk', async () => {
    const root = join(s.dir, 'damaged');
    mkdirSync(root);
    const small = join(s.dir, 'small.tar.xz');
    writeFileSync(small, await compressBuffer('xz', tarBytes(kheadersMembers({release: '6.1.0-doc'}))));
    assert.equal(khpkg(['install', REAL.archive, '--root', root, '--config', REAL.config, '-q']).code, 0);
    assert.equal(khpkg(['install', small, '--root', root, '--layout', 'kernels', '-q']).code, 0);
    const before = JSON.parse(khpkg(['files', REAL.release, '--root', root, '--json']).stdout) as {path: string; sha256?: string}[];
    const db = join(root, 'var/lib/khpkg/registry.db');
    for (const damage of [(b: Buffer) => b.subarray(0, 8192), () => Buffer.from('this is not a database at all '.repeat(200))]) {
      writeFileSync(db, damage(readFileSync(db)));
      const r = khpkg(['list', '--root', root]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^khpkg: registry .*registry\.db is damaged: run 'khpkg doctor --rebuild' to recreate it from the trees on disk\n$/);
      const fixed = JSON.parse(khpkg(['doctor', '--rebuild', '--root', root, '--json']).stdout) as {
        rebuilt: {release: string}[];
        integrity: string;
        movedAside: string;
      };
      assert.deepEqual(fixed.rebuilt.map((x) => x.release).sort(), ['6.1.0-doc', REAL.release]);
      assert.equal(fixed.integrity, 'ok');
      assert.ok(existsSync(fixed.movedAside), 'the damaged file is kept for inspection');
      assert.equal(khpkg(['verify', '--root', root]).code, 0);
      const after = JSON.parse(khpkg(['files', REAL.release, '--root', root, '--json']).stdout) as {path: string; sha256?: string}[];
      assert.deepEqual(
        after.map((f) => [f.path, f.sha256]),
        before.map((f) => [f.path, f.sha256]),
        'nothing on disk lost',
      );
      assert.equal(JSON.parse(khpkg(['info', '6.1.0-doc', '--root', root, '--json']).stdout).layout, 'kernels');
    }
    assert.equal(khpkg(['remove', REAL.release, '--root', root, '-q']).code, 0, 'a rebuilt set removes like any other');
    assert.equal(existsSync(join(root, `usr/src/linux-headers-${REAL.release}`)), false);
  });

  it('doctor --rebuild on a sound registry keeps it and adopts only the trees it does not know (left by a purged khpkg)', async () => {
    const root = join(s.dir, 'sound');
    mkdirSync(root);
    const small = join(s.dir, 'orphan.tar.xz');
    writeFileSync(small, await compressBuffer('xz', tarBytes(kheadersMembers({release: '6.1.0-orphan'}))));
    assert.equal(khpkg(['install', REAL.archive, '--root', root, '--config', REAL.config, '-q']).code, 0);
    const kept = khpkg(['doctor', '--rebuild', '--root', root]);
    assert.equal(kept.code, 0, kept.stderr);
    assert.equal(kept.stdout, 'the registry is sound: kept, every tree on disk is in it\nregistry: ok\n');
    assert.deepEqual(
      readdirSync(join(root, 'var/lib/khpkg')).filter((n) => n.includes('damaged')),
      [],
    );
    // A tree whose registry went (apt purge khpkg with an older khpkg): taken up again, the known set untouched.
    assert.equal(khpkg(['install', small, '--root', root, '-q']).code, 0);
    const installedAt = JSON.parse(khpkg(['info', REAL.release, '--root', root, '--json']).stdout).installedAt;
    const tree = join(root, 'usr/src/linux-headers-6.1.0-orphan');
    cpSync(tree, join(s.dir, 'orphan-tree'), {recursive: true});
    assert.equal(khpkg(['remove', '6.1.0-orphan', '--root', root, '-q']).code, 0);
    renameSync(join(s.dir, 'orphan-tree'), tree);
    const adopted = JSON.parse(khpkg(['doctor', '--rebuild', '--root', root, '--json']).stdout) as {rebuilt: {release: string}[]; movedAside?: string};
    assert.deepEqual([adopted.rebuilt.map((r) => r.release), adopted.movedAside], [['6.1.0-orphan'], undefined]);
    assert.equal(JSON.parse(khpkg(['info', REAL.release, '--root', root, '--json']).stdout).installedAt, installedAt);
    // A set installed without a config says so, rather than printing 'undefined'.
    assert.match(khpkg(['info', '6.1.0-orphan', '--root', root]).stdout, /^configSha256 +none \(installed without a config\)$/m);
  });
});

describe('permissions', () => {
  const s = scratch();
  after(() => s.cleanup());

  it('installed files are 0644/0755 whatever the archive or the umask says; the registry is 0644 in a 0755 dir', async () => {
    const root = join(s.dir, 'modes');
    mkdirSync(root);
    const members = kheadersMembers().map((m) => ({...m, mode: m.type === '5' ? 0o700 : m.type === '2' ? 0o777 : 0o4777}));
    const archive = join(s.dir, 'modes.tar.xz');
    writeFileSync(archive, await compressBuffer('xz', tarBytes(members)));
    const r = spawnSync('sh', ['-c', `umask 077 && exec "${process.execPath}" "${BIN}" install "${archive}" --root "${root}" -q`]);
    assert.equal(r.status, 0, r.stderr.toString());
    const tree = join(root, 'usr/src/linux-headers-6.1.0-test');
    assert.equal(statSync(join(tree, 'include/linux/kref.h')).mode & 0o7777, 0o644);
    assert.equal(statSync(join(tree, 'include/linux')).mode & 0o7777, 0o755);
    assert.equal(statSync(tree).mode & 0o7777, 0o755);
    assert.equal(statSync(join(root, 'lib/modules/6.1.0-test')).mode & 0o7777, 0o755);
    assert.equal(statSync(join(root, 'var/lib/khpkg')).mode & 0o7777, 0o755);
    assert.equal(statSync(join(root, 'var/lib/khpkg/registry.db')).mode & 0o7777, 0o644);
    assert.equal(statSync(join(tree, 'include/linux/kref.h')).uid, process.getuid!(), 'owned by the installing user (root in CI)');
  });

  it('the staging dir is 0700 while incomplete, beside the target (never under /tmp)', async () => {
    const root = join(s.dir, 'stage');
    mkdirSync(root);
    const archive = join(s.dir, 'stage.tar.xz');
    writeFileSync(archive, await compressBuffer('xz', tarBytes(kheadersMembers())));
    const r = khpkg(['install', archive, '--root', root], {env: {KHPKG_CRASH_AT: 'staged'}});
    assert.equal(r.code, -1);
    // Written while the archive is read, under a name that says whose it is (.khpkg-scan-<pid>-...).
    const staged = readdirSync(join(root, 'usr/src')).filter((n) => /^\.khpkg-scan-\d+-/.test(n));
    assert.equal(staged.length, 1);
    assert.equal(statSync(join(root, 'usr/src', staged[0]!)).mode & 0o7777, 0o700);
  });

  it('a root the user owns works without root', async () => {
    const root = join(s.dir, 'user-root');
    mkdirSync(root);
    chownSync(root, 65534, 65534);
    chmodSync(s.dir, 0o755);
    const archive = join(s.dir, 'user.tar.xz');
    writeFileSync(archive, await compressBuffer('xz', tarBytes(kheadersMembers())));
    chmodSync(archive, 0o644);
    const {node, bin} = runnableByOthers();
    const r = spawnSync('runuser', ['-u', 'nobody', '--', node, bin, 'install', archive, '--root', root, '-q']);
    assert.equal(r.status, 0, r.stderr.toString());
    assert.equal(statSync(join(root, 'usr/src/linux-headers-6.1.0-test/include/linux/kref.h')).uid, 65534);
    const v = spawnSync('runuser', ['-u', 'nobody', '--', node, bin, 'verify', '--root', root]);
    assert.equal(v.status, 0, v.stdout.toString() + v.stderr.toString());
  });
});
