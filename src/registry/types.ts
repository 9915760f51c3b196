import type {EntryType} from '../archive/entry.js';
import type {Layout} from '../content/headers.js';

/** One installed header set, as the registry keeps it. */
export interface HeaderSet {
  release: string;
  version: string;
  srcarch: string;
  debArch: string;
  rpmArch: string;
  layout: Layout;
  /** The tree, relative to the root (`usr/src/linux-headers-<release>`). */
  path: string;
  sourceKind: string;
  sourcePath: string;
  sourceSha256: string;
  configSha256?: string;
  installedAt: string;
  files: number;
  bytes: number;
  state: 'installed' | 'removing';
  /** Who installed the files: khpkg itself, or dpkg/rpm in bridge mode (then `package` names it). */
  via?: 'khpkg' | 'dpkg' | 'rpm';
  /** Bridge mode: the package dpkg or rpm knows the set as (rpm: its full NVRA). */
  package?: string;
  /** `kbuild`: a module-build tree (`--kbuild`), with what it was made from. */
  tier?: 'headers' | 'kbuild';
  kbuild?: {source: string; sourceVersion: string; symversFrom?: string; symversSymbols?: number};
}

/** One installed file, dir or link, relative to the root. */
export interface FileRecord {
  path: string;
  type: EntryType;
  mode: number;
  size: number;
  sha256?: string;
  linkTarget?: string;
}

export interface Operation {
  id: number;
  kind: 'install' | 'remove';
  release: string;
  phase: string;
  treePath: string;
  stagePath?: string;
  oldPath?: string;
}

export interface BuiltArtifact {
  format: string;
  path: string;
  name: string;
  version: string;
  arch: string;
  release: string;
  sha256: string;
  size: number;
  sourceSha256: string;
  builtAt: string;
}
