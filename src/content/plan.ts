import {createHash} from 'node:crypto';
import {posix} from 'node:path';
import {KhpkgError} from '../errors.js';
import type {EntryType} from '../archive/entry.js';
import type {ArchiveScan} from '../archive/scan.js';

/**
 * One entry of a package's file system image: the content model every sink (deb, rpm, installer)
 * shares. Paths are POSIX, relative to `/`, without `./`. Owner is always root.
 */
export interface PackageEntry {
  path: string;
  type: EntryType;
  /** Normalised permission bits: dirs 0755, files 0644, links 0777, whatever the archive said. */
  mode: number;
  mtime: number;
  size: number;
  md5?: string;
  sha256?: string;
  linkTarget?: string;
  /** A directory other packages own too (`usr`, `lib/modules`...): rpm leaves it out. */
  shared?: boolean;
  /** Content made by khpkg (config, docs); archive files get theirs streamed in pass 2. */
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

/** `SOURCE_DATE_EPOCH` if set (clamping every mtime to it), else the archive's newest mtime. */
export function buildTimestamp(scan: ArchiveScan, env = process.env): {timestamp: number; clamp?: number} {
  const sde = env.SOURCE_DATE_EPOCH;
  if (sde !== undefined && sde !== '') {
    if (!/^\d+$/.test(sde)) throw new KhpkgError('usage', `SOURCE_DATE_EPOCH='${sde}' is not a number of seconds`);
    const t = Math.max(Number(sde), OLDEST_MTIME);
    return {timestamp: t, clamp: t};
  }
  return {timestamp: Math.max(scan.newestMtime, OLDEST_MTIME)};
}

export interface ExtraFile {
  /** Path relative to the tree (e.g. `.config`) or, with `absolute`, to `/`. */
  path: string;
  data?: Buffer;
  linkTarget?: string;
  mode?: number;
  absolute?: boolean;
}

export class PlanBuilder {
  private readonly entries: PackageEntry[] = [];
  private readonly index = new Map<string, PackageEntry>();

  constructor(
    readonly treeDir: string,
    private readonly time: {timestamp: number; clamp?: number},
    private readonly sharedDirs: ReadonlySet<string>,
  ) {}

  /** Adds the tree's parent dirs and every archive entry under the tree root. */
  addArchive(scan: ArchiveScan): this {
    this.ensureDirs(this.treeDir);
    for (const e of scan.entries) {
      this.push({
        path: `${this.treeDir}/${e.path}`,
        type: e.type,
        mode: modeFor(e.type),
        mtime: this.mtime(e.mtime),
        size: e.size,
        md5: e.md5,
        sha256: e.sha256,
        linkTarget: e.linkTarget,
        fromArchive: true,
      });
    }
    return this;
  }

  /** Adds an extra: a file or link made by khpkg, with any missing parent dirs. */
  addExtra(extra: ExtraFile): this {
    const path = extra.absolute ? extra.path : `${this.treeDir}/${extra.path}`;
    if (this.index.has(path)) throw new KhpkgError('internal', `${path} is in the package twice`);
    this.ensureDirs(posix.dirname(path));
    const type: EntryType = extra.linkTarget !== undefined ? 'symlink' : 'file';
    const data = extra.data;
    this.push({
      path,
      type,
      mode: extra.mode ?? modeFor(type),
      mtime: this.time.timestamp,
      size: data?.length ?? 0,
      md5: data && createHash('md5').update(data).digest('hex'),
      sha256: data && createHash('sha256').update(data).digest('hex'),
      linkTarget: extra.linkTarget,
      data,
    });
    return this;
  }

  build(): ContentPlan {
    return {entries: this.entries, treeDir: this.treeDir, timestamp: this.time.timestamp};
  }

  private ensureDirs(dir: string): void {
    const parts = dir.split('/');
    for (let i = 1; i <= parts.length; i++) {
      const path = parts.slice(0, i).join('/');
      if (this.index.has(path)) continue;
      this.push({path, type: 'dir', mode: 0o755, mtime: this.time.timestamp, size: 0, shared: this.sharedDirs.has(path)});
    }
  }

  private push(e: PackageEntry): void {
    this.entries.push(e);
    this.index.set(e.path, e);
  }

  private mtime(t: number): number {
    const clamped = this.time.clamp !== undefined ? Math.min(t, this.time.clamp) : t;
    return Math.max(clamped, OLDEST_MTIME);
  }
}

/** The permission bits every sink gives an archive entry of this type. */
export function modeFor(type: EntryType): number {
  return type === 'dir' ? 0o755 : type === 'symlink' ? 0o777 : 0o644;
}
