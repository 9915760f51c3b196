/**
 * `npm run bench [-- ARCHIVE...] [--rounds N] [--json] [--no-4x | --only-4x] [--only build,btf,headers-btf,install,list,4x,kpkg,repo]`: khpkg side by side with the native
 * tools doing the same work, alternately, after a warm-up; medians of wall time, CPU (user+sys),
 * peak RSS and output size, and the ratio khpkg/native against the targets of issue 7.
 * Not a test: timings depend on the machine. Needs GNU time, tar, xz, dpkg-deb, rpmbuild.
 */
import {spawnSync} from 'node:child_process';
import {createHash} from 'node:crypto';
import {existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs';
import {cpus, totalmem, tmpdir} from 'node:os';
import {join} from 'node:path';
import {DEFAULT_LIMITS} from '../../src/archive/limits.js';
import {readTree} from '../../src/archive/reader.js';
import {scanArchive} from '../../src/archive/scan.js';
import {compressBuffer} from '../../src/formats/compression.js';
import {Registry} from '../../src/registry/registry.js';
import {tarBytes, type RawMember} from '../helpers/tar.js';
import {debianKernelDeb, debianKernelDebWithKheaders, kernelDeb, kheadersKoXz} from '../helpers/kernel-packages.js';
import {repoTable} from './fleet.js';
import {CACHE} from '../helpers/cache.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const BIN = join(ROOT, 'bin/run.js');
/** What npm run setup fetched for the tests (the CO-RE bench uses the bundled archive's own vmlinuz from there). */
const TEST_CACHE = CACHE;
const args = process.argv.slice(2);
const flag = (name: string): boolean => args.includes(name);
const option = (name: string, dflt: string): string => (args.includes(name) ? args[args.indexOf(name) + 1]! : dflt);
const rounds = Number(option('--rounds', '3'));
/** `--only build,install,list,4x`: some of the cases, to look at one change quickly. */
const only = option('--only', '').split(',').filter(Boolean);
const wants = (group: string): boolean => only.length === 0 || only.includes(group);
const archives = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--rounds' && args[i - 1] !== '--only');
if (archives.length === 0) archives.push(join(ROOT, 'test/fixtures/6.12.117+deb12-amd64-x86_64.tar.xz'));

interface Sample {
  wall: number;
  cpu: number;
  rss: number;
}
interface Result {
  archive: string;
  case: string;
  khpkg: Sample & {size?: number};
  native: Sample & {size?: number};
  ratio: number;
  rssRatio: number;
  target: string;
  met: boolean;
}

const WORK = join(tmpdir(), `khpkg-bench-${process.pid}`);
mkdirSync(WORK, {recursive: true});
process.on('exit', () => rmSync(WORK, {recursive: true, force: true}));

/** Runs a command under GNU time; a pipeline is a list of commands: wall and CPU add up, RSS is the max. */
function measure(commands: string[][], env: Record<string, string> = {}): Sample {
  let wall = 0;
  let cpu = 0;
  let rss = 0;
  for (const [cmd, ...rest] of commands) {
    const fmtFile = join(WORK, 'time.out');
    const r = spawnSync('/usr/bin/time', ['-o', fmtFile, '-f', '%e %U %S %M', cmd!, ...rest], {
      env: {...process.env, ...env},
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    if (r.error) throw new Error(`/usr/bin/time is missing: apt-get install time (${r.error.message})`);
    if (r.status !== 0) throw new Error(`${cmd} ${rest.join(' ')} failed: ${r.stderr.toString().slice(-2000)}`);
    const [e, u, s, m] = readFileSync(fmtFile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
    wall += e!;
    cpu += u! + s!;
    rss = Math.max(rss, m! * 1024);
  }
  return {wall, cpu, rss};
}

function median(xs: Sample[]): Sample {
  const mid = (k: keyof Sample): number => [...xs.map((x) => x[k])].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return {wall: mid('wall'), cpu: mid('cpu'), rss: mid('rss')};
}

/** Alternates khpkg and native, warm-up first; `prepare` runs before each run, untimed. */
function compare(
  name: string,
  k: () => string[][],
  n: () => string[][],
  prepare: () => void,
  target: {wallRatio?: number; note: string},
  sizes?: () => [number, number],
  archive = '',
): Result {
  const ks: Sample[] = [];
  const ns: Sample[] = [];
  for (let i = 0; i <= rounds; i++) {
    prepare();
    const a = measure(k(), {KHPKG_ROOT: join(WORK, 'registry-root')});
    prepare();
    const b = measure(n());
    if (i > 0) {
      ks.push(a);
      ns.push(b);
    }
  }
  const km = median(ks);
  const nm = median(ns);
  const [ksize, nsize] = sizes?.() ?? [undefined, undefined];
  const ratio = km.wall / nm.wall;
  const met = target.wallRatio === undefined || ratio <= target.wallRatio;
  return {archive, case: name, khpkg: {...km, size: ksize}, native: {...nm, size: nsize}, ratio, rssRatio: km.rss / nm.rss, target: target.note, met};
}

/** A case measured once on each side (too long to repeat, or one input against another), as a Result. */
function singleRun(archive: string, name: string, k: Sample, n: Sample, target: string, met: boolean): Result {
  return {archive, case: name, khpkg: k, native: n, ratio: k.wall / n.wall, rssRatio: k.rss / n.rss, target, met};
}

function khpkgCmd(...a: string[]): string[] {
  return [process.execPath, BIN, ...a];
}

async function releaseOf(archive: string): Promise<string> {
  return (await scanArchive(readFileSync(archive), DEFAULT_LIMITS)).info.release;
}

/** The native way to the same .deb: unpack, control file, md5sums (as dh_md5sums makes them), dpkg-deb. */
function nativeDeb(archive: string, release: string, z: 'xz' | 'zstd', out: string): string[][] {
  const pkg = join(WORK, `native-deb-${z}`);
  return [
    [
      'sh',
      '-c',
      `rm -rf ${pkg} && mkdir -p ${pkg}/DEBIAN ${pkg}/usr/src/linux-headers-${release} ${pkg}/lib/modules/${release} && printf 'Package: linux-headers-%s\\nVersion: 1-1\\nArchitecture: amd64\\nMaintainer: bench <bench@example.org>\\nDescription: bench\\n' '${release.toLowerCase()}' > ${pkg}/DEBIAN/control && ln -s /usr/src/linux-headers-${release} ${pkg}/lib/modules/${release}/build`,
    ],
    ['tar', '-xJf', archive, '-C', `${pkg}/usr/src/linux-headers-${release}`],
    ['sh', '-c', `cd ${pkg} && find usr -type f -print0 | LC_ALL=C sort -z | xargs -0 md5sum > DEBIAN/md5sums`],
    ['dpkg-deb', '--root-owner-group', `-Z${z}`, '-b', pkg, out],
  ];
}

/** The native way to the same .rpm: unpack, a spec with the same files, rpmbuild. */
function nativeRpm(archive: string, release: string, payload: string, out: string): string[][] {
  const top = join(WORK, `rpmtop-${payload}`);
  const src = join(WORK, `rpmsrc-${payload}`);
  const spec = `Name: kernel-devel\nVersion: ${release.replace(/-/g, '_')}\nRelease: 1\nSummary: bench\nLicense: GPL-2.0-only\nAutoReqProv: no\n%description\nbench\n%install\nmkdir -p %{buildroot}/usr/src/kernels/${release} %{buildroot}/lib/modules/${release}\ncp -a ${src}/. %{buildroot}/usr/src/kernels/${release}/\nln -s /usr/src/kernels/${release} %{buildroot}/lib/modules/${release}/build\n%files\n/usr/src/kernels/${release}\n/lib/modules/${release}/build\n`;
  return [
    ['sh', '-c', `rm -rf ${top} ${src} && mkdir -p ${top}/SPECS ${src} && cat > ${top}/SPECS/k.spec <<'EOF'\n${spec}EOF`],
    ['tar', '-xJf', archive, '-C', src],
    [
      'rpmbuild',
      '--quiet',
      '--define',
      `_topdir ${top}`,
      '--define',
      `_binary_payload ${payload}`,
      '--define',
      '__os_install_post %{nil}',
      '--define',
      'debug_package %{nil}',
      '--define',
      `_rpmdir ${out}`,
      '-bb',
      `${top}/SPECS/k.spec`,
    ],
  ];
}

/** An archive 4x the size of `archive` (its tree and three copies of it), to show memory stays flat. */
async function fourTimes(archive: string): Promise<string> {
  const out = join(tmpdir(), `khpkg-bench-4x-${statSync(archive).size}.tar.xz`);
  if (existsSync(out)) return out;
  const members: RawMember[] = [{name: './', type: '5'}];
  const copies: RawMember[][] = [[], [], []];
  for await (const {entry, data} of readTree(readFileSync(archive), DEFAULT_LIMITS)) {
    const m = (path: string): RawMember => ({
      name: `./${path}${entry.type === 'dir' ? '/' : ''}`,
      type: entry.type === 'dir' ? '5' : entry.type === 'symlink' ? '2' : '0',
      data,
      linkname: entry.linkTarget,
      mtime: entry.mtime,
    });
    members.push(m(entry.path));
    if (entry.path.startsWith('include/') && entry.type !== 'symlink')
      copies.forEach((c, i) => c.push(m(entry.path.replace(/^include\//, `include/bench-copy${i}/`))));
  }
  const dirs = [0, 1, 2].map((i): RawMember => ({name: `./include/bench-copy${i}/`, type: '5'}));
  const all = [...members, ...dirs.flatMap((d, i) => [d, ...copies[i]!])];
  writeFileSync(out, await compressBuffer('xz', tarBytes(all)));
  return out;
}

const results: Result[] = [];
const log = (s: string): void => void (flag('--json') || process.stderr.write(`${s}\n`));
log(`khpkg bench: ${cpus().length} cores (${cpus()[0]?.model}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, ${rounds} rounds + warm-up`);

for (const archive of flag('--only-4x') ? [] : archives) {
  const release = await releaseOf(archive);
  const out = join(WORK, 'out');
  const clean = (): void => {
    rmSync(out, {recursive: true, force: true});
    mkdirSync(out, {recursive: true});
  };
  const size = (ext: string): number => {
    const f = spawnSync('sh', ['-c', `ls ${out}/*.${ext} ${out}/*/*.${ext} 2>/dev/null | head -1`])
      .stdout.toString()
      .trim();
    return f ? statSync(f).size : 0;
  };
  log(`\n${archive} (${release})`);
  if (wants('build')) {
    for (const z of ['xz', 'zstd'] as const) {
      const r = compare(
        `build .deb (${z})`,
        () => [khpkgCmd('build', archive, '-f', 'deb', '-z', z, '-o', out, '-q')],
        () => [...nativeDeb(archive, release, z, join(out, 'native.deb'))],
        clean,
        z === 'xz' ? {wallRatio: 0.6, note: '<= 0.6x, size <= +2%'} : {wallRatio: 1.0, note: '<= 1.0x'},
        undefined,
        archive,
      );
      // Output sizes: each side's own package, built once more.
      clean();
      measure([khpkgCmd('build', archive, '-f', 'deb', '-z', z, '-o', out, '-q')]);
      const ksize = size('deb');
      clean();
      measure(nativeDeb(archive, release, z, join(out, 'native.deb')));
      r.khpkg.size = ksize;
      r.native.size = size('deb');
      if (z === 'xz') r.met = r.met && ksize <= r.native.size * 1.02;
      results.push(r);
      log(row(r));
    }
    for (const [z, payload] of [
      ['xz', 'w6T0.xzdio'],
      ['zstd', 'w3T0.zstdio'],
    ] as const) {
      const r = compare(
        `build .rpm (${z})`,
        () => [khpkgCmd('build', archive, '-f', 'rpm', '-z', z, '-o', out, '-q')],
        () => nativeRpm(archive, release, payload, out),
        clean,
        z === 'xz' ? {note: 'faster than native'} : {wallRatio: 1.0, note: '<= 1.0x'},
        undefined,
        archive,
      );
      if (z === 'xz') r.met = r.ratio <= 1.0;
      results.push(r);
      log(row(r));
    }
    const both = compare(
      'deb + rpm in one call (xz)',
      () => [khpkgCmd('build', archive, '-f', 'deb', '-f', 'rpm', '-o', out, '-q')],
      () => [...nativeDeb(archive, release, 'xz', join(out, 'native.deb')), ...nativeRpm(archive, release, 'w6T0.xzdio', out)],
      clean,
      {wallRatio: 0.5, note: '<= 0.5x the two native pipelines'},
      undefined,
      archive,
    );
    results.push(both);
    log(row(both));
  }
  // BTF (vmlinux.h and the BTF-only vmlinux): what it adds to a build, and khpkg's vmlinux.h beside bpftool's.
  const image = process.env.KHPKG_BENCH_BTF ?? join(TEST_CACHE, `vmlinuz-${release}`);
  if (wants('btf') && existsSync(image)) {
    // What BTF adds to a build (find, parse, vmlinux.h, vmlinux), in zstd and in the default xz: peak RSS <= 1.25x.
    for (const z of ['zstd', 'xz'] as const) {
      const withBtf = compare(
        `build .deb (${z}) with --btf, vs without`,
        () => [khpkgCmd('build', archive, '--btf', image, '-f', 'deb', '-z', z, '-o', out, '-q')],
        () => [khpkgCmd('build', archive, '-f', 'deb', '-z', z, '-o', out, '-q')],
        clean,
        {note: 'what BTF adds; peak RSS <= 1.25x'},
        undefined,
        archive,
      );
      withBtf.met = withBtf.rssRatio <= 1.25;
      results.push(withBtf);
      log(row(withBtf));
    }
    // `btf dump` beside bpftool on the same BTF: the image's (raw, since bpftool cannot read a
    // bzImage) and the running kernel's /sys/kernel/btf/vmlinux where there is one.
    const raw = join(WORK, 'vmlinux.btf');
    const {findBtf} = await import('../../src/btf/image.js');
    writeFileSync(raw, (await findBtf(readFileSync(image), image)).btf);
    const sources: [string, string][] = [[`${release}'s BTF`, raw]];
    if (existsSync('/sys/kernel/btf/vmlinux')) sources.push(['/sys/kernel/btf/vmlinux', '/sys/kernel/btf/vmlinux']);
    for (const [what, file] of sources) {
      const header = compare(
        `btf dump (${what}), vs bpftool btf dump format c`,
        () => [khpkgCmd('btf', 'dump', file, '-o', join(out, 'vmlinux.h'))],
        () => [['sh', '-c', `bpftool btf dump file ${file} format c > ${join(out, 'vmlinux.ref.h')}`]],
        clean,
        {wallRatio: 2.0, note: '<= 2x, < 100 MB; the same bytes (tested); node start-up included'},
        undefined,
        archive,
      );
      header.met = header.met && header.khpkg.rss < 100 * 1024 * 1024;
      results.push(header);
      log(row(header));
    }
    const fromImage = compare(
      'btf dump of the bzImage itself, vs bpftool on its raw BTF',
      () => [khpkgCmd('btf', 'dump', image, '-o', join(out, 'vmlinux.h'))],
      () => [['sh', '-c', `bpftool btf dump file ${raw} format c > ${join(out, 'vmlinux.ref.h')}`]],
      clean,
      {note: 'decompressing the kernel included (bpftool cannot)'},
      undefined,
      archive,
    );
    results.push(fromImage);
    log(row(fromImage));
    // The boot unit on a current set: the digests of what it reads decide (#38): no xz decompressed,
    // no BTF parsed. Beside it, what reading those inputs costs at all (sha256sum of the same files).
    const bootRoot = join(WORK, 'boot-root');
    rmSync(bootRoot, {recursive: true, force: true});
    mkdirSync(bootRoot);
    const config = archive.replace(/\.tar\.xz$/, '.config');
    const bootEnv = [
      `KHPKG_KHEADERS=${archive}`,
      `KHPKG_RUNNING_RELEASE=${release}`,
      `KHPKG_SYSFS_BTF=${raw}`,
      `KHPKG_PROC_CONFIG=${existsSync(config) ? config : join(WORK, 'no-config')}`,
    ];
    const bootCmd = ['env', ...bootEnv, ...khpkgCmd('hooks', 'run', 'boot', '--root', bootRoot)];
    measure([bootCmd]);
    const boot = compare(
      'boot unit, set current, vs sha256sum of what it reads',
      () => [bootCmd],
      () => [['sha256sum', archive, raw, ...(existsSync(config) ? [config] : [])]],
      () => {},
      {note: 'no BTF parsed, nothing decompressed; node start-up included'},
      undefined,
      archive,
    );
    results.push(boot);
    log(row(boot));
  } else if (wants('btf')) log(`  (no BTF case: no ${image}; npm run setup keeps Debian's vmlinuz of ${release}, or set KHPKG_BENCH_BTF)`);

  // BTF made from the headers (#39): one run each (a run is minutes), beside the same build with
  // the kernel's own BTF; then how much of that real BTF the header-made one has, and how exactly.
  if (wants('headers-btf')) {
    const out = join(WORK, 'headers-btf');
    const run = (btf: string): Sample => {
      rmSync(out, {recursive: true, force: true});
      return measure([khpkgCmd('build', archive, '--btf', btf, '-f', 'deb', '-o', out, '-q')], {KHPKG_ROOT: join(WORK, 'registry-root')});
    };
    const made = run('headers');
    const deb = readdirSync(out).find((f) => f.endsWith('.deb'))!;
    const x = join(WORK, 'headers-btf-x');
    rmSync(x, {recursive: true, force: true});
    spawnSync('dpkg-deb', ['-x', join(out, deb), x]);
    const vmlinux = join(x, 'usr/src', readdirSync(join(x, 'usr/src'))[0]!, 'vmlinux');
    const {findBtf} = await import('../../src/btf/image.js');
    const {parseBtf} = await import('../../src/btf/btf.js');
    const {scoreLayouts, percent} = await import('../../src/btf/score.js');
    const headerBtf = parseBtf((await findBtf(readFileSync(vmlinux), vmlinux)).btf);
    if (existsSync(image)) {
      const real = run(image);
      const r = singleRun(
        archive,
        "build .deb --btf headers, vs --btf with the kernel's own BTF",
        made,
        real,
        'one run each; compiling every header of the set',
        true,
      );
      results.push(r);
      log(row(r));
      const score = scoreLayouts(parseBtf((await findBtf(readFileSync(image), image)).btf), headerBtf);
      log(
        `  header-made BTF of ${release}: ${score.present} of ${score.real} named structs/unions present (${percent(score.present, score.real)}, target 60%), ${score.exact} with the kernel's layout (${percent(score.exact, score.present)}, target 99%)`,
      );
    } else log(`  build --btf headers: ${made.wall.toFixed(1)} s, peak RSS ${mb(made.rss)} (no ${image} to score it against)`);
  }

  if (wants('install')) {
    // install: into a fresh root each time, vs tar -xJf into the same file system, vs dpkg --root -i.
    clean();
    measure([khpkgCmd('build', archive, '-f', 'deb', '-o', out, '-q')]);
    const deb = spawnSync('sh', ['-c', `ls ${out}/*.deb`])
      .stdout.toString()
      .trim();
    const fresh = join(WORK, 'root');
    const prepRoot = (): void => {
      rmSync(fresh, {recursive: true, force: true});
      for (const d of ['var/lib/dpkg/info', 'var/lib/dpkg/updates', 'var/lib/dpkg/triggers']) mkdirSync(join(fresh, d), {recursive: true});
      writeFileSync(join(fresh, 'var/lib/dpkg/status'), '');
      writeFileSync(join(fresh, 'var/lib/dpkg/available'), '');
    };
    const inst = compare(
      'install vs tar -xJf',
      () => [khpkgCmd('install', archive, '--root', fresh, '-q')],
      () => [['tar', '-xJf', archive, '-C', fresh]],
      prepRoot,
      {wallRatio: 1.5, note: '<= 1.5x'},
      undefined,
      archive,
    );
    results.push(inst);
    log(row(inst));
    const instDpkg = compare(
      'install vs dpkg --root -i',
      () => [khpkgCmd('install', archive, '--root', fresh, '-q')],
      () => [['dpkg', `--root=${fresh}`, '--log=/dev/null', '--force-script-chrootless', '-i', deb]],
      prepRoot,
      {wallRatio: 1.0, note: '< 1.0x'},
      undefined,
      archive,
    );
    results.push(instDpkg);
    log(row(instDpkg));
  }
}

if (wants('list')) {
  // list --json with 100 releases registered, vs node's own start-up.
  const listRoot = join(WORK, 'list-root');
  mkdirSync(listRoot, {recursive: true});
  const registry = Registry.open(listRoot, {create: true})!;
  const xSha = createHash('sha256').update('x').digest('hex');
  for (let i = 0; i < 100; i++) {
    const release = `6.1.${i}-bench`;
    mkdirSync(join(listRoot, `usr/src/linux-headers-${release}/include`), {recursive: true});
    writeFileSync(join(listRoot, `usr/src/linux-headers-${release}/include/x.h`), 'x', {mode: 0o644});
    const op = registry.beginOperation({kind: 'install', release, phase: 'bench', treePath: `usr/src/linux-headers-${release}`});
    registry.recordInstall(
      {
        release,
        version: `6.1.${i}`,
        srcarch: 'x86',
        debArch: 'amd64',
        rpmArch: 'x86_64',
        layout: 'debian',
        path: `usr/src/linux-headers-${release}`,
        sourceKind: 'file',
        sourcePath: '/x',
        sourceSha256: '0'.repeat(64),
        installedAt: new Date().toISOString(),
        files: 1,
        bytes: 1,
        state: 'installed',
      },
      [{path: `usr/src/linux-headers-${release}/include/x.h`, type: 'file', mode: 0o644, size: 1, sha256: xSha}],
      op,
    );
  }
  registry.close();
  const list = compare(
    'list --json (100 releases) vs node -e 0',
    () => [khpkgCmd('list', '--json', '--root', listRoot)],
    () => [[process.execPath, '-e', '0']],
    () => undefined,
    {wallRatio: 2.5, note: '<= 2.5x'},
  );
  results.push(list);
  log(row(list));
  // Every read command is called in loops by automation: each --json answer within 2x node's start-up.
  const reads: [string, string[]][] = [
    ['info', ['info', '6.1.7-bench']],
    ['files', ['files', '6.1.7-bench']],
    ['owns', ['owns', '/usr/src/linux-headers-6.1.7-bench/include/x.h']],
    ['verify', ['verify', '6.1.7-bench']],
    ['status', ['status']],
  ];
  for (const [name, args] of reads) {
    const r = compare(
      `${name} --json vs node -e 0`,
      () => [khpkgCmd(...args, '--json', '--root', listRoot)],
      () => [[process.execPath, '-e', '0']],
      () => undefined,
      {wallRatio: 2, note: '<= 2x'},
    );
    results.push(r);
    log(row(r));
  }
  const v = compare(
    '--version vs node -e 0',
    () => [khpkgCmd('--version')],
    () => [[process.execPath, '-e', '0']],
    () => undefined,
    {wallRatio: 2, note: '<= 2x'},
  );
  results.push(v);
  log(row(v));
  // The release (npm run dist) answers as fast as the checkout: its own Node, through its launcher.
  const stage = join(ROOT, 'release', 'stage');
  const launcher = existsSync(stage)
    ? readdirSync(stage)
        .map((d) => join(stage, d, 'khpkg'))
        .find((f) => existsSync(f))
    : undefined;
  if (launcher) {
    const r = compare(
      'list --json: release launcher vs checkout',
      () => [[launcher, 'list', '--json', '--root', listRoot]],
      () => [khpkgCmd('list', '--json', '--root', listRoot)],
      () => undefined,
      {wallRatio: 1.15, note: '<= 1.15x (the launcher forks once)'},
    );
    results.push(r);
    log(row(r));
  } else log('release start-up: not measured (no release/stage: run npm run dist first)');
}

// Memory must not grow with the archive: the same build on an archive 4x the size.
if (!flag('--no-4x') && wants('4x')) {
  const big = await fourTimes(archives[0]!);
  const out = join(WORK, 'out4');
  const one = measure([khpkgCmd('build', archives[0]!, '-f', 'deb', '-z', 'zstd', '-o', out, '-q')]);
  const four = measure([khpkgCmd('build', big, '-f', 'deb', '-z', 'zstd', '-o', out, '-q')]);
  mkdirSync(join(WORK, 'r1'));
  mkdirSync(join(WORK, 'r4'));
  const inst1 = measure([khpkgCmd('install', archives[0]!, '--root', join(WORK, 'r1'), '-q')]);
  const inst4 = measure([khpkgCmd('install', big, '--root', join(WORK, 'r4'), '-q')]);
  log(
    `\npeak RSS on a 4x archive (${statSync(big).size} bytes): build .deb zstd ${mb(one.rss)} -> ${mb(four.rss)}; install ${mb(inst1.rss)} -> ${mb(inst4.rss)}`,
  );
  results.push(singleRun(big, 'build .deb zstd, 1x -> 4x archive', four, one, 'RSS flat', four.rss < one.rss * 1.5));
}

// Headers from distro kernel packages: Debian's real linux-image .deb (kheaders.ko.xz put in, as
// Ubuntu and Fedora carry it), against doing it by hand; then two kernels at once, per kernel.
if (wants('kpkg') && !flag('--only-4x')) {
  const release = '6.12.117+deb12-amd64';
  const original = debianKernelDeb(release);
  if (!original) log(`\nkernel packages: not measured (no linux-image-${release}-unsigned in ${TEST_CACHE}: npm run setup keeps it)`);
  else {
    const fixture = join(ROOT, 'test/fixtures/6.12.117+deb12-amd64-x86_64.tar.xz');
    const pkg = debianKernelDebWithKheaders(original, release, fixture, WORK);
    const out = join(WORK, 'kpkg-out');
    const unpacked = join(WORK, 'kpkg-unpacked');
    const clean = (): void => {
      rmSync(out, {recursive: true, force: true});
      rmSync(unpacked, {recursive: true, force: true});
    };
    log(`\nkernel packages: ${pkg} (${mb(statSync(pkg).size)})`);
    const byHand = (): string[][] => [
      ['dpkg-deb', '-x', pkg, unpacked],
      khpkgCmd(
        'build',
        join(unpacked, `lib/modules/${release}/kernel/kernel/kheaders.ko.xz`),
        '--config',
        join(unpacked, `boot/config-${release}`),
        '--btf',
        join(unpacked, `boot/vmlinuz-${release}`),
        '-f',
        'deb',
        '-o',
        out,
        '-q',
      ),
    ];
    const r = compare('build .deb from the kernel .deb, vs dpkg-deb -x + build', () => [khpkgCmd('build', pkg, '-f', 'deb', '-o', out, '-q')], byHand, clean, {
      wallRatio: 1.0,
      note: '<= 1.0x unpacking by hand',
    });
    results.push(r);
    log(row(r));
    const r72 = join(ROOT, 'test/fixtures/7.2.13+deb14-cloud-amd64-x86_64.tar.xz');
    const rel72 = '7.2.13+deb14-cloud-amd64';
    const second = kernelDeb(WORK, `linux-modules-${rel72}`, '7.2.13-1', {
      [`boot/config-${rel72}`]: {from: join(ROOT, 'test/fixtures/7.2.13+deb14-cloud-amd64-x86_64.config')},
      [`lib/modules/${rel72}/kernel/kernel/kheaders.ko.xz`]: {from: kheadersKoXz(WORK, r72, rel72)},
    });
    for (const jobs of ['1', '2']) {
      clean();
      const t = measure([khpkgCmd('build', pkg, second, '-f', 'deb', '-f', 'rpm', '--jobs', jobs, '-o', out, '--json')]);
      clean();
      const json = JSON.parse(
        spawnSync(process.execPath, [BIN, 'build', pkg, second, '-f', 'deb', '-f', 'rpm', '--jobs', jobs, '-o', out, '--json']).stdout.toString(),
      ) as {
        kernels: {release: string; seconds: number; ok: boolean}[];
      };
      log(
        `  two kernels, deb + rpm, --jobs ${jobs}: ${t.wall.toFixed(1)} s, peak RSS ${mb(t.rss)}; per kernel: ${json.kernels.map((k) => `${k.release} ${k.seconds} s${k.ok ? '' : ' (failed)'}`).join(', ')}`,
      );
    }
  }
}

// khpkg repo at fleet size: adding one package to repositories of 100, 1,000 and 5,000 packages.
if (wants('repo') && !flag('--only-4x')) {
  log('\nrepository at fleet size (half .deb, half .rpm; native: dpkg-scanpackages + createrepo_c --update)');
  const {rows, aptDnf} = await repoTable(WORK, [100, 1000, 10000], khpkgCmd);
  log('| packages | first index (khpkg) | add one (khpkg) | add one (native) | packages read | peak RSS (add one) |');
  log('|---:|---:|---:|---:|---:|---:|');
  for (const r of rows)
    log(`| ${r.packages} | ${r.first.wall.toFixed(2)} s | ${r.addOne.wall.toFixed(2)} s | ${r.native.wall.toFixed(2)} s | ${r.read} | ${mb(r.addOne.rss)} |`);
  log(`10,000: ${aptDnf}`);
  for (const r of rows)
    results.push({
      archive: '',
      case: `repo: add one to ${r.packages}`,
      khpkg: {wall: r.addOne.wall, cpu: 0, rss: r.addOne.rss},
      native: {wall: r.native.wall, cpu: 0, rss: r.native.rss},
      ratio: r.addOne.wall / r.native.wall,
      rssRatio: r.addOne.rss / r.native.rss,
      target: 'linear in what changed + one index rewrite',
      met: r.read === 1,
    });
}

if (flag('--json'))
  process.stdout.write(
    `${JSON.stringify({machine: {cores: cpus().length, cpu: cpus()[0]?.model, memGiB: Math.round(totalmem() / 2 ** 30), node: process.version}, rounds, results}, null, 2)}\n`,
  );

function mb(b: number): string {
  return `${Math.round(b / 2 ** 20)} MB`;
}

function row(r: Result): string {
  const sz = r.khpkg.size && r.native.size ? `, size ${r.khpkg.size} vs ${r.native.size} (${((r.khpkg.size / r.native.size - 1) * 100).toFixed(1)}%)` : '';
  return `${r.case.padEnd(42)} khpkg ${r.khpkg.wall.toFixed(2)}s cpu ${r.khpkg.cpu.toFixed(1)}s rss ${mb(r.khpkg.rss)} | native ${r.native.wall.toFixed(2)}s cpu ${r.native.cpu.toFixed(1)}s rss ${mb(r.native.rss)} | ratio ${r.ratio.toFixed(2)} (${r.target}: ${r.met ? 'met' : 'NOT met'})${sz}`;
}
