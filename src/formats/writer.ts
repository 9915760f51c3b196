import type {Digest} from '../archive/scan.js';
import type {PackageMeta} from '../content/package-meta.js';
import type {ContentPlan, ExtraFile, PackageEntry, TimeBounds} from '../content/plan.js';
import type {Compression} from './compression.js';

import type {Format} from './table.js';
export type {Format};

/** A package file that was written. */
export interface Artifact {
  format: Format;
  path: string;
  name: string;
  version: string;
  arch: string;
  sha256: string;
  size: number;
}

/**
 * What every format needs to know before the first entry, and nothing about the CLI or what the
 * files are: the package's metadata in this format's spelling (its producer's), and how to write.
 * What only the end of the content tells (every digest, the newest mtime) reaches the sink with the
 * finished plan.
 */
export interface BuildInput {
  meta: PackageMeta;
  compression: Compression;
  /** How many packages are written at once, in one pass: their compressors share the cores. */
  packagesAtOnce: number;
  outDir: string;
  time: TimeBounds & {
    /** The mtime of the dirs written before the archive's first entry (its root's, bounded). */
    tree: number;
  };
}

/**
 * Receives a package's entries in order as the archive is read (content for files), then writes
 * the package file from its complete plan.
 */
export interface PackageSink {
  add(entry: PackageEntry, data: Buffer | undefined): Promise<void>;
  /** Files the format itself ships beside the tree (deb: copyright, changelog), at the package's time. */
  extras(timestamp: number): ExtraFile[];
  /** Completes the file from the whole plan and moves it into place. */
  finish(plan: ContentPlan): Promise<Artifact>;
  /** Removes every trace of a partial package. */
  abort(): Promise<void>;
}

/** One per format (nfpm's Packager): what it digests, and a sink that writes any file list into a package. */
export interface Packager {
  readonly format: Format;
  /** The file digests its metadata lists (deb md5sums, rpm FILEDIGESTS). */
  readonly digests: readonly Digest[];
  open(input: BuildInput): Promise<PackageSink>;
}
