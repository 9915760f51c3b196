import assert from 'node:assert/strict';
import {copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {agentImage, exportImage, ociIndex} from '../helpers/image.js';
import {mustRun, needInput, scratch, tool, type RunResult} from '../helpers/run.js';
import {addonCache, ARM64_SYSROOT, arm64Release, CACHE, dist, MINBASE, release, releaseDir, VERSION} from '../helpers/debian-root.js';

/**
 * khpkg's arm64 release, built on this x86-64 machine and run by Debian's qemu-aarch64-static. There
 * is no binfmt_misc here, so no arm64 program can exec another: khpkg's node is started by qemu
 * itself, with an arm64 root as its sysroot (QEMU_LD_PREFIX: its libc6 and libstdc++6), and shell
 * scripts of the image run on this machine's sh.
 */
describe('khpkg on arm64: cross-built on x86-64, run under qemu (#28)', function () {
  this.timeout(30 * 60_000);
  let s: {dir: string; cleanup: () => void};
  /** The real arm64 kheaders bin/make-arm64-kheaders.sh made: archive, module, config, release. */
  let kh: {dir: string; release: string};

  before(function () {
    needInput(process.getuid?.() === 0, 'these tests need root: dpkg --root and podman with the vfs driver');
    needInput(
      existsSync(join(ARM64_SYSROOT, 'usr/lib/aarch64-linux-gnu/libstdc++.so.6')),
      `no arm64 sysroot at ${ARM64_SYSROOT}: 'npm run setup' makes it (bin/make-test-root.sh)`,
    );
    needInput(
      tool('sh', ['-c', 'command -v qemu-aarch64-static && command -v aarch64-linux-gnu-g++']).code === 0,
      "qemu-aarch64-static or aarch64-linux-gnu-g++ is not installed: 'npm run setup' installs them",
    );
    const dir = readdirSync(CACHE, {withFileTypes: true}).find((e) => /^arm64-kheaders-/.test(e.name));
    needInput(dir, `no arm64 kheaders in ${CACHE}: 'npm run setup' makes them (bin/make-arm64-kheaders.sh)`);
    kh = {dir: join(CACHE, dir!.name), release: dir!.name.slice('arm64-kheaders-'.length)};
    s = scratch('khpkg-arm64-');
  });
  after(() => s?.cleanup());

  /** khpkg from a release tree (`dir` holds node and bin/run.js), its node under qemu with `sysroot`'s libraries. */
  const underQemu = (sysroot: string, dir: string, args: string[], env: Record<string, string> = {}): RunResult =>
    tool('qemu-aarch64-static', [join(dir, 'node'), join(dir, 'bin/run.js'), ...args], {
      env: {QEMU_LD_PREFIX: sysroot, NODE_OPTIONS: '', KHPKG_SYSFS_BTF: '/nonexistent', ...env},
    });
  const mustQemu = (sysroot: string, dir: string, args: string[], env: Record<string, string> = {}): string => {
    const r = underQemu(sysroot, dir, args, env);
    assert.equal(r.code, 0, `khpkg ${args.join(' ')} under qemu exited ${r.code}:\n${r.stderr}${r.stdout}`);
    return r.stdout;
  };
  /** An arm64 machine's root: the sysroot, with an installed kernel whose kheaders.ko.xz sits where Debian puts modules. */
  const armMachine = (name: string): string => {
    const root = join(s.dir, name);
    mkdirSync(root);
    mustRun('cp', ['-a', `${ARM64_SYSROOT}/.`, root]);
    const mod = join(root, 'lib/modules', kh.release);
    mkdirSync(join(mod, 'kernel/kernel'), {recursive: true});
    copyFileSync(join(kh.dir, 'kheaders.ko.xz'), join(mod, 'kernel/kernel/kheaders.ko.xz'));
    writeFileSync(join(mod, 'modules.dep'), 'kernel/kernel/kheaders.ko.xz:\n');
    copyFileSync(join(kh.dir, 'config'), join(root, 'boot', `config-${kh.release}`));
    return root;
  };
  const machineOf = (file: string): string => /Machine:\s+(.+)/.exec(mustRun('aarch64-linux-gnu-readelf', ['-h', file]))![1]!.trim();
  const esc = (t: string): string => t.replace(/[.+]/g, '\\$&');

  /** The install-verify-remove round trip of the kernel in `root`, by a khpkg tree under qemu. */
  const roundTrip = (sysroot: string, dir: string, root: string): void => {
    assert.match(
      mustQemu(sysroot, dir, ['--version']),
      new RegExp(`^khpkg/${esc(VERSION)} \\(\\w+(-dirty)?\\) linux-arm64 node-${esc(process.version)}$`, 'm'),
    );
    // The module: lzma-native unpacks the .ko.xz and the archive inside it; better-sqlite3 records the set.
    assert.match(
      mustQemu(sysroot, dir, ['install', '--kernel', kh.release, '--root', root]),
      new RegExp(`installed ${esc(kh.release)} at ${esc(root)}/usr/src/linux-headers-`),
    );
    const list = JSON.parse(mustQemu(sysroot, dir, ['list', '--json', '--root', root])) as {release: string; path: string}[];
    assert.deepEqual(
      list.map((l) => [l.release, l.path]),
      [[kh.release, join(root, 'usr/src', `linux-headers-${kh.release}`)]],
    );
    assert.ok(existsSync(join(root, 'usr/src', `linux-headers-${kh.release}`, 'arch/arm64/include/asm/processor.h')), 'the arm64 headers are not installed');
    assert.equal(mustRun('readlink', ['-f', join(root, 'lib/modules', kh.release, 'source')]).trim(), join(root, 'usr/src', `linux-headers-${kh.release}`));
    mustQemu(sysroot, dir, ['verify', kh.release, '--root', root]);
    mustQemu(sysroot, dir, ['remove', kh.release, '--root', root]);
    assert.deepEqual(JSON.parse(mustQemu(sysroot, dir, ['list', '--json', '--root', root])), []);
    assert.ok(!existsSync(join(root, 'usr/src', `linux-headers-${kh.release}`)), 'remove left the headers');
  };

  it('npm run dist -- --arch arm64 twice: the same arm64 tarball, .deb and .rpm (zstd-napi compiled again, the other addons from the cache of the same inputs), every ELF file in them AArch64', () => {
    const a = arm64Release();
    // The second run takes better-sqlite3 and lzma-native from the cache the first filled (2.5 and 1 minutes to
    // compile) and compiles zstd-napi afresh: its bytes must come out the same, and so must the whole release.
    const cached = readdirSync(addonCache());
    assert.deepEqual(
      cached.map((n) => n.replace(/-arm64-[0-9a-f]+$/, '')).sort(),
      ['better-sqlite3', 'lzma-native', 'zstd-napi'],
      'the first cross-built dist cached its three addons',
    );
    for (const n of cached.filter((c) => c.startsWith('zstd-napi-'))) rmSync(join(addonCache(), n), {recursive: true});
    const b = dist(join(releaseDir(), 'arm64-b'), 'arm64');
    assert.ok(
      readdirSync(addonCache()).some((c) => c.startsWith('zstd-napi-')),
      'zstd-napi was compiled and cached again',
    );
    assert.deepEqual(
      [a.tar, a.deb, a.rpm].map((p) => p.split('/').pop()),
      [`khpkg-${VERSION}-linux-arm64.tar.xz`, `khpkg_${VERSION}-1_arm64.deb`, `khpkg-${VERSION}-1.aarch64.rpm`],
    );
    for (const k of ['tar', 'deb', 'rpm'] as const) {
      assert.equal(
        mustRun('sha256sum', [b[k]]).split(' ')[0],
        mustRun('sha256sum', [a[k]]).split(' ')[0],
        `the arm64 ${k} differs between two cross-built runs`,
      );
    }
    const stage = join(a.dir, 'stage', `khpkg-${VERSION}-linux-arm64`);
    const elves = mustRun('find', [stage, '-type', 'f', '(', '-name', 'node', '-o', '-name', '*.node', ')']).trim().split('\n').sort();
    assert.deepEqual(
      elves.map((f) => f.slice(stage.length + 1)),
      [
        'node',
        'node_modules/better-sqlite3/build/Release/better_sqlite3.node',
        'node_modules/lzma-native/build/Release/lzma_native.node',
        'node_modules/zstd-napi/build/Release/binding.node',
      ],
    );
    for (const f of elves) assert.equal(machineOf(f), 'AArch64', f);
    // Stripped by the arm64 strip: no symbol table left in the addons.
    for (const f of elves.slice(1)) assert.doesNotMatch(mustRun('aarch64-linux-gnu-readelf', ['-S', f]), /\.symtab/, f);
  });

  it("the .deb is arm64, its libc6 Depends is the arm64 files' own newest GLIBC_ version, lintian finds no error, dpkg --root unpacks it; the .rpm is aarch64 and rpm --root installs it", () => {
    const {deb, rpm, dir} = arm64Release();
    assert.equal(mustRun('dpkg-deb', ['--field', deb, 'Architecture']).trim(), 'arm64');
    const stage = join(dir, 'stage', `khpkg-${VERSION}-linux-arm64`);
    const dynsyms = mustRun('sh', ['-c', `find "$0" -type f \\( -name node -o -name '*.node' \\) -exec aarch64-linux-gnu-objdump -T {} +`, stage]);
    const newest = Math.max(...[...dynsyms.matchAll(/GLIBC_2\.(\d+)/g)].map((m) => Number(m[1])));
    assert.equal(mustRun('dpkg-deb', ['--field', deb, 'Depends']).trim(), `libc6 (>= 2.${newest}), libgcc-s1, libstdc++6`);
    const lintian = tool('lintian', ['--tag-display-limit', '0', deb]);
    assert.deepEqual(
      lintian.stdout.split('\n').filter((l) => l.startsWith('E:')),
      [],
      lintian.stdout,
    );
    // Into an arm64 root's own dpkg database (dpkg here can unpack it there; configuring would run arm64 programs).
    const root = armMachine('deb-root');
    mustRun('dpkg', [`--root=${root}`, '--add-architecture', 'arm64']);
    mustRun('dpkg', [`--root=${root}`, '--force-script-chrootless', '--unpack', deb]);
    assert.equal(mustRun('dpkg-query', [`--root=${root}`, '-W', '-f', '${Architecture} ${Status}', 'khpkg']), 'arm64 install ok unpacked');
    const files = mustRun('dpkg-query', [`--root=${root}`, '-L', 'khpkg']).split('\n');
    for (const f of ['/usr/bin/khpkg', '/usr/lib/khpkg/node', '/usr/lib/khpkg/node_modules/better-sqlite3/build/Release/better_sqlite3.node'])
      assert.ok(files.includes(f), `${f} is not in the .deb`);
    assert.equal(machineOf(join(root, 'usr/lib/khpkg/node')), 'AArch64');

    assert.match(mustRun('rpm', ['-K', rpm]), /digests OK/);
    assert.equal(mustRun('rpm', ['-qp', '--qf', '%{ARCH}', rpm]), 'aarch64');
    const rpmRoot = join(s.dir, 'rpm-root');
    mkdirSync(rpmRoot);
    // --noscripts: its %post runs khpkg, an arm64 program rpm would exec in the root.
    mustRun('rpm', ['--root', rpmRoot, '-i', '--ignorearch', '--nodeps', '--noscripts', rpm]);
    assert.equal(mustRun('rpm', ['--root', rpmRoot, '-q', '--qf', '%{NAME} %{ARCH}', 'khpkg']), 'khpkg aarch64');
    assert.equal(machineOf(join(rpmRoot, 'usr/lib/khpkg/node')), 'AArch64');
  });

  it('the packaged khpkg on an arm64 machine, under qemu: --version says linux-arm64; install of its kernel’s kheaders.ko, list --json, verify, remove; a zstd build', () => {
    const {deb} = arm64Release();
    const root = armMachine('machine');
    mustRun('dpkg-deb', ['-x', deb, root]);
    const dir = join(root, 'usr/lib/khpkg');
    roundTrip(root, dir, root);
    // zstd-napi compresses the data member; the package is for the archive's arm64.
    const out = join(s.dir, 'built');
    const built = JSON.parse(
      mustQemu(root, dir, [
        'build',
        join(kh.dir, 'kheaders.tar.xz'),
        '--config',
        join(kh.dir, 'config'),
        '-f',
        'deb',
        '--compression',
        'zstd',
        '-o',
        out,
        '--json',
      ]),
    ) as {
      packages: {path: string}[];
    };
    const pkg = built.packages[0]!.path;
    assert.match(mustRun('ar', ['t', pkg]), /^data\.tar\.zst$/m);
    assert.equal(mustRun('dpkg-deb', ['--field', pkg, 'Package', 'Architecture']), `Package: linux-headers-${kh.release}\nArchitecture: arm64\n`);
    assert.match(mustRun('dpkg-deb', ['--contents', pkg]), new RegExp(`\\./usr/src/linux-headers-${esc(kh.release)}/arch/arm64/include/asm/processor\\.h\\n`));
  });

  it('the arm64 tarball unpacked anywhere runs under qemu with an arm64 sysroot: --version, install, list, verify, remove', () => {
    const {tar} = arm64Release();
    const opt = join(s.dir, 'opt');
    mkdirSync(opt);
    mustRun('tar', ['-C', opt, '-xJf', tar]);
    roundTrip(ARM64_SYSROOT, join(opt, `khpkg-${VERSION}-linux-arm64`), armMachine('tar-machine'));
  });

  it('the agent image: one OCI index of linux/amd64 and linux/arm64 images; the arm64 image’s entrypoint installs an arm64 node’s headers into /host, its khpkg under qemu', () => {
    const image = agentImage(join(s.dir, 'image'), [release().tar, arm64Release().tar], {amd64: MINBASE, arm64: ARM64_SYSROOT});
    assert.deepEqual(
      ociIndex(image.archive, join(s.dir, 'oci')).sort((x, y) => x.platform.localeCompare(y.platform)),
      [
        {platform: 'linux/amd64', configArch: 'linux/amd64'},
        {platform: 'linux/arm64', configArch: 'linux/arm64'},
      ],
    );
    const img = exportImage(image, `localhost/khpkg-agent:${VERSION}-arm64`, join(s.dir, 'agent-arm64'));
    const top = join(img, 'opt', `khpkg-${VERSION}-linux-arm64`);
    assert.equal(machineOf(join(top, 'node')), 'AArch64');
    // The entrypoint is a shell script; its sh would be the image's arm64 dash, so this machine's sh runs
    // it, and its khpkg call (KHPKG) starts the image's node under qemu with the image's root as the sysroot.
    const khpkgUnderQemu = join(s.dir, 'khpkg-under-qemu');
    writeFileSync(
      khpkgUnderQemu,
      `#!/bin/sh\nQEMU_LD_PREFIX='${img}' NODE_OPTIONS= KHPKG_SYSFS_BTF=/nonexistent exec qemu-aarch64-static '${top}/node' '${top}/bin/run.js' "$@"\n`,
      {mode: 0o755},
    );
    const host = armMachine('host');
    const r = tool('sh', [join(img, 'usr/local/bin/khpkg-agent')], {
      env: {KHPKG: khpkgUnderQemu, KHPKG_HOST_ROOT: host, KHPKG_AGENT_MODE: 'oneshot', KHPKG_RUNNING_RELEASE: kh.release, KHPKG_KHEADERS: '/nonexistent'},
    });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, new RegExp(`installed ${esc(kh.release)} at ${esc(host)}/usr/src/linux-headers-`));
    assert.ok(readFileSync(join(host, 'lib/modules', kh.release, 'source/include/generated/utsrelease.h'), 'utf8').includes(kh.release));
  });
});
