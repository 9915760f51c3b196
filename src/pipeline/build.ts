import {mkdir, rm} from 'node:fs/promises';
import {resolve} from 'node:path';
import {Registry} from '../registry/registry.js';
import {KhpkgError} from '../errors.js';
import type {Limits} from '../archive/limits.js';
import {scanArchive, type ArchiveScan, type Progress} from '../archive/scan.js';
import {checkConfigMatches, parseConfig, type KernelConfig} from '../content/config.js';
import {buildTimestamp, type ContentPlan} from '../content/plan.js';
import type {Compression} from '../formats/compression.js';
import {packagerFor} from '../formats/index.js';
import type {Artifact, Format, PackageSink} from '../formats/writer.js';
import type {ArchiveSource} from '../source/index.js';
import {INFO_FILES} from '../archive/info.js';
import {feedPlans} from './feed.js';
import {buildKbuildKit, type KbuildInputs, type KbuildKit} from '../kbuild/kit.js';

export interface BuildOptions {
  formats: Format[];
  outDir: string;
  revision: string;
  version?: string;
  maintainer: string;
  compression: Compression;
  /** A `.config`/`config.gz` given by the user, with its name for messages. */
  config?: {bytes: Buffer; origin: string};
  limits: Limits;
  onProgress?: Progress;
  /** Make a module-build tree (`--kbuild`). */
  kbuild?: KbuildInputs;
}

/** The whole build: scan, plan each format, one streaming pass into every writer. */
export async function buildPackages(source: ArchiveSource, opts: BuildOptions): Promise<{release: string; artifacts: Artifact[]; kbuild?: KbuildKit}> {
  const scan = await scanArchive(source.bytes, opts.limits, opts.onProgress, source.sha256, {keepTar: true});
  try {
    return await buildFromScan(scan, source, opts);
  } finally {
    scan.tar?.close();
  }
}

async function buildFromScan(scan: ArchiveScan, source: ArchiveSource, opts: BuildOptions): Promise<{release: string; artifacts: Artifact[]; kbuild?: KbuildKit}> {
  const archive = scan.tar ?? source.bytes;
  const config = loadConfig(opts.config ?? (source.defaultConfig && {bytes: source.defaultConfig, origin: source.kind === 'running-kernel' ? '/proc/config.gz' : `${source.origin}: .config`}), scan.captured);
  const time = buildTimestamp(scan);
  const kit = opts.kbuild && (await buildKbuildKit(scan, archive, config, opts.kbuild, opts.limits));
  await mkdir(opts.outDir, {recursive: true}).catch((e: Error) => {
    throw new KhpkgError('io', `--out ${opts.outDir}: ${e.message}`);
  });
  const artifacts: Artifact[] = [];
  const prepared: {plan: ContentPlan; sink: PackageSink}[] = [];
  try {
    for (const format of opts.formats) {
      prepared.push(
        await packagerFor(format).prepare({
          scan,
          config,
          revision: opts.revision,
          version: opts.version,
          maintainer: opts.maintainer,
          compression: opts.compression,
          packagesAtOnce: opts.formats.length,
          outDir: opts.outDir,
          time,
          kit: kit?.files,
        }),
      );
    }
    await feedPlans(prepared, archive, opts.limits, opts.onProgress);
    for (const p of prepared) artifacts.push(await p.sink.finish());
    return {release: scan.info.release, artifacts, kbuild: kit};
  } catch (e) {
    // All or nothing: a failed build leaves no package, not even one of the formats that completed.
    await Promise.all(prepared.map((p) => p.sink.abort()));
    await Promise.all(artifacts.map((a) => rm(a.path, {force: true})));
    throw e;
  }
}

function loadConfig(given: {bytes: Buffer; origin: string} | undefined, captured: Map<string, Buffer>): KernelConfig | undefined {
  if (!given) return undefined;
  const config = parseConfig(given.bytes, given.origin);
  checkConfigMatches(config, captured.get(INFO_FILES.autoconf), given.origin);
  return config;
}

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
  } catch {
    return false;
  } finally {
    registry?.close();
  }
}
