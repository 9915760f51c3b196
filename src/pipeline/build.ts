import {statSync} from 'node:fs';
import {mkdir, rm} from 'node:fs/promises';
import {resolve} from 'node:path';
import {Registry} from '../registry/registry.js';
import {KhpkgError} from '../errors.js';
import type {Limits} from '../archive/limits.js';
import {INFO_FILES, type KernelIdentity} from '../archive/info.js';
import {readTree, type ArchiveInput} from '../archive/reader.js';
import {TreeRules} from '../archive/rules.js';
import {scanArchive, ScanState, type Progress} from '../archive/scan.js';
import {checkConfigMatches, parseConfig, type KernelConfig} from '../content/config.js';
import {headerExtras, SHARED_DIRS, treeDirFor, type KitFile, type Layout} from '../content/headers.js';
import {packageMtime, packageTimestamp, PlanBuilder, timeBounds} from '../content/plan.js';
import type {Compression} from '../formats/compression.js';
import {formatRow} from '../formats/table.js';
import type {Artifact, BuildInput, Format, PackageSink} from '../formats/writer.js';
import {checkExpectedRelease, configFor, type ArchiveSource} from '../source/index.js';
import {buildKbuildKit, type KbuildInputs, type KbuildKit} from '../kbuild/kit.js';
import {btfFiles, btfRecord, readKernelBtf, settleBtf, type BtfRecord, type KernelBtf} from '../source/btf.js';
import {HeldEntries} from './held.js';
import {headerMadeBtf, headerProgress} from '../source/header-btf.js';
import type {HostRelease} from '../content/os-release.js';

export interface BuildOptions {
  formats: Format[];
  outDir: string;
  revision: string;
  version?: string;
  maintainer: string;
  /** Undefined: each format its own (FormatRow.defaultCompression). */
  compression?: Compression;
  /** A `.config`/`config.gz` given by the user, with its name for messages. */
  config?: {bytes: Buffer; origin: string};
  limits: Limits;
  onProgress?: Progress;
  /** Make a module-build tree (`--kbuild`). */
  kbuild?: KbuildInputs;
  /** The host a system extension is for (HeadersPackageOptions.host). */
  host?: () => HostRelease;
}

function outDirError(dir: string, e: NodeJS.ErrnoException): KhpkgError {
  const why =
    e.code === 'EEXIST' || e.code === 'ENOTDIR'
      ? 'a part of it is a file, not a directory'
      : e.code === 'EACCES' || e.code === 'EPERM'
        ? 'permission denied'
        : e.code === 'ENOSPC'
          ? 'no space left on device'
          : e.message;
  return new KhpkgError('io', `--out ${dir}: ${why}`);
}

/**
 * The whole build in one pass over the archive: entries are validated, digested and streamed into
 * every package writer as they are read; the packages' metadata (md5sums, rpm header), which lists
 * every entry, is written last. The module-build tier needs the whole tree before it can build
 * kbuild's programs, so with `--kbuild` a scan comes first and the build reads the tar it kept.
 */
