import {existsSync, lstatSync, renameSync, rmSync, symlinkSync, chmodSync} from 'node:fs';
import {createHash} from 'node:crypto';
import {basename, dirname, resolve} from 'node:path';
import {KhpkgError} from '../errors.js';
import type {Limits} from '../archive/limits.js';
import {scanArchive, type ArchiveScan, type Progress, type ScannedEntry} from '../archive/scan.js';
import {INFO_FILES} from '../archive/info.js';
import {checkConfigMatches, parseConfig, type KernelConfig} from '../content/config.js';
import {headersPlan, treeDirFor, type Layout} from '../content/headers.js';
import {buildTimestamp, type PackageEntry} from '../content/plan.js';
import {feedPlans} from '../pipeline/feed.js';
import {Registry} from '../registry/registry.js';
import type {HeaderSet} from '../registry/types.js';
import type {ArchiveSource} from '../source/index.js';
import {runHeaderHooks, type HookResult} from './hooks.js';
import {lockRoot} from './lock.js';
import {buildLinkTarget, checkWritable, ensureDirInRoot, inRoot, linkPointsAt, makeDirsInRoot, removeEmptyDirs} from './paths.js';
import {recover, scanDirName} from './recover.js';
import {ScanStage, StageSink} from './stage.js';
import {buildKbuildKit, type KbuildInputs} from '../kbuild/kit.js';

export interface InstallOptions {
  /** Absolute, resolved root (see resolveRoot). */
  root: string;
  layout: Layout;
  config?: {bytes: Buffer; origin: string};
  force: boolean;
  hooks: boolean;
  waitSeconds: number;
  limits: Limits;
  onProgress?: Progress;
  /** Make a module-build tree (`--kbuild`). */
  kbuild?: KbuildInputs;
}

export interface InstallResult {
  release: string;
  path: string;
  status: 'installed' | 'replaced' | 'unchanged';
  files: number;
  bytes: number;
  recovered: string[];
  hooks: HookResult[];
  tier: 'headers' | 'kbuild';
  kbuild?: HeaderSet['kbuild'];
}

/**
 * read + stage (one pass, without the lock) → check → extras → rename → swap link → commit (under
 * the root lock). A crash at any point leaves the old state or the new one: a scan dir whose process
 * is gone is a leftover, the operation row committed before the swap tells the next command what to
 * undo, and the registry commit is the moment the new state becomes true.
 */
export async function installHeaders(source: ArchiveSource, opts: InstallOptions): Promise<InstallResult> {
  const {root} = opts;
  await checkWritable(root, ['usr/src', 'lib/modules', 'var/lib/khpkg']);
  const configInput = opts.config ?? (source.defaultConfig && {bytes: source.defaultConfig, origin: source.kind === 'running-kernel' ? '/proc/config.gz' : `${source.origin}: .config`});
  const config = configInput && {origin: configInput.origin, parsed: parseConfig(configInput.bytes, configInput.origin)};
  const wanted: Wanted = {
    config: config?.parsed,
    configOrigin: config?.origin,
    configSha256: config && createHash('sha256').update(config.parsed.text).digest('hex'),
    tier: opts.kbuild ? 'kbuild' : 'headers',
  };
  const previousUmask = process.umask(0o022);
  // The tree is written while the archive is read, beside where it will go, unless it is installed
  // already (the usual case when run on every boot): then reading alone decides.
  const parent = dirname(treeDirFor(opts.layout, 'any'));
  const made: string[] = [];
  let scan: ArchiveScan | undefined;
  let result: InstallResult | undefined;
  try {
    if (opts.force || !alreadyInstalled(root, source.sha256, opts.layout, wanted)) {
      wanted.scanStage = openScanStage(root, parent, made);
    }
    const stage = wanted.scanStage;
    const onEntry = stage && (async (e: ScannedEntry, data: Buffer | undefined): Promise<void> => {
      await stage.add(e, data);
      if (stage.written === 500) crashPoint('mid-stage');
    });
    // The kbuild kit is built from the tar again; a plain install needs no second read.
    scan = await scanArchive(source.bytes, opts.limits, opts.onProgress, source.sha256, {keepTar: Boolean(opts.kbuild), onEntry});
    await stage?.done();
    result = await installScanned(scan, source, opts, wanted);
  } finally {
    scan?.tar?.close();
    // Renamed into place on success; otherwise no install may leave it, nor the dirs made for it.
    if (wanted.scanStage) {
      await wanted.scanStage.close();
      rmSync(wanted.scanStage.dirAbs, {recursive: true, force: true});
    }
    if (!result || result.status === 'unchanged') removeEmptyDirs(made);
    process.umask(previousUmask);
  }
  // After the lock: a hook may well call khpkg itself.
  if (opts.hooks && result.status !== 'unchanged') result.hooks = await runHeaderHooks(opts.root, result.release);
  return result;
}

