import type {EntryType} from '../archive/entry.js';
import type {Layout} from '../content/headers.js';
import type {Format, Via} from '../formats/table.js';

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
  /** The headers' identity: the digest of the uncompressed tree (see ArchiveScan.contentSha256). */
  contentSha256?: string;
  installedAt: string;
  files: number;
  bytes: number;
  state: 'installed' | 'removing';
  /** Who installed the files: khpkg itself, or a family's package manager in bridge mode (then `package` names it). */
  via?: Via;
  /** Bridge mode: the package dpkg or rpm knows the set as (rpm: its full NVRA). */
  package?: string;
  /** `kbuild`: a module-build tree (`--kbuild`), with what it was made from. */
  tier?: 'headers' | 'kbuild';
  kbuild?: {source: string; sourceVersion: string; symversFrom?: string; symversSymbols?: number; modversions?: boolean};
  /** The kernel's BTF the set's vmlinux.h and vmlinux were made from; absent: made without BTF. */
  btf?: {source: string; sha256: string; types: number};
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

/**
 * What a repository index needs of one package, read once from the package and then kept in the
 * registry, so adding a package to a repo of hundreds reads only that one.
 */
export interface RepoPackage {
  format: Format;
  /** Where it lives in the repo, relative to its top (`pool/...`). */
  filename: string;
  name: string;
  version: string;
  arch: string;
  /** Revisions of the same kernel release share a group: what `--keep N` counts within. */
  group: string;
  size: number;
  mtimeMs: number;
  sha256: string;
  /** Whether the file carries its family's own signature (an rpm's header). */
  signed?: boolean;
  /**
   * What its family's index says of it, in the family's words, made once when read (deb: the control
   * paragraph, md5, sha1 and its Packages stanza; rpm: its primary and other XML; pacman: its sync `desc`).
   */
  index: Record<string, string>;
  /**
   * Its files as the index lists them (rpm-md's filelists entry, pacman's `files`): the bulk of the
   * metadata, so the registry keeps it in its own column and hands it out one at a time.
   */
  fileList?: string;
}