export async function buildPackages(
  source: ArchiveSource,
  opts: BuildOptions,
): Promise<{release: string; artifacts: Artifact[]; kbuild?: KbuildKit; btf?: BtfRecord; notes: string[]}> {
  // Said before the archive is read: a file where the packages should go is a usage mistake.
  const out = statSync(opts.outDir, {throwIfNoEntry: false});
  if (out && !out.isDirectory()) throw new KhpkgError('usage', `--out ${opts.outDir}: not a directory`);
  const given = configFor(source, opts.config);
  const config = given && {parsed: parseConfig(given.bytes, given.origin), origin: given.origin};
  // Read before the archive: a bad --btf is said before any package is begun.
  const read = source.headerBtf === 'asked' ? {} : await readKernelBtf(source.btf);
  let btf = read.btf;
  const settled = {notes: read.note ? [read.note] : []};
  const withBtf = <T extends object>(r: T & {btf?: KernelBtf}): T & {btf?: BtfRecord; notes: string[]} => ({
    ...r,
    btf: r.btf && btfRecord(r.btf),
    notes: settled.notes,
  });
  const fromHeaders = source.headerBtf === 'asked' || (source.headerBtf === 'fallback' && btf === undefined);
  if (!opts.kbuild && !fromHeaders) return withBtf(await streamBuild(source.bytes, source, opts, config, undefined, btf, settled.notes));
  // The module-build tier and BTF from headers need the whole tree before the packages begin.
  const scan = await scanArchive(source.bytes, opts.limits, opts.onProgress, source.sha256, {keepTar: true});
  try {
    const archive = scan.tar ?? source.bytes;
    if (config) checkConfigMatches(config.parsed, scan.captured.get(INFO_FILES.autoconf), config.origin);
    if (fromHeaders) {
      checkExpectedRelease(source, scan.info.release);
      const made = await headerMadeBtf(scan, archive, opts.limits, {asked: source.headerBtf === 'asked', onProgress: headerProgress(opts.onProgress)});
      btf = made.btf;
      if (made.note) settled.notes.push(made.note);
    }
    const kit = opts.kbuild && (await buildKbuildKit(scan, archive, config?.parsed, {...opts.kbuild, moduleBtf: btf !== undefined}, opts.limits));
    return withBtf({...(await streamBuild(archive, source, opts, config, kit ? kit.files : undefined, btf, settled.notes)), ...(kit ? {kbuild: kit} : {})});
  } finally {
    scan.tar?.close();
  }
}

interface Target {
  layout: Layout;
  plan: PlanBuilder;
  sink: PackageSink;
}

async function streamBuild(
  archive: ArchiveInput,
  source: ArchiveSource,
  opts: BuildOptions,
  given: {parsed: KernelConfig; origin: string} | undefined,
  kit?: readonly KitFile[],
  found?: KernelBtf,
  notes: string[] = [],
): Promise<{release: string; artifacts: Artifact[]; btf?: KernelBtf}> {
  let btf = found;
  const config = given?.parsed;
  const bounds = timeBounds();
  const rows = opts.formats.map(formatRow);
  const state = new ScanState(new TreeRules(opts.limits), source.sha256, {digests: [...new Set(rows.flatMap((r) => r.packager.digests))], keepEntries: false});
  const held = new HeldEntries();
  const targets: Target[] = [];
  const artifacts: Artifact[] = [];
  let kernel: KernelIdentity | undefined;
  let createdOutDir: string | undefined;

  /** Hands each target what its plan gained; archive files with the content just read. */
  const flush = (data?: Buffer): Promise<unknown> =>
    Promise.all(
      targets.map(async (t) => {
        for (const e of t.plan.take()) await t.sink.add(e, e.fromArchive ? data : e.data);
      }),
    );
  /** The kernel is known: open every package, and give it what was read so far. */
  const start = async (k: KernelIdentity): Promise<void> => {
    checkExpectedRelease(source, k.release);
    const settledBtf = settleBtf(btf, k.release);
    btf = settledBtf.btf;
    if (settledBtf.note) notes.push(settledBtf.note);
    if (given) checkConfigMatches(given.parsed, state.captured.get(INFO_FILES.autoconf), given.origin);
    createdOutDir = await mkdir(opts.outDir, {recursive: true}).catch((e: NodeJS.ErrnoException) => {
      throw outDirError(opts.outDir, e);
    });
    const rootMtime = state.rules.treeMtime ?? 0;
    for (const {packager: p, layout, headersMeta, defaultCompression} of rows) {
      const input: BuildInput = {
        meta: headersMeta(k, opts),
        compression: opts.compression ?? defaultCompression,
        packagesAtOnce: rows.length,
        outDir: opts.outDir,
        time: {...bounds, tree: packageMtime(rootMtime, bounds)},
      };
      const sink = await p.open(input);
      targets.push({layout, sink, plan: new PlanBuilder(treeDirFor(layout, k.release), bounds, SHARED_DIRS).openTree(rootMtime)});
    }
    kernel = k;
    await flush();
    for (const {entry, data} of held.drain()) {
      for (const t of targets) t.plan.addArchiveEntry(entry);
      await flush(data);
    }
  };

  try {
    for await (const {entry, data} of readTree(archive, opts.limits, state.rules)) {
      const scanned = state.see(entry, data);
      if (kernel) {
        for (const t of targets) t.plan.addArchiveEntry(scanned);
        await flush(data);
      } else {
        held.add(scanned, data);
        const k = state.earlyIdentity();
        if (k) await start(k);
      }
      if (opts.onProgress && state.count % 256 === 0) opts.onProgress({phase: 'building', done: state.count});
    }
    // An archive without one of the identity's headers (or unsorted) is known only now.
    const scan = state.result();
    if (!kernel) await start(scan.info);
    const timestamp = packageTimestamp(scan.newestMtime, bounds);
    const btfExtras = btf && btfFiles(btf, scan.info);
    for (const t of targets) {
      t.plan.setTimestamp(timestamp);
      for (const extra of [...headerExtras({...scan.info, has: (p) => state.rules.has(p)}, t.layout, config, kit, btfExtras), ...t.sink.extras(timestamp)])
        t.plan.addExtra(extra);
    }
    await flush();
    // Side by side: a compressor finishes its last block only once told the input ended, so the
    // packages' tails overlap rather than follow each other (deb+rpm xz: one core idle for 2 s).
    const finished = await Promise.allSettled(targets.map((t) => t.sink.finish(t.plan.build())));
    for (const f of finished) if (f.status === 'fulfilled') artifacts.push(f.value);
    for (const f of finished) if (f.status === 'rejected') throw f.reason;
    return {release: scan.info.release, artifacts, btf};
  } catch (e) {
    // All or nothing: a failed build leaves no package, not even one of the formats that completed.
    await Promise.all(targets.map((t) => t.sink.abort()));
    await Promise.all(artifacts.map((a) => rm(a.path, {force: true})));
    if (createdOutDir) await rm(createdOutDir, {recursive: true, force: true});
    throw e;
  } finally {
    held.close();
  }
}

