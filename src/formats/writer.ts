import type {ArchiveScan} from '../archive/scan.js';
import type {KernelConfig} from '../content/config.js';
import type {ContentPlan, PackageEntry} from '../content/plan.js';
import type {Compression} from './compression.js';
import type {KitFile} from '../kbuild/source-tree.js';

export type Format = 'deb' | 'rpm';
export const FORMATS: readonly Format[] = ['deb', 'rpm'];

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

/** What every format needs to know, and nothing about the CLI. */
export interface BuildInput {
  scan: ArchiveScan;
  config?: KernelConfig;
  /** Package revision (deb revision, rpm Release). */
  revision: string;
  /** Overrides the upstream part of the version. */
  version?: string;
  maintainer: string;
  compression: Compression;
  /** How many packages are written at once, in one pass: their compressors share the cores. */
  packagesAtOnce: number;
  outDir: string;
  time: {timestamp: number; clamp?: number};
  /** The module-build tier's files (`--kbuild`), added to the header tree. */
  kit?: readonly KitFile[];
}

/** Receives a plan's entries in order (content for files), then writes the package in place. */
export interface PackageSink {
  add(entry: PackageEntry, data: Buffer | undefined): Promise<void>;
  /** Completes the file and moves it into place. */
  finish(): Promise<Artifact>;
  /** Removes every trace of a partial package. */
  abort(): Promise<void>;
}

/** One per format (nfpm's Packager): the package's manifest, and a sink that writes it. */
export interface Packager {
  readonly format: Format;
  prepare(input: BuildInput): Promise<{plan: ContentPlan; sink: PackageSink}>;
}
