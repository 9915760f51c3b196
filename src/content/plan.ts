import {createHash} from 'node:crypto';
import {posix} from 'node:path';
import {KhpkgError} from '../errors.js';
import type {Entry, EntryType} from '../archive/entry.js';
import type {ArchiveScan, ScannedEntry} from '../archive/scan.js';

/**
 * One entry of a package's file system image: the content model every sink (deb, rpm, installer)
 * shares. Paths are POSIX, relative to `/`, without `./`. Owner is always root.
 */
export interface PackageEntry extends Entry {
  /** Normalised permission bits: dirs 0755, files 0644, links 0777, whatever the archive said. */
  mode: number;
  md5?: string;
  sha256?: string;
  /** A directory other packages own too (`usr`, `lib/modules`...): rpm leaves it out. */
  shared?: boolean;
  /** Content made by khpkg (config, docs); archive files get theirs streamed as they are read. */
  data?: Buffer;
  /** True for entries streamed from the archive. */
  fromArchive?: boolean;
}

/** The full manifest of one package, known before any byte is written, and a way to stream it. */
export interface ContentPlan {
  entries: PackageEntry[];
  /** Installed root of the tree, e.g. `usr/src/linux-headers-<release>`. */
  treeDir: string;
  timestamp: number;
}

/** Lintian flags files older than 1975 (and epoch 0 is a common "no time" artefact). */
const OLDEST_MTIME = 315532800; // 1980-01-01

/** How package times are bounded: `SOURCE_DATE_EPOCH` clamps every mtime to it when set. */
export interface TimeBounds {
  clamp?: number;
}

/** `SOURCE_DATE_EPOCH` (seconds), if set: the one parser, strict, for packages and repo indexes alike. */
export function sourceDateEpoch(env = process.env): number | undefined {
  const sde = env.SOURCE_DATE_EPOCH;
  if (sde === undefined || sde === '') return undefined;
  if (!/^\d+$/.test(sde)) throw new KhpkgError('usage', `SOURCE_DATE_EPOCH='${sde}' is not a number of seconds`);
  return Number(sde);
}

/** `SOURCE_DATE_EPOCH`, if set: every mtime in a package is clamped to it. */
export function timeBounds(env = process.env): TimeBounds {
  const sde = sourceDateEpoch(env);
  return sde === undefined ? {} : {clamp: Math.max(sde, OLDEST_MTIME)};
}

/** A package mtime: clamped to `SOURCE_DATE_EPOCH`, never before 1980. */
export function packageMtime(t: number, bounds: TimeBounds): number {
  const clamped = bounds.clamp !== undefined ? Math.min(t, bounds.clamp) : t;
  return Math.max(clamped, OLDEST_MTIME);
}

/** The package's own time (control files, docs, rpm BUILDTIME): the archive's newest mtime, bounded. */
export function packageTimestamp(newestMtime: number, bounds: TimeBounds): number {
  return bounds.clamp ?? packageMtime(newestMtime, bounds);
}

/** Both times of a scanned archive, for sinks that see the whole scan before writing. */
export function buildTimestamp(scan: ArchiveScan, env = process.env): {timestamp: number; clamp?: number} {
  const bounds = timeBounds(env);
  return {...bounds, timestamp: packageTimestamp(scan.newestMtime, bounds)};
}

export interface ExtraFile {
  /** Path relative to the tree (e.g. `.config`) or, with `absolute`, to `/`. */
  path: string;
  data?: Buffer;
  linkTarget?: string;
  mode?: number;
  absolute?: boolean;
}

/**
 * Builds a package's manifest in the order its entries are written, so a package can be streamed
 * while the archive is still being read: first the tree's parent dirs (with the archive root's
 * mtime, known at its first entry), then the archive's entries as they pass, then the extras once
 * the package's timestamp is known (the archive's newest mtime, known only at its end). `take()`
 * hands out what was added since it was last called, for the sinks.
 */
export class PlanBuilder {
  private readonly entries: PackageEntry[] = [];
  private readonly index = new Map<string, PackageEntry>();
  private taken = 0;
  private timestamp?: number;

  constructor(
    readonly treeDir: string,
    private readonly bounds: TimeBounds,
    private readonly sharedDirs: ReadonlySet<string>,
  ) {}

  /** The tree's dir and its parents, with the mtime of the archive's root. */
  openTree(rootMtime: number): this {
    this.ensureDirs(this.treeDir, packageMtime(rootMtime, this.bounds));
    return this;
  }

  /** One archive entry, under the tree root. */
  addArchiveEntry(e: ScannedEntry): this {
    this.push({
      path: `${this.treeDir}/${e.path}`,
      type: e.type,
      mode: modeFor(e.type),
      mtime: packageMtime(e.mtime, this.bounds),
      size: e.size,
      md5: e.md5,
      sha256: e.sha256,
      linkTarget: e.linkTarget,
      fromArchive: true,
    });
    return this;
  }

  /** Every archive entry of a finished scan. */
  addArchive(scan: ArchiveScan): this {
    this.openTree(scan.rootMtime);
    for (const e of scan.entries) this.addArchiveEntry(e);
    return this;
  }

  /** The package's own time, for extras and the package's metadata: set once the archive was read. */
  setTimestamp(timestamp: number): this {
    this.timestamp = timestamp;
    return this;
  }

  /** Adds an extra: a file or link made by khpkg, with any missing parent dirs. */
  addExtra(extra: ExtraFile): this {
    const t = this.requireTimestamp();
    const path = extra.absolute ? extra.path : `${this.treeDir}/${extra.path}`;
    if (this.index.has(path)) throw new KhpkgError('internal', `${path} is in the package twice`);
    this.ensureDirs(posix.dirname(path), t);
    const type: EntryType = extra.linkTarget !== undefined ? 'symlink' : 'file';
    const data = extra.data;
    this.push({
      path,
      type,
      mode: extra.mode ?? modeFor(type),
      mtime: t,
      size: data?.length ?? 0,
      md5: data && createHash('md5').update(data).digest('hex'),
      sha256: data && createHash('sha256').update(data).digest('hex'),
      linkTarget: extra.linkTarget,
      data,
    });
    return this;
  }

  /** The entries added since the last call, in order. */
  take(): PackageEntry[] {
    const out = this.entries.slice(this.taken);
    this.taken = this.entries.length;
    return out;
  }

  build(): ContentPlan {
    return {entries: this.entries, treeDir: this.treeDir, timestamp: this.requireTimestamp()};
  }

  private requireTimestamp(): number {
    if (this.timestamp === undefined) throw new KhpkgError('internal', 'the package timestamp is set after the archive was read');
    return this.timestamp;
  }

  private ensureDirs(dir: string, mtime: number): void {
    const parts = dir.split('/');
    for (let i = 1; i <= parts.length; i++) {
      const path = parts.slice(0, i).join('/');
      if (this.index.has(path)) continue;
      this.push({path, type: 'dir', mode: 0o755, mtime, size: 0, shared: this.sharedDirs.has(path)});
    }
  }

  private push(e: PackageEntry): void {
    this.entries.push(e);
    this.index.set(e.path, e);
  }
}

/** The permission bits every sink gives an archive entry of this type. */
export function modeFor(type: EntryType): number {
  return type === 'dir' ? 0o755 : type === 'symlink' ? 0o777 : 0o644;
}