/** What the caller asked for, settled before the archive is read. */
interface Wanted {
  config?: KernelConfig;
  configOrigin?: string;
  configSha256?: string;
  tier: 'headers' | 'kbuild';
  /** The tree as the first read wrote it; absent when it was installed already. */
  scanStage?: ScanStage;
}

/** The installed set is this archive with these settings: installing again changes nothing. */
function isSameInstall(set: HeaderSet, sha256: string, layout: Layout, wanted: Wanted): boolean {
  return set.sourceSha256 === sha256 && set.layout === layout && set.configSha256 === wanted.configSha256 && (set.tier ?? 'headers') === wanted.tier && set.via !== 'dpkg' && set.via !== 'rpm';
}

/** A look without the lock: is this very archive installed with these settings? Checked again under it. */
function alreadyInstalled(root: string, sha256: string, layout: Layout, wanted: Wanted): boolean {
  const registry = Registry.open(root);
  if (!registry) return false;
  try {
    return registry.installed().some((set) => isSameInstall(set, sha256, layout, wanted));
  } finally {
    registry.close();
  }
}

/**
 * The scan dir, beside where the tree goes; `made` gets the dirs made for it. It is made without the
 * lock, so another install may remove an empty parent it made itself (its archive was installed
 * already) between our making sure of that parent and our mkdir: then make sure again.
 */
function openScanStage(root: string, parent: string, made: string[]): ScanStage {
  for (let attempt = 1; ; attempt++) {
    made.push(...makeDirsInRoot(root, parent));
    try {
      return new ScanStage(inRoot(root, `${parent}/${scanDirName()}`));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || attempt === 5) throw e;
    }
  }
}

