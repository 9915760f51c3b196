import {chmodSync, existsSync, linkSync, lstatSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync} from 'node:fs';
import {createHash} from 'node:crypto';
import {basename, dirname} from 'node:path';
import {KhpkgError} from '../errors.js';
import type {Limits} from '../archive/limits.js';
import {scanArchive, type ArchiveScan, type Progress, type ScannedEntry} from '../archive/scan.js';
import {INFO_FILES} from '../archive/info.js';
import {checkConfigMatches, parseConfig, type KernelConfig} from '../content/config.js';
import {headersPlan, kernelLinks, LAYOUTS, SHARED_DIRS, treeDirFor, type Layout} from '../content/headers.js';
import {buildTimestamp, type ContentPlan, type PackageEntry} from '../content/plan.js';
import type {ArchiveInput} from '../archive/reader.js';
import {onInterrupt} from '../interrupt.js';
import {foreignOwners, ownedError, type ForeignOwner} from './owners.js';
import {quickCheck} from './verify.js';
import {feedPlans} from '../content/feed.js';
import {Registry} from '../registry/registry.js';
import type {FileRecord, HeaderSet} from '../registry/types.js';
import {checkExpectedRelease, configFor, recordedOrigin, type ArchiveSource} from '../source/index.js';
import {runHeaderHooks, type HookResult} from './hooks.js';
import {lockRoot} from '../registry/lock.js';
import {buildLinkTarget, checkWritable, ensureDirInRoot, inRoot, linkLeadsInto, makeDirsInRoot, removeEmptyDirs} from '../root/paths.js';
import {recover, scanDirName} from './recover.js';
import {ScanStage, StageSink} from './stage.js';
import {buildKbuildKit, kitRecord, type KbuildInputs, type KbuildKit} from '../kbuild/kit.js';
import {HEADERS_ORIGIN, headerMadeBtf, headerProgress} from '../source/header-btf.js';
import {readKhpkgConf} from '../root/conf.js';
import {btfFiles, btfRecord, rawBtfDigest, readKernelBtf, settleBtf, type BtfRecord, type KernelBtf} from '../source/btf.js';

export interface InstallOptions {
  /** Absolute, resolved root (see resolveRoot). */
  root: string;
  layout: Layout;
  config?: {bytes: Buffer; origin: string};
  /** Replace headers installed from other content or config, or a tree nobody recorded. */
  force: boolean;
  /** Rewrite every file of an installed set of the same headers (repair). */
  reinstall?: boolean;
  /** Replace a set khpkg installed when these headers differ (the boot unit: the running kernel is the truth); less than --force. */
  replaceStale?: boolean;
  /** Mend a damaged set of the same headers rather than refuse (the hooks and the boot unit: offline, from the kernel's own kheaders). */
  repair?: boolean;
  hooks: boolean;
  waitSeconds: number;
  limits: Limits;
  onProgress?: Progress;
  /** Make a module-build tree (`--kbuild`). */
  kbuild?: KbuildInputs;
  /** false from kernel hooks: ask no package manager binary (see foreignOwners). */
  packageManagers?: boolean;
}

export interface InstallResult {
  release: string;
  path: string;
  status: 'installed' | 'replaced' | 'reinstalled' | 'unchanged';
  files: number;
  bytes: number;
  recovered: string[];
  hooks: HookResult[];
  tier: 'headers' | 'kbuild';
  kbuild?: HeaderSet['kbuild'];
  /** The headers' identity (see ArchiveScan.contentSha256). */
  contentSha256?: string;
  /** Files a user added under the old tree, carried into the new one (root-relative). */
  kept: string[];
  /** Files a user added whose paths the new headers use: replaced by them. */
  overwritten: string[];
  /** The kernel's BTF the set's vmlinux.h and vmlinux came from (absent: none was found or given). */
  btf?: BtfRecord;
  /** What the caller should say in a line (raw BTF that names no release). */
  notes: string[];
}

/**
 * read + stage (one pass, without the lock) → decide → extras → rename → swap link → commit (under
 * the root lock). A crash at any point leaves the old state or the new one: a scan dir whose process
 * is gone is a leftover, the operation row committed before the swap tells the next command what to
 * undo, and the registry commit is the moment the new state becomes true. A signal undoes at once.
 */
