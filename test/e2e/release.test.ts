import assert from 'node:assert/strict';
import {copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {testSigningKey, TEST_KEY} from '../helpers/gpg.js';
import {REAL} from '../helpers/kheaders.js';
import {immutableRoot, installedKernelRoot, pacmanArgs, pacmanRoot} from '../helpers/roots.js';
import {agentImage, exportImage} from '../helpers/image.js';
import {buildJson, khpkg, mustRun, scratch, tool} from '../helpers/run.js';
import {CLEAN_ENV, dist, MINBASE, needDebianRoot, release, releaseDir, TestRoot, VERSION} from '../helpers/debian-root.js';

const REL = REAL.release;

describe('khpkg shipped: the release tarball and khpkg’s own .deb and .rpm (#17)', function () {
  this.timeout(15 * 60_000);

  it('npm run dist twice with SOURCE_DATE_EPOCH: identical tarball, deb, rpm, pacman package and system extension', () => {
    const a = release();
    const b = dist(join(releaseDir(), 'b'));
    for (const k of ['tar', 'deb', 'rpm', 'pacman', 'sysext'] as const) {
      assert.equal(mustRun('sha256sum', [b[k]]).split(' ')[0], mustRun('sha256sum', [a[k]]).split(' ')[0], `${k} differs between two runs`);
    }
  });

  it('the pacman package: pacman -Qip reads it, pacman -U --root installs it (-Qkk clean), its khpkg runs, pacman -R takes every file away (#37)', () => {
    const {pacman: pkg} = release();
    assert.match(pkg, new RegExp(`/khpkg-${VERSION.replace(/\./g, '\\.')}-1-x86_64\\.pkg\\.tar\\.zst$`));
    const info = mustRun('pacman', ['-Qip', pkg]);
    assert.match(info, /^Name +: khpkg$/m);
    assert.match(info, /^Depends On +: glibc>=2\.\d+ +gcc-libs$/m);
    const root = join(releaseDir(), 'pacman-root');
    pacmanRoot(root);
    // The root has no Arch glibc or gcc-libs package to satisfy its depends: -dd, as for a package put into a sysroot.
    mustRun('pacman', [...pacmanArgs(root), '--noconfirm', '-Udd', pkg]);
    assert.match(mustRun('pacman', [...pacmanArgs(root), '-Qkk', 'khpkg']), /, 0 altered files/);
    assert.match(mustRun(join(root, 'usr/lib/khpkg/khpkg'), ['--version']), new RegExp(`^khpkg/${VERSION.replace(/\./g, '\\.')} `));
    assert.equal(existsSync(join(root, 'usr/share/zsh/site-functions/_khpkg')), true);
    assert.equal(existsSync(join(root, 'usr/lib/khpkg/dist/release')), false, 'the release builder is not shipped');
    mustRun('pacman', [...pacmanArgs(root), '--noconfirm', '-R', 'khpkg']);
    assert.equal(existsSync(join(root, 'usr/lib/khpkg')), false);
  });

  it('khpkg.raw: fsck.erofs accepts it; on a Flatcar root systemd-sysext merges it (ID=_any), and the merged khpkg installs headers as an extension of their own (#36)', () => {
    const {sysext: img} = release();
    mustRun('fsck.erofs', [img]);
    const root = join(releaseDir(), 'flatcar-root');
    const ns = immutableRoot(root);
    try {
      mkdirSync(join(root, 'var/lib/extensions'), {recursive: true});
      copyFileSync(img, join(root, 'var/lib/extensions/khpkg.raw'));
      const inNs = (cmd: string, args: string[]) => mustRun(ns.wrap[0]!, [...ns.wrap.slice(1), cmd, ...args]);
      inNs('systemd-sysext', [`--root=${root}`, 'refresh']);
      assert.match(inNs(join(root, 'usr/bin/khpkg'), ['--version']), new RegExp(`^khpkg/${VERSION.replace(/\./g, '\\.')} `));
      const out = inNs(join(root, 'usr/bin/khpkg'), ['install', REAL.archive, '--root', root]);
      assert.match(out, /through sysext$/m);
      assert.deepEqual(ns.merged(root).sort(), ['khpkg', `linux-headers-${REL}`]);
      assert.equal(existsSync(join(root, 'usr/bin/khpkg')), false, 'nothing of khpkg in the real /usr');
    } finally {
      ns.close();
    }
  });

  it('the tarball keeps to the size budget the README gives (30 MiB)', () => {
    const size = Number(mustRun('stat', ['-c', '%s', release().tar]));
    assert.ok(size < 30 * 1048576, `the release tarball is ${(size / 1048576).toFixed(1)} MiB`);
  });

  it('the .deb: dpkg-deb reads it, lintian finds no error, its files are the release at /usr/lib/khpkg', () => {
    const {deb} = release();
    const info = mustRun('dpkg-deb', ['--info', deb]);
    assert.match(info, /^ Package: khpkg$/m);
    assert.match(info, new RegExp(`^ Version: ${VERSION.replace(/\./g, '\\.')}-1$`, 'm'));
    assert.match(info, /^ Depends: libc6 \(>= 2\.\d+\), libgcc-s1, libstdc\+\+6$/m);
    for (const script of ['postinst', 'prerm', 'postrm']) assert.match(info, new RegExp(`\\d+ lines +\\* +${script} `));
    const lintian = tool('lintian', ['--tag-display-limit', '0', deb]);
    assert.deepEqual(
      lintian.stdout.split('\n').filter((l) => l.startsWith('E:')),
      [],
      lintian.stdout,
    );
    const files = mustRun('dpkg-deb', ['--contents', deb]);
    for (const f of [
      './usr/lib/khpkg/khpkg',
      './usr/lib/khpkg/node',
      './usr/lib/khpkg/dist/cli/fast-path.js',
      './usr/share/man/man1/khpkg.1.gz',
      './usr/share/bash-completion/completions/khpkg',
      './usr/share/zsh/vendor-completions/_khpkg',
    ]) {
      assert.ok(files.includes(` ${f}\n`) || files.includes(` ${f} `), `${f} is not in the .deb`);
    }
    assert.match(files, / \.\/usr\/bin\/khpkg -> \.\.\/lib\/khpkg\/khpkg\n/);
    // Production dependencies only, without addon sources or build intermediates.
    assert.doesNotMatch(files, /node_modules\/(mocha|typescript|tsx|prettier)\//);
    assert.doesNotMatch(files, /better-sqlite3\/(deps|src)\/|obj\.target|\.gyp\b/);
    assert.match(files, /node_modules\/better-sqlite3\/build\/Release\/better_sqlite3\.node\n/);
  });

  it('the .rpm: rpm -K is clean, rpm -qpl lists /usr/bin/khpkg, its scriptlets join and leave the kernel life cycle', () => {
    const {rpm} = release();
    assert.match(mustRun('rpm', ['-K', rpm]), /digests OK/);
    const files = mustRun('rpm', ['-qpl', rpm]).split('\n');
    assert.ok(files.includes('/usr/bin/khpkg') && files.includes('/usr/lib/khpkg/node'));
    assert.ok(!files.includes('/usr') && !files.includes('/usr/bin'), 'the rpm owns system directories');
    const scripts = mustRun('rpm', ['-qp', '--scripts', rpm]);
    assert.match(scripts, /postinstall scriptlet \(using \/bin\/sh\):[^]*hooks enable/);
    assert.match(scripts, /preuninstall scriptlet \(using \/bin\/sh\):[^]*hooks disable/);
  });
});

describe('khpkg in a minimal Debian root: no Node.js, no compiler (#17)', function () {
  this.timeout(15 * 60_000);
  const roots: TestRoot[] = [];
  let s: {dir: string; cleanup: () => void};

  before(function () {
    needDebianRoot(MINBASE, 'usr/bin/dpkg');
    s = scratch('khpkg-minbase-');
  });
  afterEach(() => {
    for (const r of roots.splice(0)) r.unmount();
  });
  after(() => {
    for (const r of roots.splice(0)) r.unmount();
    s?.cleanup();
  });
  const newRoot = (name: string): TestRoot => {
    const r = new TestRoot(join(s.dir, name));
    roots.push(r);
    return r;
  };

  it('dpkg -i khpkg: it runs, enables its hooks, installs and lists headers; dpkg -r leaves no khpkg file, purge keeps only the registry that tracks its set', () => {
    const {deb} = release();
    const root = newRoot('deb');
    assert.notEqual(
      root.run(['sh', '-c', 'command -v node || command -v nodejs || command -v gcc || command -v cc']).code,
      0,
      'the test root has Node.js or a compiler',
    );
    copyFileSync(deb, join(root.dir, 'tmp/khpkg.deb'));
    copyFileSync(REAL.archive, join(root.dir, 'tmp/kheaders.tar.xz'));
    copyFileSync(REAL.config, join(root.dir, 'tmp/config'));
    const installed = root.must(['dpkg', '-i', '/tmp/khpkg.deb']);
    assert.match(installed, /wrote \/etc\/kernel\/postinst\.d\/10-khpkg/);
    assert.match(root.must(['khpkg', '--version']), new RegExp(`^khpkg/${VERSION.replace(/\./g, '\\.')} \\([0-9a-f]{12}(-dirty)?\\) linux-\\w+ node-v\\d+\\.`));
    assert.match(root.must(['bash', '-c', '. /usr/share/bash-completion/completions/khpkg && complete -p khpkg']), /-F _khpkg_autocomplete khpkg/);
    // The hooks call the packaged command by the path that survives upgrades.
    assert.match(readFileSync(join(root.dir, 'etc/kernel/postinst.d/10-khpkg'), 'utf8'), /^\/usr\/bin\/khpkg hooks run postinst /m);
    assert.match(root.must(['khpkg', 'hooks', 'status']), /kernels get their headers when installed and at boot/);

    assert.match(
      root.must(['khpkg', 'install', '/tmp/kheaders.tar.xz', '--config', '/tmp/config']),
      new RegExp(`installed ${REL.replace(/\+/g, '\\+')} at /usr/src/linux-headers-`),
    );
    const list = JSON.parse(root.must(['khpkg', 'list', '--json'])) as {release: string; path: string}[];
    assert.deepEqual(
      list.map((l) => [l.release, l.path]),
      [[REL, `/usr/src/linux-headers-${REL}`]],
    );
    assert.equal(root.must(['readlink', '-f', `/lib/modules/${REL}/source`]).trim(), `/usr/src/linux-headers-${REL}`);

    root.must(['dpkg', '-r', 'khpkg']);
    // dpkg keeps its own record until purge; khpkg's registry is state, like /var/lib/dkms.
    assert.deepEqual(root.khpkgPaths().sort(), ['/var/lib/dpkg/info/khpkg.list', '/var/lib/dpkg/info/khpkg.postrm', '/var/lib/khpkg']);
    assert.ok(existsSync(join(root.dir, `usr/src/linux-headers-${REL}/include/linux/kernel.h`)), 'removing khpkg removed the headers it installed');
    // Purge: the registry still tracks the set khpkg installed, so it stays (nothing owned by nobody); the rest goes.
    const purged = root.run(['dpkg', '--purge', 'khpkg']);
    assert.equal(purged.code, 0, purged.stderr);
    assert.match(purged.stderr, /khpkg: keeping \/var\/lib\/khpkg: it tracks the header sets khpkg installed/);
    assert.deepEqual(root.khpkgPaths(), ['/var/lib/khpkg']);
    // The hooks' directories khpkg made are gone too: the root is as debootstrap left it there.
    assert.deepEqual(readdirSync(join(root.dir, 'etc/kernel')).sort(), readdirSync(join(MINBASE, 'etc/kernel')).sort());
  });

  it('the tarball unpacked anywhere runs: --version and inspect, with no Node.js on the machine', () => {
    const {tar} = release();
    const root = newRoot('tar');
    mustRun('tar', ['-C', join(root.dir, 'opt'), '-xJf', tar]);
    copyFileSync(REAL.archive, join(root.dir, 'tmp/kheaders.tar.xz'));
    const [top] = readdirSync(join(root.dir, 'opt'));
    assert.match(root.must([`/opt/${top}/khpkg`, '--version']), / node-v\d+\./);
    const inspect = root.must([`/opt/${top}/khpkg`, 'inspect', '/tmp/kheaders.tar.xz']);
    assert.match(inspect, new RegExp(`^release +${REL.replace(/\+/g, '\\+')}$`, 'm'));
  });

  it('rpm -i khpkg: it runs and verifies clean; rpm -e leaves no khpkg file', () => {
    const {rpm} = release();
    const root = newRoot('rpm');
    mustRun('env', ['-i', ...CLEAN_ENV, 'rpm', '--root', root.dir, '-i', '--nodeps', rpm]);
    assert.match(root.must(['khpkg', '--version']), / node-v\d+\./);
    assert.ok(existsSync(join(root.dir, 'etc/systemd/system/khpkg.service')), '%post enabled no hooks');
    assert.equal(tool('env', ['-i', ...CLEAN_ENV, 'rpm', '--root', root.dir, '-V', 'khpkg']).code, 0);
    mustRun('env', ['-i', ...CLEAN_ENV, 'rpm', '--root', root.dir, '-e', 'khpkg']);
    assert.deepEqual(
      root.khpkgPaths().filter((p) => !p.startsWith('/var/lib/rpm') && !p.includes('rpmdb')),
      [],
    );
  });

  it('a fleet: apt installs khpkg and linux-headers-<rel> from one signed khpkg repo; khpkg then leaves those headers to dpkg', () => {
    const {deb} = release();
    const root = newRoot('fleet');
    const env = testSigningKey(join(s.dir, 'gnupg'));
    const [headers] = buildJson([REAL.archive, '--config', REAL.config, '-f', 'deb', '-o', join(s.dir, 'headers')]);
    const repo = join(root.dir, 'srv/repo');
    const r = khpkg(['repo', repo, deb, headers!.path, '--sign-key', TEST_KEY], {env});
    assert.equal(r.code, 0, r.stderr);
    const apt = ['-o', 'Dir::Etc::SourceList=/etc/apt/sources.list.d/khpkg.list', '-o', 'Dir::Etc::SourceParts=/dev/null'];
    mkdirSync(join(root.dir, 'etc/apt/sources.list.d'), {recursive: true});
    writeFileSync(join(root.dir, 'etc/apt/sources.list.d/khpkg.list'), 'deb [signed-by=/srv/repo/khpkg-archive-key.asc] file:/srv/repo stable main\n');
    root.must(['apt-get', ...apt, 'update']);
    root.must(['apt-get', ...apt, 'install', '-y', '--no-install-recommends', 'khpkg', `linux-headers-${REL}`], ['DEBIAN_FRONTEND=noninteractive']);
    assert.match(root.must(['dpkg-query', '-W', '-f', '${Status} ${Package}\n', 'khpkg', `linux-headers-${REL}`]), /^install ok installed khpkg$/m);
    assert.equal(root.must(['readlink', '-f', `/lib/modules/${REL}/source`]).trim(), `/usr/src/linux-headers-${REL}`);
    // The packaged khpkg never writes over what dpkg owns.
    copyFileSync(REAL.archive, join(root.dir, 'tmp/kheaders.tar.xz'));
    const refused = root.run(['khpkg', 'install', '/tmp/kheaders.tar.xz']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, new RegExp(`linux-headers-${REL.replace(/\+/g, '\\+')}`));
  });

  it('the Kubernetes agent: its entrypoint in the image installs the node’s headers into /host, and the build link resolves from the host and from another pod', () => {
    const {tar} = release();
    const REL_X = '6.12.117+deb12-amd64';
    // The node: a root with an installed kernel whose kheaders.ko is read offline (no modprobe).
    const host = newRoot('host');
    installedKernelRoot(s.dir, host.dir, REL_X);
    const agent = imageRoot(tar, join(s.dir, 'agent'));
    roots.push(agent);
    agent.bind(host.dir, 'host');
    const r = agent.run(['/usr/local/bin/khpkg-agent'], ['KHPKG_AGENT_MODE=oneshot', `KHPKG_RUNNING_RELEASE=${REL_X}`, 'KHPKG_KHEADERS=/nonexistent']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, new RegExp(`installed ${REL_X.replace(/\+/g, '\\+')} at /host/usr/src/linux-headers-`));
    // The host's view, the agent's, and a BPF pod's that mounts the host's /lib/modules and /usr/src at the same places.
    assert.equal(host.must(['readlink', '-f', `/lib/modules/${REL_X}/source`]).trim(), `/usr/src/linux-headers-${REL_X}`);
    host.must(['test', '-f', `/lib/modules/${REL_X}/source/include/linux/kernel.h`]);
    agent.must(['test', '-f', `/host/lib/modules/${REL_X}/source/include/linux/kernel.h`]);
    const pod = newRoot('pod');
    pod.bind(join(host.dir, 'usr/lib/modules'), 'usr/lib/modules');
    pod.bind(join(host.dir, 'usr/src'), 'usr/src');
    pod.must(['test', '-f', `/lib/modules/${REL_X}/source/include/linux/kernel.h`]);
    // A node without kheaders: one line in the log, the pod idles rather than restarting in a loop.
    const bare = agent.run(['/usr/local/bin/khpkg-agent'], ['KHPKG_AGENT_MODE=oneshot', 'KHPKG_RUNNING_RELEASE=6.99.0-none', 'KHPKG_KHEADERS=/nonexistent']);
    assert.notEqual(bare.code, 0);
    assert.match(bare.stderr + bare.stdout, /khpkg-agent: headers of 6\.99\.0-none were not installed/);
  });
});

/**
 * The agent image's root: built by `npm run image` (bin/make-image.js: podman, from
 * packaging/kubernetes/Containerfile) on the minimal root (imported as the base: no registry here)
 * and exported, since podman cannot run containers on this machine (crun: setrlimit, cgroups).
 */
function imageRoot(tar: string, dir: string): TestRoot {
  const image = agentImage(`${dir}-build`, [tar], {amd64: MINBASE});
  exportImage(image, `localhost/khpkg-agent:${VERSION}-amd64`, dir);
  tool('rm', ['-rf', `${dir}-build`]);
  return new TestRoot(dir, {adopt: true});
}