async function installScanned(scan: ArchiveScan, source: ArchiveSource, opts: InstallOptions, wanted: Wanted): Promise<InstallResult> {
  const {root} = opts;
  const archive = scan.tar ?? source.bytes;
  const {release} = scan.info;
  const {config, configSha256, tier} = wanted;
  if (config && wanted.configOrigin) checkConfigMatches(config, scan.captured.get(INFO_FILES.autoconf), wanted.configOrigin);
  const treeRel = treeDirFor(opts.layout, release);
  const treeAbs = inRoot(root, treeRel);
  const linkRel = `lib/modules/${release}/build`;
  // Before the lock: building kbuild's host programs takes a while, and touches only a temp dir.
  const kit = opts.kbuild && (await buildKbuildKit(scan, archive, config, opts.kbuild, opts.limits));
  const kbuild = kit && {source: resolve(kit.sourcePath), sourceVersion: kit.sourceVersion, symversFrom: kit.symvers?.from, symversSymbols: kit.symvers?.symbols};

  const lock = lockRoot(root, opts.waitSeconds);
  let registry: Registry | undefined;
  try {
    registry = Registry.open(root, {create: true})!;
    const recovered = recover(root, registry);
    const existing = registry.get(release);
    if (existing?.via === 'dpkg' || existing?.via === 'rpm') {
      throw new KhpkgError('conflict', `headers for ${release} are installed through ${existing.via} (${existing.package}): remove them first, or install with --via ${existing.via}`);
    }
    if (existing && !opts.force && isSameInstall(existing, source.sha256, opts.layout, wanted)) {
      return {release, path: `/${existing.path}`, status: 'unchanged', files: existing.files, bytes: existing.bytes, recovered, hooks: [], tier, kbuild: existing.kbuild};
    }
    if (existing && !opts.force && existing.sourceSha256 === source.sha256 && existing.configSha256 === configSha256 && (existing.tier ?? 'headers') !== tier) {
      throw new KhpkgError('conflict', `headers for ${release} are installed as a ${existing.tier === 'kbuild' ? 'module-build' : 'headers-only'} tree: pass --force to replace it with a ${tier === 'kbuild' ? 'module-build' : 'headers-only'} one`);
    }
    if (existing && !opts.force) {
      throw new KhpkgError(
        'conflict',
        `headers for ${release} are already installed from another archive or config (sha256 ${existing.sourceSha256.slice(0, 12)}…, installed ${existing.installedAt}): pass --force to replace them`,
      );
    }
    if (existing && existing.path !== treeRel) {
      throw new KhpkgError('conflict', `headers for ${release} are installed at /${existing.path}: remove them first to change the layout`);
    }
    if (!existing && existsSync(treeAbs) && !opts.force) {
      throw new KhpkgError('conflict', `/${treeRel} exists and khpkg did not install it (a distro package?): remove it, or pass --force to replace it`);
    }
    const link = lstatSync(inRoot(root, linkRel), {throwIfNoEntry: false});
    if (link && !opts.force && !linkPointsAt(root, linkRel, treeRel)) {
      throw new KhpkgError('conflict', `/${linkRel} exists and points elsewhere: pass --force to point it at the new headers`);
    }

    const time = buildTimestamp(scan);
    const plan = headersPlan(scan, opts.layout, config, time, kit?.files).build();
    const parent = dirname(treeRel);
    ensureDirInRoot(root, parent);
    const stageRel = wanted.scanStage ? `${parent}/${basename(wanted.scanStage.dirAbs)}` : `${parent}/.khpkg-stage-${release}-${process.pid}`;
    const oldRel = `${parent}/.khpkg-old-${release}-${process.pid}`;
    const op = registry.beginOperation({kind: 'install', release, phase: 'staging', treePath: treeRel, stagePath: stageRel, oldPath: oldRel});
    const stage = new StageSink(treeRel, inRoot(root, stageRel));
    try {
      if (wanted.scanStage) {
        await stage.addExtras(plan);
      } else {
        let fed = 0;
        const sink = {add: (e: PackageEntry, d: Buffer | undefined) => (++fed === 500 && crashPoint('mid-stage'), stage.add(e, d))};
        await feedPlans([{plan, sink}], archive, opts.limits, opts.onProgress);
      }
      crashPoint('staged');
      chmodSync(inRoot(root, stageRel), 0o755);
      for (const d of stage.outsideDirs) ensureDirInRoot(root, d);
      registry.setPhase(op, 'swapping');
      crashPoint('swapping');
      if (existsSync(treeAbs)) renameSync(treeAbs, inRoot(root, oldRel));
      crashPoint('old-moved');
      renameSync(inRoot(root, stageRel), treeAbs);
      crashPoint('new-in-place');
      const link = stage.buildLink!;
      const target = buildLinkTarget(root, link.path, treeRel);
      const record = stage.records.find((r) => r.path === link.path);
      if (record) record.linkTarget = target;
      swapLink(root, link.path, target);
      crashPoint('linked');
    } catch (e) {
      recover(root, registry);
      throw e;
    }
    const set: HeaderSet = {
      release,
      version: scan.info.version,
      srcarch: scan.info.srcarch,
      debArch: scan.info.debArch,
      rpmArch: scan.info.rpmArch,
      layout: opts.layout,
      path: treeRel,
      sourceKind: source.kind,
      sourcePath: ['file', 'module', 'deb', 'rpm'].includes(source.kind) ? resolve(source.origin) : source.origin,
      sourceSha256: source.sha256,
      configSha256,
      installedAt: new Date().toISOString(),
      files: stage.records.filter((r) => r.type !== 'dir').length,
      bytes: stage.bytes,
      state: 'installed',
      tier,
      kbuild,
    };
    registry.recordInstall(set, stage.records, op);
    crashPoint('committed');
    rmSync(inRoot(root, oldRel), {recursive: true, force: true});
    return {release, path: `/${treeRel}`, status: existing ? 'replaced' : 'installed', files: set.files, bytes: set.bytes, recovered, hooks: [], tier, kbuild};
  } finally {
    registry?.close();
    lock.release();
  }
}

/** A new link under a temporary name, renamed over the old one: never a moment without a link. */
function swapLink(root: string, linkRel: string, target: string): void {
  const abs = inRoot(root, linkRel);
  // Only reached with --force when a real directory is there (a hand-unpacked kheaders, say).
  if (lstatSync(abs, {throwIfNoEntry: false})?.isDirectory()) rmSync(abs, {recursive: true, force: true});
  const tmp = `${dirname(abs)}/${basename(abs)}.khpkg-tmp-${process.pid}`;
  rmSync(tmp, {force: true});
  symlinkSync(target, tmp);
  renameSync(tmp, abs);
}

/**
 * For the crash tests: `KHPKG_CRASH_AT=<point>` kills the process with SIGKILL right there, so each
 * window between two steps can be shown to recover. Costs one env lookup per step otherwise.
 */
function crashPoint(name: string): void {
  if (process.env.KHPKG_CRASH_AT === name) process.kill(process.pid, 'SIGKILL');
}