/** The config to ship: the user's, else the one that comes with the source (/proc/config.gz, a package's). */
/** dpkg's convention: DEBFULLNAME/DEBEMAIL, else a placeholder that says what to set. */
export function defaultMaintainer(env = process.env): string {
  const name = env.DEBFULLNAME ?? env.NAME;
  const email = env.DEBEMAIL ?? env.EMAIL;
  if (name && email) return `${name} <${email}>`;
  if (email && /<.*>/.test(email)) return email;
  return 'khpkg automatic build (set DEBFULLNAME and DEBEMAIL) <khpkg@example.org>';
}

/**
 * Records built packages in the registry of `root`, so a maintainer can ask what was generated
 * (`khpkg list --built`). An unprivileged build with no writable registry is not an error: the
 * packages are what was asked for. Returns whether they were recorded.
 */
export function recordArtifacts(root: string, artifacts: Artifact[], release: string, sourceSha256: string): boolean {
  let registry: Registry | undefined;
  try {
    registry = Registry.open(root, {create: true});
    const builtAt = new Date().toISOString();
    for (const a of artifacts) registry!.recordArtifact({...a, path: resolve(a.path), release, sourceSha256, builtAt});
    return true;
  } catch (e) {
    // A registry this user cannot write (building as a user on a root-owned system) is expected; a bug is not.
    const code = (e as {code?: string}).code;
    if (
      (e instanceof KhpkgError && (e.code === 'permission' || e.code === 'registry')) ||
      code === 'EACCES' ||
      code === 'EPERM' ||
      code === 'EROFS' ||
      code === 'SQLITE_READONLY' ||
      code === 'SQLITE_CANTOPEN'
    )
      return false;
    throw e;
  } finally {
    registry?.close();
  }
}
