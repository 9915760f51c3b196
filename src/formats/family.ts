import {join} from 'node:path';
import type {ByteSource} from '../archive/byte-source.js';
import type {Architecture} from '../archive/arch.js';
import type {KernelIdentity} from '../archive/info.js';
import type {HeadersPackageOptions} from '../content/headers-meta.js';
import type {Layout} from '../content/headers.js';
import type {PackageMeta} from '../content/package-meta.js';
import type {RepoPackage} from '../registry/types.js';
import {KhpkgError} from '../errors.js';
import {relevantLines, runTool} from '../tool.js';
import type {PayloadItem} from './payload.js';
import type {Compression} from './compression.js';
import type {Artifact, Packager} from './writer.js';
import {filesBelow} from '../root/walk.js';

/** What a package of a family says about itself without its payload: for telling sources apart. */
export interface PackageSummary {
  name?: string;
  description?: string;
  /** Every path it holds, relative to `/` (deb: md5sums, or the payload's names; rpm: its header; pacman: .MTREE). */
  files: string[];
}

/** khpkg's own package before a family spells it: what every family's says alike, where it runs, what its runtime links. */
export interface OwnPackage {
  common: Pick<PackageMeta, 'name' | 'version' | 'release' | 'maintainer' | 'summary' | 'description' | 'homepage' | 'license'>;
  arch: Architecture;
  /** The newest glibc symbol version its ELF files ask for. */
  glibc: string;
  /** The variables of its templates (packaging/khpkg/: VERSION, COMMIT, NODE). */
  vars: Record<string, string>;
}

/** A path that a root's own package manager owns: khpkg never writes or deletes it. */
export interface ForeignOwner {
  manager: string;
  package: string;
  /** Root-relative, as asked. */
  path: string;
}

/**
 * A family's package manager, as khpkg meets it: telling whether a root has it, installing and
 * removing khpkg's own packages through it (`install --via`), and who owns a path (never written
 * over). Every call runs the real tool through tool.ts, with the root the manager's own way.
 */
export interface PackageManager {
  /** `--via` names it (dpkg, rpm, pacman); the registry records it. */
  via: string;
  /** Its program, looked for on PATH. */
  tool: string;
  /** Whether a root has this manager's database (`auto` chooses by it). */
  present(root: string): boolean;
  /** Why a root can take headers through this manager only (a read-only /usr): then khpkg's own installer and `auto` use it, saying so. */
  onlyWayIn?(root: string): string | undefined;
  /** `--via` refuses a root without one (dpkg cannot make its own; rpm and pacman make theirs on first use). */
  needsDatabase: boolean;
  /** Where a root keeps its database, as said to a person. */
  database: string;
  /** Installs a package file khpkg built; `force` replaces files another package of the same name left. */
  install(root: string, pkg: string, opts: {force: boolean}): Promise<void>;
  /** Removes the installed package of that name (what `installedName` gave). */
  remove(root: string, name: string): Promise<void>;
  /** The name the manager knows an installed package by (dpkg: its name; rpm: its NVRA; pacman: its name). */
  installedName(pkg: Artifact): string;
  /** Which of `paths` (root-relative) its packages own; `askTool` false when the tool must not be run (a hook it runs). */
  owners(root: string, paths: readonly string[], opts: {askTool: boolean}): ForeignOwner[];
  /** The commands a person runs to remove a package, and to reinstall it from its repository. */
  removeHint(name: string): string;
  reinstallHint(name: string): string;
  /** The headers package's own scripts run the kernel's header hooks (dpkg's postinst does); else khpkg runs them. */
  runsHeaderHooks: boolean;
}

/**
 * Everything khpkg knows about one package family, in one row in the family's own folder (nfpm's one
 * folder per format, behind one interface): the writer and reader, the probe that tells its files
 * apart, where its headers tree lives, its names for architectures, its package manager, its
 * repository index. A new family is a folder and a row in formats/table.ts.
 */
export interface FormatRow {
  format: string;
  packager: Packager;
  /** Where its headers tree lives (content/headers.ts LAYOUTS). */
  layout: Layout;
  /** Its spelling of the kernel's architecture (KernelIdentity's names). */
  arch: (kernel: Pick<KernelIdentity, 'debArch' | 'rpmArch'>) => string;
  /** The headers package's metadata in this family's spelling. */
  headersMeta: (kernel: KernelIdentity, opts: HeadersPackageOptions) => PackageMeta;
  /** khpkg's own package (`npm run dist`) in this family's spelling: its dependencies and its scripts. */
  ownMeta: (p: OwnPackage) => PackageMeta;
  manager: PackageManager;
  /** What its packages are compressed with unless told (what its own tools default to). */
  defaultCompression: Compression;
  /** Its part of a repository `khpkg repo` writes: where its packages live and the indexes its manager reads. */
  repo: RepoFamily;
  /** The canonical file name (dpkg-name's, rpm's NVRA, makepkg's), from its name, version (epoch dropped) and arch; `current`, the file's name now (its compression's suffix, for pacman). */
  fileName(name: string, version: string, arch: string, current?: string): string;
  /** Version order, as the package manager sorts. */
  compareVersions(a: string, b: string): number;
  /**
   * Whether a file is one of its packages, from its first bytes (`head`, 512 at least) and, where
   * those cannot tell (a .pkg.tar.zst is a zstd stream as a kheaders archive may be), what they decompress to.
   */
  probe(head: Buffer): Promise<boolean>;
  /** Reads the metadata only; the payload's names only where the format keeps no list of files and `files` are wanted. */
  summary(source: ByteSource, files?: boolean): Promise<PackageSummary>;
  /** The payload, streamed. */
  payload(source: ByteSource): Promise<AsyncIterable<PayloadItem>>;
}

