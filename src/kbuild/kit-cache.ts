import {readdirSync, statSync} from 'node:fs';
import {mkdir, readdir, readFile, rename, rm, stat, writeFile} from 'node:fs/promises';
import {dirname, join} from 'node:path';
import type {KitFile} from '../content/headers.js';
import {checkedInRoot, ensureDirInRoot} from '../root/paths.js';
import {findKernelSource, type FoundSource} from './discover.js';
import {readKernelSource, type KernelSource} from './source-tree.js';

/**
 * What khpkg takes from a kernel source (Makefiles, scripts/, objtool's sources: a few MB of a
 * 150 MB tarball), kept once per series and architecture under the root's khpkg cache, so the next
 * kernel of the series (6.12.0-56, then -57) reads no source at all. Plain files, made anew when the
 * source they came from changes (another path, size or mtime: the linux-source package was upgraded).
 */
export const KIT_CACHE = 'var/cache/khpkg/kbuild';

interface CacheMeta {
  /** The source as seen in the root, or the path given with --kbuild. */
  origin: string;
  size: number;
  mtimeMs: number;
  version: string;
}

/** A kernel source's kit, and where it came from. */
export interface ResolvedSource {
  source: KernelSource;
  /** What to record and say: the source path (as seen in the root when found by khpkg). */
  path: string;
  fromCache: boolean;
  how?: FoundSource['how'] | 'given';
}

const cacheRel = (series: string, srcarch: string): string => `${KIT_CACHE}/${series}-${srcarch}`;

function statOf(path: string): {size: number; mtimeMs: number} | undefined {
  try {
    const st = statSync(path);
    return {size: st.size, mtimeMs: Math.floor(st.mtimeMs)};
  } catch {
    return undefined;
  }
}

/**
 * The kit for a series: from `given` (--kbuild) when there is one, else from the cache while the
 * source it came from is unchanged or gone, else from a source the root has (see findKernelSource).
 * Whatever was read is cached for the next kernel. Undefined: the root has no source of the series.
 */
export async function kernelSourceFor(root: string, series: string, srcarch: string, given?: string): Promise<ResolvedSource | undefined> {
  if (given !== undefined) {
    const source = await readKernelSource(given, srcarch);
    await saveKit(root, series, srcarch, source, given, statOf(given));
    return {source, path: given, fromCache: false, how: 'given'};
  }
  const found = findKernelSource(root, series);
  const cached = await readKit(root, series, srcarch);
  if (cached) {
    const now = found && statOf(found.path);
    const same = found && now && found.shown === cached.meta.origin && now.size === cached.meta.size && now.mtimeMs === cached.meta.mtimeMs;
    if (!found || same) return {source: cached.source, path: cached.meta.origin, fromCache: true, how: found?.how};
  }
  if (!found) return undefined;
  const source = await readKernelSource(found.path, srcarch);
  await saveKit(root, series, srcarch, source, found.shown, statOf(found.path));
  return {source, path: found.shown, fromCache: false, how: found.how};
}

/** A kit for the series is at hand, cheaply: cached (any architecture), or a source the root has. */
export function hasKitFor(root: string, series: string): boolean {
  try {
    if (readdirSync(checkedInRoot(root, KIT_CACHE)).some((n) => n.startsWith(`${series}-`) && !n.includes('.tmp-'))) return true;
  } catch {
    // no cache yet
  }
  return findKernelSource(root, series) !== undefined;
}

async function readKit(root: string, series: string, srcarch: string): Promise<{source: KernelSource; meta: CacheMeta} | undefined> {
  let dir: string;
  let meta: CacheMeta;
  try {
    dir = checkedInRoot(root, cacheRel(series, srcarch));
    meta = JSON.parse(await readFile(join(dir, 'source.json'), 'utf8')) as CacheMeta;
  } catch {
    return undefined;
  }
  const files: KitFile[] = [];
  const top = join(dir, 'files');
  for (const rel of (await readdir(top, {recursive: true}).catch(() => [] as string[])).sort()) {
    const st = await stat(join(top, rel));
    if (st.isFile()) files.push({path: rel, mode: st.mode & 0o7777, data: await readFile(join(top, rel))});
  }
  return files.length > 0 ? {source: {version: meta.version, files}, meta} : undefined;
}

/** Written beside, then renamed into place: a crash leaves the old kit or the new one. Best effort: a root khpkg cannot write keeps no cache. */
async function saveKit(
  root: string,
  series: string,
  srcarch: string,
  source: KernelSource,
  origin: string,
  st?: {size: number; mtimeMs: number},
): Promise<void> {
  const rel = cacheRel(series, srcarch);
  let dest: string;
  let tmp: string;
  try {
    ensureDirInRoot(root, KIT_CACHE);
    dest = checkedInRoot(root, rel);
    tmp = `${dest}.tmp-${process.pid}`;
  } catch {
    return;
  }
  try {
    await rm(tmp, {recursive: true, force: true});
    for (const f of source.files) {
      await mkdir(dirname(join(tmp, 'files', f.path)), {recursive: true});
      await writeFile(join(tmp, 'files', f.path), f.data, {mode: f.mode});
    }
    const meta: CacheMeta = {origin, size: st?.size ?? 0, mtimeMs: st?.mtimeMs ?? 0, version: source.version};
    await writeFile(join(tmp, 'source.json'), `${JSON.stringify(meta, null, 2)}\n`);
    await rm(dest, {recursive: true, force: true});
    await rename(tmp, dest);
  } catch {
    await rm(tmp, {recursive: true, force: true});
  }
}
