import assert from 'node:assert/strict';
import {existsSync, mkdirSync, readdirSync} from 'node:fs';
import {join} from 'node:path';
import {chooseVia} from '../../src/install/bridge.js';
import {REAL} from '../helpers/kheaders.js';
import {dpkgRoot} from '../helpers/roots.js';
import {khpkg, mustRun, scratch, tool} from '../helpers/run.js';

const listJson = (root: string): {release: string; via: string}[] => JSON.parse(khpkg(['list', '--root', root, '--json']).stdout);

describe('install --via: bridging to dpkg and rpm', function () {
  const s = scratch();
  after(() => s.cleanup());
  const header = 'include/linux/sched.h';

  it('auto picks dpkg where the root has a dpkg database, rpm where it has an rpm one, khpkg elsewhere', () => {
    const [deb, rpm, bare] = ['auto-deb', 'auto-rpm', 'auto-bare'].map((d) => join(s.dir, d));
    dpkgRoot(deb!);
    mkdirSync(join(rpm!, 'var/lib/rpm'), {recursive: true});
    mkdirSync(bare!);
    assert.deepEqual(chooseVia('auto', deb!), {via: 'dpkg'});
    assert.deepEqual(chooseVia('auto', rpm!), {via: 'rpm'});
    assert.deepEqual(chooseVia('auto', bare!), {via: 'khpkg'});
    assert.deepEqual(chooseVia('rpm', deb!), {via: 'rpm'});
  });

  it('through dpkg: dpkg -S owns the headers, khpkg tracks them, and khpkg remove purges the package', () => {
    const root = join(s.dir, 'deb');
    dpkgRoot(root);
    const r = khpkg(['install', REAL.archive, '--config', REAL.config, '--root', root, '--via', 'auto', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).via, 'dpkg');
    const tree = `/usr/src/linux-headers-${REAL.release}`;
    assert.equal(mustRun('dpkg', [`--root=${root}`, '-S', `${tree}/${header}`]).trim(), `linux-headers-${REAL.release}: ${tree}/${header}`);
    assert.match(mustRun('dpkg', [`--root=${root}`, '-s', `linux-headers-${REAL.release}`]), /^Status: install ok installed$/m);
    assert.deepEqual(
      listJson(root).map((l) => [l.release, l.via]),
      [[REAL.release, 'dpkg']],
    );
    assert.equal(khpkg(['owns', `${tree}/${header}`, '--root', root]).code, 0);
    assert.equal(khpkg(['verify', REAL.release, '--root', root]).code, 0);
    // khpkg's own installer must not write over files dpkg owns.
    const own = khpkg(['install', REAL.archive, '--root', root, '--force']);
    assert.equal(own.code, 1);
    assert.match(own.stderr, /^khpkg: headers for .* are installed through dpkg \(linux-headers-.*\): remove them first, or install with --via dpkg\n$/);

    assert.equal(khpkg(['remove', REAL.release, '--root', root]).code, 0, 'remove');
    assert.doesNotMatch(tool('dpkg', [`--root=${root}`, '-l']).stdout, /^ii/m);
    assert.equal(existsSync(join(root, tree.slice(1))), false);
    assert.equal(existsSync(join(root, `lib/modules/${REAL.release}/build`)), false);
    assert.deepEqual(listJson(root), []);
  });

  it('through rpm: rpm -qf owns the headers and khpkg remove erases exactly that package', () => {
    const root = join(s.dir, 'rpm');
    mkdirSync(root);
    const r = khpkg(['install', REAL.archive, '--config', REAL.config, '--root', root, '--via', 'rpm', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const tree = `/usr/src/kernels/${REAL.release}`;
    assert.equal(mustRun('rpm', ['--root', root, '-qf', `${tree}/${header}`]).trim(), 'kernel-devel-6.12.117+deb12_amd64-1.x86_64');
    assert.equal(mustRun('rpm', ['--root', root, '-qf', `/lib/modules/${REAL.release}/build`]).trim(), 'kernel-devel-6.12.117+deb12_amd64-1.x86_64');
    assert.equal(JSON.parse(r.stdout).package, 'kernel-devel-6.12.117+deb12_amd64-1.x86_64');
    const again = khpkg(['install', REAL.archive, '--config', REAL.config, '--root', root, '--via', 'rpm', '--json']);
    assert.equal(JSON.parse(again.stdout).status, 'unchanged');
    assert.equal(khpkg(['remove', REAL.release, '--root', root]).code, 0);
    assert.equal(mustRun('rpm', ['--root', root, '-qa']).trim(), '');
    assert.equal(existsSync(join(root, tree.slice(1))), false);
    assert.deepEqual(listJson(root), []);
  });

  it('--via dpkg on a root without a dpkg database fails in one line and leaves nothing', () => {
    const root = join(s.dir, 'nodpkg');
    mkdirSync(root);
    const r = khpkg(['install', REAL.archive, '--root', root, '--via', 'dpkg']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^khpkg: --via dpkg: .* has no dpkg database \(var\/lib\/dpkg\/status\)\n$/);
    assert.deepEqual(readdirSync(root), []);
  });
});
