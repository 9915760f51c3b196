import {createHash} from 'node:crypto';
import type {Entry} from './entry.js';
import {identityComplete, INFO_FILES, readIdentity, readInfo, type KernelIdentity, type KheadersInfo} from './info.js';
import type {Limits} from './limits.js';
import {readTree} from './reader.js';
import {TreeRules} from './rules.js';
import {TarSpool} from './spool.js';

/** An entry with the digests every sink needs (md5 for deb md5sums, sha256 for rpm and the registry). */
export interface ScannedEntry extends Entry {
  md5?: string;
  sha256?: string;
}

/** A whole scan: everything about the archive, for what needs all of it before writing (install, kbuild, inspect). */
export interface ArchiveScan {
  info: KheadersInfo;
  entries: ScannedEntry[];
  /** Newest mtime in the archive: the timestamp of a build without SOURCE_DATE_EPOCH. */
  newestMtime: number;
  /** Mtime of the tree's own dir (the archive's first entry, its root `./`). */
  rootMtime: number;
  /** The generated headers other parts need (autoconf.h for config checks). */
  captured: Map<string, Buffer>;
  /**
   * The identity of the headers themselves: sha256 over the sorted manifest of every entry (type,
   * path, content sha256 or link target). Unlike the archive's sha256 it does not change when the
   * same tree is compressed otherwise (xz -T2) or stored with other mtimes. Absent when the pass
   * computed no sha256s.
   */
  contentSha256?: string;
  /** The decompressed tar, when asked for and the temp dir could take it: the input of a second read. Close it. */
  tar?: TarSpool;
}

export type Progress = (event: {phase: string; done: number; total?: number}) => void;

export type Digest = 'md5' | 'sha256';

const CAPTURE = new Set<string>(Object.values(INFO_FILES));

/**
 * What a pass learns from entries as they go by: their digests, the counts, the generated headers
 * the kernel's identity is read from. Shared by the scan and the one-pass build.
 */
export class ScanState {
  /** Every entry, unless the caller keeps its own (a build's plans do). */
  readonly entries: ScannedEntry[] = [];
  readonly captured = new Map<string, Buffer>();
  newestMtime = 0;
  count = 0;
  private files = 0;
  private bytes = 0;
  private readonly manifest: string[] = [];
  private manifestComplete = true;

  constructor(
    readonly rules: TreeRules,
    readonly sha256: string,
    private readonly opts: {digests?: readonly Digest[]; keepEntries?: boolean} = {},
  ) {}

  /** Digests and records one validated entry. */
  see(entry: Entry, data: Buffer | undefined): ScannedEntry {
    const scanned: ScannedEntry = {...entry};
    if (data) {
      for (const d of this.opts.digests ?? ['md5', 'sha256']) scanned[d] = createHash(d).update(data).digest('hex');
      this.bytes += data.length;
      if (CAPTURE.has(entry.path)) this.captured.set(entry.path, data);
    }
    if (entry.type !== 'dir') this.files++;
    if (entry.type === 'file' && data && !scanned.sha256) this.manifestComplete = false;
    this.manifest.push(
      manifestLine(entry.type, entry.path, entry.type === 'symlink' ? entry.linkTarget : entry.type === 'file' ? (scanned.sha256 ?? EMPTY_SHA256) : undefined),
    );
    this.newestMtime = Math.max(this.newestMtime, entry.mtime);
    this.count++;
    if (this.opts.keepEntries !== false) this.entries.push(scanned);
    return scanned;
  }

  /** The kernel's identity as soon as every header it is read from went by, else undefined. */
  earlyIdentity(): KernelIdentity | undefined {
    return this.rules.srcarch !== undefined && identityComplete(this.captured) ? readIdentity(this.captured, this.rules.srcarch, this.sha256) : undefined;
  }

  /** After the last entry (readTree has checked the whole tree by then). */
  result(): ArchiveScan {
    const info = readInfo(this.captured, this.rules.srcarch!, {files: this.files, bytes: this.bytes, sha256: this.sha256});
    const contentSha256 = this.manifestComplete ? contentDigest(this.manifest) : undefined;
    return {
      info,
      entries: this.entries,
      newestMtime: this.newestMtime,
      rootMtime: this.rules.treeMtime ?? this.newestMtime,
      captured: this.captured,
      contentSha256,
    };
  }
}

const EMPTY_SHA256 = createHash('sha256').digest('hex');

/** One line of the content manifest: what a tree entry is, whatever its mtime or tar encoding. */
export function manifestLine(type: string, path: string, what: string | undefined): string {
  return `${type}\t${path}\t${what ?? ''}\n`;
}

/** The content identity of a tree from its manifest lines, in any order. */
export function contentDigest(lines: string[]): string {
  const hash = createHash('sha256');
  for (const line of [...lines].sort()) hash.update(line);
  return hash.digest('hex');
}

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

async function scanTree(
  bytes: Buffer,
  limits: Limits,
  onProgress: Progress | undefined,
  sha256: string,
  spool: TarSpool | undefined,
  onEntry: EntryHook | undefined,
): Promise<ArchiveScan> {
  const state = new ScanState(new TreeRules(limits), sha256);
  for await (const {entry, data} of readTree(bytes, limits, state.rules, spool)) {
    const scanned = state.see(entry, data);
    await onEntry?.(scanned, data);
    if (onProgress && state.count % 256 === 0) onProgress({phase: 'reading archive', done: state.count});
  }
  return state.result();
}