export async function installHeaders(source: ArchiveSource, opts: InstallOptions): Promise<InstallResult> {
  const {root} = opts;
  await checkWritable(root, ['usr/src', 'lib/modules', 'var/lib/khpkg']);
  const config = settleConfig(source, opts.config);
  const wanted: Wanted = {
    config: config?.parsed,
    configOrigin: config?.origin,
    configSha256: config && createHash('sha256').update(config.parsed.text).digest('hex'),
    tier: opts.kbuild ? 'kbuild' : 'headers',
  };
  const headerBtf = headerBtfWish(source, root);
  const read = headerBtf === 'asked' ? {} : await readKernelBtf(source.btf);
  wanted.btf = read.btf;
  wanted.notes = read.note ? [read.note] : [];
  if (headerBtf === 'asked' || (headerBtf === 'fallback' && !wanted.btf)) wanted.headerBtf = headerBtf;
  const previousUmask = process.umask(0o022);
  // The tree is written while the archive is read, beside where it will go, unless this very archive
  // is installed already (the usual case when run on every boot): then reading alone decides.
  const parent = LAYOUTS[opts.layout].stageIn;
  const made: string[] = [];
  let scan: ArchiveScan | undefined;
  let result: InstallResult | undefined;
  let forgetScanStage = (): void => {};
  try {
    wanted.installedAlready = !opts.force && !opts.reinstall && alreadyInstalled(root, source.sha256, opts.layout, wanted);
    if (!wanted.installedAlready) {
      const stage = openScanStage(root, parent, made);
      wanted.scanStage = stage;
      forgetScanStage = onInterrupt(() => {
        removeTreeNow(stage.dirAbs);
        removeEmptyDirs(made);
      });
    }
    const stage = wanted.scanStage;
    const onEntry =
      stage &&
      (async (e: ScannedEntry, data: Buffer | undefined): Promise<void> => {
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
    forgetScanStage();
    process.umask(previousUmask);
  }
  // After the lock: a hook may well call khpkg itself.
  if (opts.hooks && result.status !== 'unchanged') result.hooks = await runHeaderHooks(opts.root, result.release);
  return result;
}

function settleConfig(source: ArchiveSource, given: InstallOptions['config']): {origin: string; parsed: KernelConfig} | undefined {
  const input = configFor(source, given);
  return input && {origin: input.origin, parsed: parseConfig(input.bytes, input.origin)};
}

/** What the caller asked for, settled before the archive is read. */
interface Wanted {
  config?: KernelConfig;
  configOrigin?: string;
  configSha256?: string;
  tier: 'headers' | 'kbuild';
  /** The kernel's BTF, read before the archive: its digest is part of the set's identity. */
  btf?: KernelBtf;
  /** What was left out and why (an image found by khpkg that could not be used), for the caller to say. */
  notes?: string[];
  /** The tree as the first read wrote it; absent when it was installed already. */
  scanStage?: ScanStage;
  /** This very archive is installed with this config and tier: reading alone decides (no kbuild kit is built: 45 s at every boot). */
  installedAlready?: boolean;
  /** BTF is to be made from the headers (ArchiveSource.headerBtf), there being none read. */
  headerBtf?: 'asked' | 'fallback';
}

/** Whether a set is to get BTF made from its headers: asked with --btf headers, or the root's khpkg.conf says so. */
function headerBtfWish(source: ArchiveSource, root: string): ArchiveSource['headerBtf'] {
  return source.headerBtf ?? (readKhpkgConf(root).btfFromHeaders ? 'fallback' : undefined);
}

/**
 * The set of `source`'s release when it is installed exactly as installing `source` would make it
 * now, told from digests alone: the archive's bytes, its config's text and its raw BTF's bytes
 * against what the set recorded, its tier at least `tier`, and a look (lstat, no reading) at each
 * of its files and links. Nothing is decompressed and no BTF parsed: the boot unit's whole work on
 * every boot where nothing changed. Undefined when anything differs or cannot be told so cheaply
 * (BTF in an image): then the install decides, as always.
 */
export async function installedAsIs(
  root: string,
  release: string,
  source: ArchiveSource,
  layout: Layout,
  tier: 'headers' | 'kbuild',
): Promise<HeaderSet | undefined> {
  const registry = Registry.open(root);
  if (!registry) return undefined;
  try {
    const set = registry.get(release);
    if (!set || set.state !== 'installed' || (set.via ?? 'khpkg') !== 'khpkg' || set.layout !== layout) return undefined;
    if (set.sourceSha256 !== source.sha256 || (tier === 'kbuild' && set.tier !== 'kbuild')) return undefined;
    const config = settleConfig(source, undefined);
    if (config && createHash('sha256').update(config.parsed.text).digest('hex') !== set.configSha256) return undefined;
    if (source.btf && (await rawBtfDigest(source.btf)) !== set.btf?.sha256) return undefined;
    // A kernel without BTF whose set should have it from its headers, and has not.
    if (!source.btf && headerBtfWish(source, root) && set.btf?.source !== HEADERS_ORIGIN) return undefined;
    const files = registry.files(release);
    if (quickCheck(root, files) > 0) return undefined;
    if (linksOutdated(root, set.path, kernelLinks(layout, release, set.tier ?? 'headers'), files)) return undefined;
    return set;
  } finally {
    registry.close();
  }
}

/**
 * A look without the lock: is this very archive (same bytes) installed with these settings? Then
 * the archive is only read, not written out. Content that is the same under other bytes is found
 * under the lock, after the read (decideInstall).
 */
function alreadyInstalled(root: string, sha256: string, layout: Layout, wanted: Wanted): boolean {
  const registry = Registry.open(root);
  if (!registry) return false;
  try {
    return registry
      .installed()
      .some(
        (set) =>
          set.sourceSha256 === sha256 &&
          set.layout === layout &&
          (wanted.configSha256 === undefined || set.configSha256 === wanted.configSha256) &&
          (wanted.btf === undefined || set.btf?.sha256 === wanted.btf.sha256) &&
          (wanted.headerBtf === undefined || set.btf?.source === HEADERS_ORIGIN) &&
          (set.tier ?? 'headers') === wanted.tier &&
          (set.via ?? 'khpkg') === 'khpkg',
      );
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

/** What an install will do, decided before anything in the root changes. */
export type InstallDecision = {action: 'unchanged'} | {action: 'install'} | {action: 'replace'} | {action: 'reinstall'};

/** Everything decideInstall looks at, gathered under the lock. */
export interface InstallFacts {
  release: string;
  treeRel: string;
  /** The first of the set's links in /lib/modules/<rel> that exists and leads elsewhere (else the build link). */
  linkRel: string;
  existing?: HeaderSet;
  contentSha256?: string;
  archiveSha256: string;
  layout: Layout;
  configSha256?: string;
  /** The BTF's digest (undefined: none given or found, which keeps whatever the set has). */
  btfSha256?: string;
  tier: 'headers' | 'kbuild';
  /** Paths of the tree or the link that dpkg or rpm own. */
  foreign: ForeignOwner[];
  treeExists: boolean;
  /** One of the set's links exists and leads elsewhere. */
  linkElsewhere: boolean;
  /** The installed set's links in /lib/modules/<rel> are not the ones its tier has now (a headers-only set of an older khpkg: `build` was the tree). */
  linksOutdated?: boolean;
  /** Entries of the installed set that a quick look finds changed or missing. */
  damaged: number;
  force: boolean;
  reinstall: boolean;
  replaceStale?: boolean;
  repair?: boolean;
}

const short = (sha: string | undefined): string => (sha ? `${sha.slice(0, 12)}…` : 'none');

/**
 * The install policy, pure: nothing dpkg or rpm owns is ever written; the same headers are not
 * written again unless asked (`--reinstall`) and a damaged set is said to be so; other headers or
 * another config replace a set only with `--force`, and so does a tree or link khpkg did not make.
 */
export function decideInstall(f: InstallFacts): InstallDecision {
  const {existing, release} = f;
  if (existing?.via && existing.via !== 'khpkg') {
    throw new KhpkgError(
      'conflict',
      `headers for ${release} are installed through ${existing.via} (${existing.package}): remove them first, or install with --via ${existing.via}`,
    );
  }
  const owner = f.foreign[0];
  if (owner) throw ownedError(owner, existing ? 'replace' : 'overwrite');
  if (existing && existing.path !== f.treeRel) {
    throw new KhpkgError('conflict', `headers for ${release} are installed at /${existing.path}: remove them first to change the layout`);
  }
  if (existing) {
    const sameContent =
      f.contentSha256 !== undefined && existing.contentSha256 !== undefined
        ? existing.contentSha256 === f.contentSha256
        : existing.sourceSha256 === f.archiveSha256;
    // Other BTF (a rebuilt kernel image) is other headers, as far as the set goes: vmlinux.h comes from it.
    const sameConfig =
      (f.configSha256 === undefined || f.configSha256 === existing.configSha256) && (f.btfSha256 === undefined || f.btfSha256 === existing.btf?.sha256);
    const sameTier = (existing.tier ?? 'headers') === f.tier;
    if (sameContent && sameConfig && sameTier) {
      if (f.reinstall || f.force || f.linksOutdated || (f.repair && f.damaged > 0)) return {action: 'reinstall'};
      if (f.damaged > 0) {
        throw new KhpkgError(
          'damaged',
          `headers for ${release} are installed but damaged: ${f.damaged} file(s) changed or missing (see 'khpkg verify ${release}'): run 'khpkg install --reinstall' with the same archive to repair them`,
        );
      }
      return {action: 'unchanged'};
    }
    // The boot unit replaces stale headers of its own tier only: a module-build tree is never downgraded behind the user's back.
    // A module-build tree of the same headers and config for a headers-only one adds kbuild and takes nothing away.
    const upgrade = sameContent && sameConfig && (existing.tier ?? 'headers') === 'headers' && f.tier === 'kbuild';
    if (!f.force && !upgrade && !(f.replaceStale && sameTier)) {
      if (!sameContent) {
        throw new KhpkgError(
          'conflict',
          `headers for ${release} are installed from other content (installed ${short(existing.contentSha256 ?? existing.sourceSha256)}, this archive ${short(f.contentSha256 ?? f.archiveSha256)}): pass --force to replace them`,
        );
      }
      if (!sameConfig) {
        if (f.configSha256 === undefined || f.configSha256 === existing.configSha256)
          throw new KhpkgError(
            'conflict',
            `headers for ${release} are installed with other BTF (installed ${short(existing.btf?.sha256)}, this kernel's ${short(f.btfSha256)}): pass --force to replace them`,
          );
        throw new KhpkgError(
          'conflict',
          `headers for ${release} are installed with another config (installed ${short(existing.configSha256)}, given ${short(f.configSha256)}): pass --force to replace it`,
        );
      }
      const was = existing.tier === 'kbuild' ? 'module-build' : 'headers-only';
      const will = f.tier === 'kbuild' ? 'module-build' : 'headers-only';
      throw new KhpkgError('conflict', `headers for ${release} are installed as a ${was} tree: pass --force to replace it with a ${will} one`);
    }
    return {action: 'replace'};
  }
  if (f.treeExists && !f.force) throw new KhpkgError('conflict', `/${f.treeRel} exists and khpkg did not install it: remove it, or pass --force to replace it`);
  if (f.linkElsewhere && !f.force) throw new KhpkgError('conflict', `/${f.linkRel} exists and points elsewhere: pass --force to point it at the new headers`);
  return {action: 'install'};
}

async function installScanned(scan: ArchiveScan, source: ArchiveSource, opts: InstallOptions, wanted: Wanted): Promise<InstallResult> {
  const {root} = opts;
  const archive = scan.tar ?? source.bytes;
  const {release} = scan.info;
  checkExpectedRelease(source, release);
  // Before anything is made (a registry, a kit): an image of another kernel is refused (or, found by khpkg, left out) here.
  const settledBtf = settleBtf(wanted.btf, release);
  wanted.btf = settledBtf.btf;
  const notes = [...(wanted.notes ?? []), ...(settledBtf.note ? [settledBtf.note] : [])];
  const {config, tier} = wanted;
  if (config && wanted.configOrigin) checkConfigMatches(config, scan.captured.get(INFO_FILES.autoconf), wanted.configOrigin);
  const treeRel = treeDirFor(opts.layout, release);
  const links = kernelLinks(opts.layout, release, tier);
  // Before the lock: building kbuild's host programs takes a while, and touches only a temp dir.
  const makeKit = (): Promise<KbuildKit | undefined> =>
    opts.kbuild ? buildKbuildKit(scan, archive, config, {...opts.kbuild, moduleBtf: wanted.btf !== undefined}, opts.limits) : Promise.resolve(undefined);
  let kit = wanted.installedAlready ? undefined : await makeKit();
  // Also before the lock, in the tree the first read wrote: compiling the headers takes minutes.
  const makeHeaderBtf = async (): Promise<void> => {
    if (!wanted.headerBtf || wanted.btf) return;
    const made = await headerMadeBtf(scan, archive, opts.limits, {
      asked: wanted.headerBtf === 'asked',
      tree: wanted.scanStage?.dirAbs,
      onProgress: headerProgress(opts.onProgress),
    });
    wanted.btf = made.btf;
    if (made.note) notes.push(made.note);
  };
  if (!wanted.installedAlready) await makeHeaderBtf();

  const lock = lockRoot(root, opts.waitSeconds);
  let registry: Registry | undefined;
  try {
    registry = Registry.open(root, {create: true})!;
    const recovered = recover(root, registry);
    const existing = registry.get(release);
    const elsewhere = links.find((l) => lstatSync(inRoot(root, l.path), {throwIfNoEntry: false}) && !linkLeadsInto(root, l.path, treeRel));
    const facts: InstallFacts = {
      release,
      treeRel,
      linkRel: elsewhere?.path ?? links[0]?.path ?? treeRel,
      existing,
      contentSha256: scan.contentSha256,
      archiveSha256: source.sha256,
      layout: opts.layout,
      configSha256: wanted.configSha256,
      btfSha256: wanted.btf?.sha256,
      tier,
      foreign: foreignOwners(root, [treeRel, ...links.map((l) => l.path)], {askRpm: opts.packageManagers !== false}),
      treeExists: existsSync(inRoot(root, treeRel)),
      linkElsewhere: elsewhere !== undefined,
      linksOutdated: existing !== undefined && linksOutdated(root, treeRel, links, registry.files(release)),
      damaged: existing && (existing.via ?? 'khpkg') === 'khpkg' ? quickCheck(root, registry.files(release)) : 0,
      force: opts.force,
      reinstall: Boolean(opts.reinstall),
      replaceStale: opts.replaceStale,
      repair: opts.repair,
    };
    const decision = decideInstall(facts);
    const unchanged = {release, files: existing?.files ?? 0, bytes: existing?.bytes ?? 0, recovered, hooks: [], tier, kept: [], overwritten: [], notes};
    if (decision.action === 'unchanged')
      return {
        ...unchanged,
        path: inRoot(root, existing!.path),
        status: 'unchanged',
        kbuild: existing!.kbuild,
        contentSha256: existing!.contentSha256,
        btf: existing!.btf,
      };
    // Installed already, and yet not unchanged (another khpkg changed it meanwhile): the kit is made now after all.
    kit ??= await makeKit();
    if (wanted.installedAlready) await makeHeaderBtf();
    const kbuild = kit && kitRecord(kit);
    // A reinstall of the same headers without --config keeps the config they were installed with.
    const settled = config ?? (decision.action === 'reinstall' && existing?.configSha256 ? installedConfig(root, existing) : undefined);
    const configSha256 = settled ? createHash('sha256').update(settled.text).digest('hex') : undefined;
    const btf = wanted.btf && btfFiles(wanted.btf, scan.info);
    const plan = headersPlan(scan, opts.layout, settled, buildTimestamp(scan), kit?.files, btf).build();
    const swapped = await stageAndSwap(root, registry, plan, {
      release,
      treeRel,
      layout: opts.layout,
      archive,
      wanted,
      limits: opts.limits,
      onProgress: opts.onProgress,
      existing,
    });
    const set: HeaderSet = {
      release,
      version: scan.info.version,
      srcarch: scan.info.srcarch,
      debArch: scan.info.debArch,
      rpmArch: scan.info.rpmArch,
      layout: opts.layout,
      path: treeRel,
      sourceKind: source.kind,
      sourcePath: recordedOrigin(source),
      sourceSha256: source.sha256,
      configSha256,
      contentSha256: scan.contentSha256,
      installedAt: new Date().toISOString(),
      files: swapped.records.filter((r) => r.type !== 'dir').length,
      bytes: swapped.bytes,
      state: 'installed',
      tier,
      kbuild,
      ...(wanted.btf ? {btf: btfRecord(wanted.btf)} : {}),
    };
    registry.recordInstall(set, swapped.records, swapped.operation);
    swapped.committed();
    crashPoint('committed');
    rmSync(inRoot(root, swapped.oldRel), {recursive: true, force: true});
    const status = decision.action === 'install' ? 'installed' : decision.action === 'reinstall' ? 'reinstalled' : 'replaced';
    return {
      ...unchanged,
      path: inRoot(root, treeRel),
      status,
      files: set.files,
      bytes: set.bytes,
      kbuild,
      contentSha256: set.contentSha256,
      btf: set.btf,
      kept: swapped.kept,
      overwritten: swapped.overwritten,
    };
  } finally {
    registry?.close();
    lock.release();
  }
}

/** The config an installed set was made with, read back from its tree if it is still the same. */
function installedConfig(root: string, set: HeaderSet): KernelConfig {
  const file = inRoot(root, `${set.path}/.config`);
  let text: Buffer | undefined;
  try {
    text = readFileSync(file);
  } catch {
    // missing: refused below
  }
  const config = text && parseConfig(text, `/${set.path}/.config`);
  if (!config || createHash('sha256').update(config.text).digest('hex') !== set.configSha256) {
    throw new KhpkgError('usage', `headers for ${set.release} were installed with a config whose copy in the tree is gone or changed: pass --config again`);
  }
  return config;
}

interface Swapped {
  records: FileRecord[];
  bytes: number;
  operation: number;
  oldRel: string;
  kept: string[];
  overwritten: string[];
  /** Ends the interrupt cleanup once the registry holds the new state. */
  committed: () => void;
}

/**
 * Stages the plan beside the tree, carries over what a user added to the old tree, renames the
 * stage into place and swaps the build link. The operation row is written first, so a crash (or a
 * signal) at any point is undone by recover(). Records only the dirs outside the tree that this
 * set made (or its predecessor had made): the shared ones belong to others.
 */
async function stageAndSwap(
  root: string,
  registry: Registry,
  plan: ContentPlan,
  ctx: {release: string; treeRel: string; layout: Layout; archive: ArchiveInput; wanted: Wanted; limits: Limits; onProgress?: Progress; existing?: HeaderSet},
): Promise<Swapped> {
  const {release, treeRel} = ctx;
  const treeAbs = inRoot(root, treeRel);
  const parent = LAYOUTS[ctx.layout].stageIn;
  ensureDirInRoot(root, dirname(treeRel));
  const stageRel = ctx.wanted.scanStage ? `${parent}/${basename(ctx.wanted.scanStage.dirAbs)}` : `${parent}/.khpkg-stage-${release}-${process.pid}`;
  const oldRel = `${parent}/.khpkg-old-${release}-${process.pid}`;
  const operation = registry.beginOperation({kind: 'install', release, phase: 'staging', treePath: treeRel, stagePath: stageRel, oldPath: oldRel});
  const committed = onInterrupt(() => recover(root, registry));
  const stage = new StageSink(treeRel, inRoot(root, stageRel));
  try {
    if (ctx.wanted.scanStage) {
      await stage.addExtras(plan);
    } else {
      let fed = 0;
      const sink = {add: (e: PackageEntry, d: Buffer | undefined) => (++fed === 500 && crashPoint('mid-stage'), stage.add(e, d))};
      await feedPlans([{plan, sink}], ctx.archive, ctx.limits, ctx.onProgress);
    }
    const owned = ctx.existing && (ctx.existing.via ?? 'khpkg') === 'khpkg' ? registry.files(release) : [];
    const carried =
      existsSync(treeAbs) && ctx.existing
        ? carryUserFiles(root, treeRel, stageRel, owned, new Set(stage.records.map((r) => r.path)))
        : {kept: [], overwritten: []};
    crashPoint('staged');
    chmodSync(inRoot(root, stageRel), 0o755);
    const made = new Set<string>();
    for (const d of stage.outsideDirs) for (const abs of makeDirsInRoot(root, d)) made.add(abs);
    const ownedBefore = new Set(owned.filter((r) => r.type === 'dir').map((r) => r.path));
    const records = stage.records.filter(
      (r) =>
        r.type !== 'dir' ||
        r.path === treeRel ||
        r.path.startsWith(`${treeRel}/`) ||
        (!SHARED_DIRS.has(r.path) && (made.has(inRoot(root, r.path)) || ownedBefore.has(r.path))),
    );
    registry.setPhase(operation, 'swapping');
    crashPoint('swapping');
    if (existsSync(treeAbs)) renameSync(treeAbs, inRoot(root, oldRel));
    crashPoint('old-moved');
    renameSync(inRoot(root, stageRel), treeAbs);
    crashPoint('new-in-place');
    for (const link of stage.links) {
      const target = buildLinkTarget(root, link.path, link.target.slice(1));
      const record = records.find((r) => r.path === link.path);
      if (record) record.linkTarget = target;
      swapLink(root, link.path, target);
    }
    // A link the old set had and this one has not (a headers-only set's `source`, when it becomes a module-build tree).
    for (const r of owned) {
      if (r.type === 'symlink' && !r.path.startsWith(`${treeRel}/`) && !stage.links.some((l) => l.path === r.path) && linkLeadsInto(root, r.path, treeRel))
        rmSync(inRoot(root, r.path));
    }
    crashPoint('linked');
    return {records, bytes: stage.bytes, operation, oldRel, ...carried, committed};
  } catch (e) {
    recover(root, registry);
    committed();
    throw e;
  }
}

/**
 * Files under the old tree that the set did not install are a user's: hard-linked into the stage
 * (the old tree stays whole until the swap commits), unless the new headers use that very path.
 */
function carryUserFiles(
  root: string,
  treeRel: string,
  stageRel: string,
  owned: readonly FileRecord[],
  incoming: ReadonlySet<string>,
): {kept: string[]; overwritten: string[]} {
  const ours = new Set(owned.map((r) => r.path));
  const kept: string[] = [];
  const overwritten: string[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSync(inRoot(root, rel)).sort()) {
      const child = `${rel}/${name}`;
      const st = lstatSync(inRoot(root, child));
      if (st.isDirectory()) {
        if (!ours.has(child) && !incoming.has(child)) {
          ensureDirInRoot(root, `${stageRel}${child.slice(treeRel.length)}`, st.mode & 0o7777);
        }
        walk(child);
      } else if (!ours.has(child)) {
        if (incoming.has(child)) {
          overwritten.push(child);
          continue;
        }
        const into = `${stageRel}${child.slice(treeRel.length)}`;
        ensureDirInRoot(root, dirname(into));
        linkSync(inRoot(root, child), inRoot(root, into));
        kept.push(child);
      }
    }
  };
  walk(treeRel);
  return {kept, overwritten};
}

/** Removes a tree being written by another thread: renamed away first, so no new file lands in it. */
function removeTreeNow(dir: string): void {
  const away = `${dir}.gone`;
  try {
    renameSync(dir, away);
  } catch {
    return;
  }
  rmSync(away, {recursive: true, force: true, maxRetries: 3});
}

/** Whether the set's recorded links in /lib/modules/<rel> are other than `links` (paths, or where they lead). */
function linksOutdated(root: string, treeRel: string, links: readonly {path: string; target: string}[], records: readonly FileRecord[]): boolean {
  const recorded = records.filter((r) => r.type === 'symlink' && !r.path.startsWith(`${treeRel}/`));
  if (recorded.length !== links.length) return true;
  try {
    return links.some((l) => recorded.find((r) => r.path === l.path)?.linkTarget !== buildLinkTarget(root, l.path, l.target));
  } catch {
    return true; // its dir is gone: the set is damaged, and a reinstall is what mends it
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
