import {createHash} from 'node:crypto';
import type {Entry} from './entry.js';
import {INFO_FILES, readInfo, type KheadersInfo} from './info.js';
import type {Limits} from './limits.js';
import {readTree} from './reader.js';
import {TreeRules} from './rules.js';
import {TarSpool} from './spool.js';

/** An entry with the digests every sink needs (md5 for deb md5sums, sha256 for rpm and the registry). */
export interface ScannedEntry extends Entry {
  md5?: string;
  sha256?: string;
}

/** Pass 1: everything about the archive that must be known before any output byte is written. */
export interface ArchiveScan {
  info: KheadersInfo;
  entries: ScannedEntry[];
  /** Newest mtime in the archive: the timestamp of a build without SOURCE_DATE_EPOCH. */
  newestMtime: number;
  /** The generated headers other parts need (autoconf.h for config checks). */
  captured: Map<string, Buffer>;
  /** The decompressed tar, when asked for and the temp dir could take it: the input of pass 2. Close it. */
  tar?: TarSpool;
}

export type Progress = (event: {phase: string; done: number; total?: number}) => void;

const CAPTURE = new Set<string>(Object.values(INFO_FILES));

/**
 * Streams the archive once: validates it, digests every file, reads release/arch/compiler.
 * `sha256` names the archive (by default the bytes'; a package source passes the original's).
 * With `keepTar`, the decompressed tar is kept for a second pass (see TarSpool).
 */
export async function scanArchive(
  bytes: Buffer,
  limits: Limits,
  onProgress?: Progress,
  sha256 = createHash('sha256').update(bytes).digest('hex'),
  opts: {keepTar?: boolean; onEntry?: EntryHook} = {},
): Promise<ArchiveScan> {
  const spool = opts.keepTar ? TarSpool.create() : undefined;
  try {
    const scan = await scanTree(bytes, limits, onProgress, sha256, spool, opts.onEntry);
    if (spool?.usable) scan.tar = spool;
    else spool?.close();
    return scan;
  } catch (e) {
    spool?.close();
    throw e;
  }
}

/**
 * Sees each entry once it has passed the per-entry rules (the installer writes it out at once); the
 * whole-tree checks come after the last one, so what it did must be undone if the scan throws.
 */
export type EntryHook = (entry: ScannedEntry, data: Buffer | undefined) => void | Promise<void>;

async function scanTree(bytes: Buffer, limits: Limits, onProgress: Progress | undefined, sha256: string, spool: TarSpool | undefined, onEntry: EntryHook | undefined): Promise<ArchiveScan> {
  const rules = new TreeRules(limits);
  const entries: ScannedEntry[] = [];
  const captured = new Map<string, Buffer>();
  let files = 0;
  let total = 0;
  let newestMtime = 0;
  for await (const {entry, data} of readTree(bytes, limits, rules, spool)) {
    const scanned: ScannedEntry = {...entry};
    if (data) {
      scanned.md5 = createHash('md5').update(data).digest('hex');
      scanned.sha256 = createHash('sha256').update(data).digest('hex');
      total += data.length;
      if (CAPTURE.has(entry.path)) captured.set(entry.path, data);
    }
    if (entry.type !== 'dir') files++;
    newestMtime = Math.max(newestMtime, entry.mtime);
    entries.push(scanned);
    await onEntry?.(scanned, data);
    if (onProgress && entries.length % 256 === 0) onProgress({phase: 'reading archive', done: entries.length});
  }
  const info = readInfo(captured, rules.srcarch!, {files, bytes: total, sha256});
  return {info, entries, newestMtime, captured};
}
