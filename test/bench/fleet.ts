/**
 * The fleet cases of `npm run bench`: headers from distro kernel packages (time and peak RSS per
 * kernel), and `khpkg repo` at fleet size (adding one package to repositories of 100, 1,000 and
 * 5,000, beside dpkg-scanpackages and createrepo_c --update), with apt and dnf reading the largest.
 */
import {spawnSync} from 'node:child_process';
import {existsSync, linkSync, mkdirSync, readdirSync, rmSync, writeFileSync} from 'node:fs';
import {basename, join} from 'node:path';
import {PlanBuilder} from '../../src/content/plan.js';
import type {PackageMeta} from '../../src/content/package-meta.js';
import {formatRow} from '../../src/formats/table.js';
import {writePlannedPackage} from '../../src/formats/write-plan.js';
import type {Format} from '../../src/formats/writer.js';

export interface Timed {
  wall: number;
  rss: number;
  stdout: string;
}

/** Under GNU time: wall seconds, peak RSS bytes, and what it printed. */
export function timed(cmd: string[], env: Record<string, string> = {}): Timed {
  const out = join(process.env.TMPDIR ?? '/tmp', `khpkg-bench-time-${process.pid}`);
  const r = spawnSync('/usr/bin/time', ['-o', out, '-f', '%e %M', ...cmd], {env: {...process.env, ...env}, maxBuffer: 1 << 28});
  if (r.status !== 0 && r.status !== 3) throw new Error(`${cmd.join(' ').slice(0, 200)} exited ${r.status}: ${r.stderr.toString().slice(0, 500)}`);
  const [wall, rss] = spawnSync('tail', ['-1', out]).stdout.toString().trim().split(' ').map(Number);
  return {wall: wall!, rss: rss! * 1024, stdout: r.stdout.toString()};
}

/** A small headers-like package, `i`-th of a generated fleet: one header file, its own release. */
async function smallPackage(format: Format, i: number, outDir: string): Promise<string> {
  const release = `6.12.${i}-bench-amd64`;
  const time = 1_700_000_000;
  const meta: PackageMeta = {
    name: format === 'deb' ? `linux-headers-${release}` : 'kernel-devel',
    version: format === 'deb' ? `6.12.${i}` : `6.12.${i}_bench_amd64`,
    release: '1',
    arch: format === 'deb' ? 'amd64' : 'x86_64',
    maintainer: 'khpkg bench <bench@khpkg.invalid>',
    summary: `Header files for Linux ${release} (generated for the repository bench)`,
    description: ['A generated package: repository indexes at fleet size.'],
    homepage: 'https://example.invalid/khpkg',
    license: 'GPL-2.0-only',
    section: format === 'deb' ? 'kernel' : 'Development/System',
    provides: format === 'rpm' ? [{name: 'kernel-devel-uname-r', op: '=', version: release}] : [],
    depends: [],
    scripts: {},
    copyright: 'GPL-2.0-only',
    changes: 'generated',
  };
  const plan = new PlanBuilder(`usr/src/linux-headers-${release}`, {clamp: time}, new Set(['usr', 'usr/src'])).openTree(time).setTimestamp(time);
  plan.addExtra({path: 'include/generated/utsrelease.h', data: Buffer.from(`#define UTS_RELEASE "${release}"\n`), mode: 0o644});
  const a = await writePlannedPackage(
    formatRow(format).packager,
    {meta, compression: 'gzip', packagesAtOnce: 1, outDir, time: {clamp: time, tree: time}},
    plan,
    time,
  );
  return a.path;
}

/** `n` packages, half .deb and half .rpm, made once in `dir` (kept for the larger sizes). */
export async function fleetPackages(dir: string, n: number): Promise<string[]> {
  mkdirSync(dir, {recursive: true});
  const have = new Set(readdirSync(dir));
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const format: Format = i % 2 === 0 ? 'deb' : 'rpm';
    const expected = format === 'deb' ? `linux-headers-6.12.${i}-bench-amd64_6.12.${i}-1_amd64.deb` : `kernel-devel-6.12.${i}_bench_amd64-1.x86_64.rpm`;
    out.push(have.has(expected) ? join(dir, expected) : await smallPackage(format, i, dir));
  }
  return out;
}

export interface RepoRow {
  packages: number;
  /** `khpkg repo DIR <every package>`: the first index of the whole pool. */
  first: Timed;
  /** Adding one package to that repository (what was read before comes from the registry). */
  addOne: Timed;
  /** The native tools re-indexing the pool with one more package: dpkg-scanpackages (all debs) and createrepo_c --update. */
  native: {wall: number; rss: number};
  read: number;
}