/** A file of a repository's indexes, relative to the repository's top. */
export interface IndexFile {
  path: string;
  data: Buffer;
  /** It names other index files (Release, InRelease, repomd.xml): replaced after them. */
  last?: boolean;
}

/** What a repository's signing key does (repo/gpg.ts's GpgSigner): the families say what they sign, and how. */
export interface RepoSigner {
  /** The text clear-signed (APT's InRelease). */
  clearsign(data: Buffer): Promise<Buffer>;
  /** A detached signature, ASCII-armored or binary. */
  detach(data: Buffer, armor: boolean): Promise<Buffer>;
}

/** What every family's indexes are written with: the APT naming, the moment, the signer, and each package's file list. */
export interface IndexContext {
  /** APT: `dists/<suite>/<component>/binary-<arch>/`, or everything at the top (`deb file:DIR ./`). */
  flat: boolean;
  suite: string;
  component: string;
  origin: string;
  label: string;
  now: Date;
  /** APT's `Valid-Until`. */
  validUntil?: Date;
  signer?: RepoSigner;
  /** A package's file list (RepoPackage.fileList), from memory when just read, else from the registry. */
  fileList(p: RepoPackage): string;
}

/**
 * A family's part of a repository: its packages' place, what its index needs of each (read once and
 * kept in the registry), and the index files themselves with their signatures, made in memory so
 * that nothing is replaced until every family's are ready.
 */
export interface RepoFamily {
  /** The directory under the repository's top its packages live in, and their file names there (scanned for them). */
  dir: string;
  packageFile: RegExp;
  /** Where a package lives, relative to the repository's top (its file name canonical). */
  place(p: RepoPackage, component: string): string;
  /** What the index needs of a package file; `filename` is where the index will say it is. */
  entry(bytes: Buffer, filename: string, facts: {mtimeMs: number; sha256: string}): Promise<RepoPackage>;
  /** Signs a package file in place before it enters a signed repository (rpm: dnf's gpgcheck reads the header's signature). */
  signPackage?(path: string, signer: RepoSigner): Promise<void>;
  /** Whether a package already in the repository still needs `signPackage`. */
  unsigned?(p: RepoPackage): boolean;
  /** Its index files (and their signatures) for its packages; `packages` is sorted by file name and may be empty. */
  indexes(packages: RepoPackage[], ctx: IndexContext): Promise<IndexFile[]>;
  /** Index files it may have written before (relative paths present under `top`): those not written again are stale. */
  ownIndexes(top: string, ctx: IndexContext): Promise<string[]>;
}

/** Runs a package manager's tool; a failure is one line with the tool's own first word on why. */
export async function runManager(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<void> {
  const r = await runTool(cmd, args, env ? {env} : {}).catch((e: NodeJS.ErrnoException) => {
    throw new KhpkgError('no-package-manager', e.code === 'ENOENT' ? `--via: ${cmd} is not installed` : `${cmd}: ${e.message}`);
  });
  if (r.code === 0) return;
  const why = relevantLines(r.output, /error|failed|conflict/i, 1)[0] ?? '';
  throw new KhpkgError('package-manager', `${cmd} ${args.filter((a) => !a.startsWith('-')).join(' ')} failed (exit ${r.code})${why ? `: ${why}` : ''}`);
}

/** Every file under `rel` of a repository's top, relative to the top (none when `rel` is not there). */
export async function filesUnder(top: string, rel: string): Promise<string[]> {
  const below = await filesBelow(join(top, rel)).catch(() => []);
  return below.map((p) => `${rel}/${p}`);
}

/** Debian's pool layout, `pool/<component>/<l>/<name>/<file>` (`lib*` packages by four letters), which rpm-md shares. */
export function poolPlace(p: RepoPackage, component: string, file: string): string {
  const letter = p.name.startsWith('lib') ? p.name.slice(0, 4) : p.name[0]!;
  return `pool/${component}/${letter}/${p.name}/${file}`;
}

/** The same path as merged-/usr spells it: a database may list `/lib/modules/...` or `/usr/lib/modules/...`. */
export function usrAliases(rel: string): string[] {
  if (/^(lib|bin|sbin|lib32|lib64|libx32)\//.test(rel)) return [rel, `usr/${rel}`];
  if (/^usr\/(lib|bin|sbin|lib32|lib64|libx32)\//.test(rel)) return [rel, rel.slice(4)];
  return [rel];
}