/** The repository table: one row per size, each with khpkg and the native indexers, in one run. */
export async function repoTable(work: string, sizes: number[], khpkg: (...a: string[]) => string[]): Promise<{rows: RepoRow[]; aptDnf: string}> {
  const all = await fleetPackages(join(work, 'fleet-pkgs'), Math.max(...sizes) + sizes.length);
  const rows: RepoRow[] = [];
  let extra = Math.max(...sizes);
  for (const n of sizes) {
    const repo = join(work, `repo-${n}`);
    const registry = join(work, `repo-${n}-root`);
    rmSync(repo, {recursive: true, force: true});
    rmSync(registry, {recursive: true, force: true});
    mkdirSync(registry, {recursive: true});
    const first = timed(khpkg('repo', repo, ...all.slice(0, n), '--root', registry, '-q'));
    const one = all[extra++]!;
    const addOne = timed(khpkg('repo', repo, one, '--root', registry, '--json'));
    const read = (JSON.parse(addOne.stdout) as {read: number}).read;
    // Native: the same pool, indexed again after one package more (createrepo_c's cache keeps what it read).
    const nativeDir = join(work, `native-${n}`);
    rmSync(nativeDir, {recursive: true, force: true});
    mkdirSync(join(nativeDir, 'pool'), {recursive: true});
    for (const p of all.slice(0, n)) linkSync(p, join(nativeDir, 'pool', basename(p)));
    spawnSync('createrepo_c', ['-q', nativeDir]);
    spawnSync('cp', ['-l', one, join(nativeDir, 'pool/')]);
    const scan = timed(['sh', '-c', `cd '${nativeDir}' && dpkg-scanpackages -m pool /dev/null 2>/dev/null | xz > Packages.xz`]);
    const update = timed(['createrepo_c', '-q', '--update', nativeDir]);
    rows.push({packages: n, first, addOne, native: {wall: scan.wall + update.wall, rss: Math.max(scan.rss, update.rss)}, read});
  }
  const largest = join(work, `repo-${Math.max(...sizes)}`);
  return {rows, aptDnf: aptAndDnfRead(work, largest)};
}

/** apt-get update and dnf makecache against the repository alone, in private state: what each reports. */
function aptAndDnfRead(work: string, repo: string): string {
  const apt = join(work, 'apt-state');
  rmSync(apt, {recursive: true, force: true});
  for (const d of ['lists/partial', 'cache/archives/partial', 'etc/trusted.gpg.d', 'etc/apt.conf.d', 'etc/preferences.d'])
    mkdirSync(join(apt, d), {recursive: true});
  writeFileSync(join(apt, 'status'), '');
  writeFileSync(join(apt, 'etc/sources.list'), `deb [trusted=yes] file:${repo} stable main\n`);
  const conf = join(apt, 'apt.conf');
  writeFileSync(
    conf,
    [
      `Dir::State "${apt}";`,
      `Dir::State::Lists "${apt}/lists";`,
      `Dir::State::status "${apt}/status";`,
      `Dir::Cache "${apt}/cache";`,
      `Dir::Etc "${apt}/etc";`,
      'APT::Architecture "amd64";',
      'APT::Sandbox::User "root";',
      '',
    ].join('\n'),
  );
  const aptOk = spawnSync('apt-get', ['update'], {env: {...process.env, APT_CONFIG: conf}}).status === 0;
  const listed = spawnSync('sh', ['-c', `APT_CONFIG='${conf}' apt-cache pkgnames linux-headers- | wc -l`])
    .stdout.toString()
    .trim();
  const dnfDir = join(work, 'dnf-state');
  rmSync(dnfDir, {recursive: true, force: true});
  mkdirSync(join(dnfDir, 'root'), {recursive: true});
  const dnfArgs = [
    '-y',
    '--disableplugin=local',
    `--installroot=${dnfDir}/root`,
    '--setopt=reposdir=/dev/null',
    `--setopt=cachedir=${dnfDir}/cache`,
    '--releasever=1',
    `--repofrompath=kh,file://${repo}`,
    '--setopt=kh.gpgcheck=0',
  ];
  const dnfOk = existsSync('/usr/bin/dnf') && spawnSync('dnf', [...dnfArgs, 'makecache'], {maxBuffer: 1 << 26}).status === 0;
  const found = dnfOk
    ? spawnSync('sh', ['-c', `dnf ${dnfArgs.map((a) => `'${a}'`).join(' ')} -q repoquery --whatprovides 'kernel-devel-uname-r' 2>/dev/null | wc -l`])
        .stdout.toString()
        .trim()
    : '0';
  return `apt-get update ${aptOk ? 'ok' : 'FAILED'} (${listed} linux-headers packages listed); dnf makecache ${dnfOk ? 'ok' : 'FAILED'} (${found} kernel-devel packages)`;
}
