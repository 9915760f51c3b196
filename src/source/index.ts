import {resolve} from 'node:path';
import {createHash} from 'node:crypto';
import {open, stat} from 'node:fs/promises';
import {KhpkgError} from '../errors.js';
import {peekDecompressed, sniff} from '../archive/compression.js';
import {methodOf} from '../codec/decompress.js';
import {looksLikeKernelImage, openKernelImage} from '../image/kernel-image.js';
import {embeddedKheaders} from '../image/embedded.js';
import type {Limits} from '../archive/limits.js';
import {existsSync} from 'node:fs';
import {kernelPaths, readRunningKernelArchive, readRunningKernelConfig} from './kernel.js';
import type {BtfSource} from './btf.js';
import {archiveFromModule} from './module.js';
import {treeFromPackage} from './package.js';
import {formatOf, FORMATS, packageHead, type Format} from '../formats/table.js';
import {bufferSource, fileSource, type ByteSource} from '../archive/byte-source.js';
import {identifyKernelPackage, readKernelParts, type KernelGroup, type KernelParts} from './kernel-package.js';
import {findInstalledKernel, installedKernelArchive} from './installed.js';

/** Where an archive came from; a package khpkg built is named by its family (deb, rpm, pacman). */
export type SourceKind = 'file' | 'stdin' | 'running-kernel' | 'module' | Format | 'kernel-package' | 'kernel-image';

/**
 * Where a kheaders archive came from, and its compressed bytes. They are held in memory (a few MB)
 * so that the sha256 naming the archive and every read of it (a build, an install, the second read
 * of --kbuild) see the very same bytes, whatever the source: stdin and sysfs cannot be re-read, and
 * a file could change meanwhile.
 */
export interface ArchiveSource {
  kind: SourceKind;
  /** Path, `-` or the sysfs path: shown to users and kept by the registry. */
  origin: string;
  bytes: Buffer;
  sha256: string;
  /** The config that comes with the source: the running kernel's /proc/config.gz, a package's .config. */
  defaultConfig?: Buffer;
  /** Where that config was found, when the source knows better than `<origin>: .config` (a kernel package's /boot/config-<rel>). */
  defaultConfigOrigin?: string;
  /** `--kernel <release>`: the release the archive must name (its UTS_RELEASE). */
  expectedRelease?: string;
  /** Where the kernel's BTF is (read when a set is made): the running kernel's sysfs file, an installed kernel's image, `--btf FILE`. */
  btf?: BtfSource;
  /**
   * BTF made from the headers themselves: `asked` with `--btf headers` (instead of any file),
   * `fallback` where the kernel has no BTF of its own (khpkg.conf's `btf-from-headers = yes`).
   */
  headerBtf?: 'asked' | 'fallback';
}

/** `--kernel <release>`: that kernel's kheaders, read offline from its module under `root`, with its config. */
export async function openInstalledKernel(root: string, release: string, limits: Limits): Promise<ArchiveSource> {
  const k = findInstalledKernel(root, release);
  const archive = await installedKernelArchive(k, root, limits);
  return withDigest({
    kind: archive.from,
    origin: archive.path,
    bytes: archive.bytes,
    defaultConfig: k.config?.bytes,
    expectedRelease: release,
    btf: k.image && {path: k.image.path, origin: k.image.origin, given: false},
  });
}

/** The archive must be the kernel asked for: a module from another build in its place is refused. */
export function checkExpectedRelease(source: ArchiveSource, release: string): void {
  if (source.expectedRelease !== undefined && source.expectedRelease !== release) {
    throw new KhpkgError('bad-input', `${source.origin} holds the headers of ${release}, not of ${source.expectedRelease}`);
  }
}

/** The config to add: the one given, else the one the source carries (/proc/config.gz, a package's .config). */
export function configFor(source: ArchiveSource, given: {bytes: Buffer; origin: string} | undefined): {bytes: Buffer; origin: string} | undefined {
  return (
    given ??
    (source.defaultConfig && {
      bytes: source.defaultConfig,
      origin: source.defaultConfigOrigin ?? (source.kind === 'running-kernel' ? '/proc/config.gz' : `${source.origin}: .config`),
    })
  );
}

/** Where the archive came from, as the registry records it: files by their absolute path. */
export function recordedOrigin(source: ArchiveSource): string {
  if (source.kind === 'kernel-package')
    return source.origin
      .split(' + ')
      .map((p) => resolve(p.replace(/: \/.*$/, '')))
      .join(' + ');
  return ['file', 'module', 'kernel-image', ...FORMATS].includes(source.kind) ? resolve(source.origin) : source.origin;
}

/**
 * `undefined` = the running kernel; `-` = stdin; else a path to an archive, a kheaders module, or a
 * .deb/.rpm khpkg built (whose identity is the archive it was built from, not the package).
 */
export async function openSource(spec: string | undefined, limits: Limits): Promise<ArchiveSource> {
  if (spec === undefined) {
    const bytes = await readRunningKernelArchive();
    const sysfs = kernelPaths().btf;
    const btf = existsSync(sysfs) ? {path: sysfs, origin: sysfs, given: false} : undefined;
    return withDigest({kind: 'running-kernel', origin: 'running kernel', bytes, defaultConfig: readRunningKernelConfig(), btf});
  }
  if (spec !== '-' && (await stat(spec).catch(() => undefined))?.isDirectory()) {
    const kernel = (await identifyKernelPackage(spec))!;
    return openKernelPackages({release: kernel.releases[0]!, packages: [kernel]}, limits, kernel.releases);
  }
  if (spec !== '-') {
    // A package is read as a stream (a distro's kernel package can be 500 MB); anything else is small.
    const head = await readHead(spec);
    const format = (await formatOf(head))?.format as Format | undefined;
    if (format) {
      const kernel = await identifyKernelPackage(spec);
      if (kernel) return openKernelPackages({release: kernel.releases[0]!, packages: [kernel]}, limits, kernel.releases);
      return packagedSource(await fileSource(spec), format, spec);
    }
  }
  const raw = spec === '-' ? await readStdin(limits.maxInputBytes) : await readBounded(spec, limits.maxInputBytes);
  if (await isKernelImage(raw)) return imageSource(raw, spec);
  const format = sniff(raw);
  const kind: SourceKind = spec === '-' ? 'stdin' : 'file';
  if (format === 'deb' || format === 'rpm') return packagedSource(bufferSource(raw, 'stdin'), format, spec);
  if (format === 'elf' || ((format === 'xz' || format === 'zstd' || format === 'gzip') && (await holdsElf(raw, format)))) {
    return withDigest({kind: 'module', origin: spec, bytes: await archiveFromModule(raw, limits.maxInputBytes)});
  }
  return withDigest({kind, origin: spec, bytes: raw});
}

/**
 * A kernel image as SOURCE (CONFIG_IKHEADERS=y: bzImage, arm64 Image, zboot, Image.gz/.lz4, a
 * vmlinux): the archive built into it, which must name the release its banner does, and its own
 * BTF, found by khpkg (a kernel without BTF only makes a set without it).
 */
async function imageSource(raw: Buffer, origin: string): Promise<ArchiveSource> {
  const image = await openKernelImage(raw, origin);
  const archive = await embeddedKheaders(image);
  if (!archive)
    throw new KhpkgError(
      'no-kheaders',
      `${origin} (${image.from}${image.release ? `, ${image.release}` : ''}) holds no kheaders archive: the kernel was built without CONFIG_IKHEADERS=y (with =m, give its kheaders.ko)`,
    );
  return withDigest({
    kind: 'kernel-image',
    origin,
    bytes: archive,
    expectedRelease: image.release,
    btf: {path: origin, origin, given: false, bytes: raw},
  });
}

/** A kernel image rather than an archive or a module: by its own header, or by what it decompresses to (Image.gz, Image.lz4). */
async function isKernelImage(raw: Buffer): Promise<boolean> {
  if (looksLikeKernelImage(raw)) return true;
  // A vmlinux is an executable; a kheaders.ko is relocatable (ET_REL).
  if (raw.length >= 18 && raw.readUInt32BE(0) === 0x7f454c46) return (raw[5] === 2 ? raw.readUInt16BE(16) : raw.readUInt16LE(16)) === 2;
  const method = methodOf(raw);
  if (!method) return false;
  if (method === 'lz4' || method === 'lzo' || method === 'lzma') return true; // never a kheaders archive's
  if (method === 'bzip2') return false; // sniff says what bzip2 is not
  try {
    return looksLikeKernelImage(await peekDecompressed(raw, method));
  } catch {
    return false;
  }
}

async function packagedSource(bytes: ByteSource, format: Format, origin: string): Promise<ArchiveSource> {
  try {
    const tree = await treeFromPackage(bytes, format);
    return {kind: format, origin, bytes: tree.tar, sha256: tree.archiveSha256, defaultConfig: tree.config};
  } finally {
    await bytes.close();
  }
}

/**
 * One kernel's packages (or unpacked directories), read in one streamed pass: the source is the
 * kheaders archive of its `kheaders.ko`, with the package's config and image (for BTF). A set of
 * packages that holds several kernels is refused here: `build` makes one set per kernel.
 */
export async function openKernelPackages(group: KernelGroup, limits: Limits, releases = [group.release]): Promise<ArchiveSource> {
  if (releases.length > 1)
    throw new KhpkgError(
      'usage',
      `${group.packages[0]!.path} holds the files of ${releases.length} kernels (${releases.join(', ')}): give one kernel's packages`,
    );
  return await kernelPartsSource(await readKernelParts(group, limits), group);
}

/**
 * The source a kernel's parts make, or one line on what is missing from its packages. With
 * CONFIG_IKHEADERS=y (Bottlerocket's 5.10-6.1) there is no kheaders.ko: the archive is taken out
 * of the package's image.
 */
export async function kernelPartsSource(parts: KernelParts, group: KernelGroup): Promise<ArchiveSource> {
  const names = group.packages.map((p) => p.path).join(' + ');
  const setting = parts.config && /^CONFIG_IKHEADERS=([ym])$/m.exec(parts.config.bytes.toString('latin1'))?.[1];
  const image = parts.image;
  if (!parts.archive && image && (parts.builtin || setting === 'y' || !parts.config)) {
    const archive = await embeddedKheaders(await openKernelImage(image.bytes, image.origin)).catch(() => undefined);
    if (archive) parts.archive = {bytes: archive, origin: image.origin};
  }
  if (!parts.archive) {
    if (parts.builtin || setting === 'y')
      throw new KhpkgError(
        'no-kheaders',
        `${group.release} has kheaders built in (CONFIG_IKHEADERS=y), but ${image ? `its image ${image.origin} holds no archive khpkg can find` : `${names} hold no image of it`}: give its image, or run khpkg on the running kernel (/sys/kernel/kheaders.tar.xz)`,
      );
    if (parts.config && !setting)
      throw new KhpkgError('no-kheaders', `${group.release} is built without CONFIG_IKHEADERS (${parts.config.origin}): its packages hold no headers archive`);
    throw new KhpkgError(
      'no-kheaders',
      `no kheaders.ko of ${group.release} in ${names}: give the package that holds its modules too (Ubuntu: linux-modules-<rel>; Fedora: kernel-modules-core)`,
    );
  }
  return withDigest({
    kind: 'kernel-package',
    origin: names,
    bytes: parts.archive.bytes,
    defaultConfig: parts.config?.bytes,
    defaultConfigOrigin: parts.config?.origin,
    expectedRelease: group.release,
    btf: image && {path: image.origin, origin: image.origin, given: false, bytes: image.bytes},
  });
}

function withDigest(s: Omit<ArchiveSource, 'sha256'>): ArchiveSource {
  return {...s, sha256: createHash('sha256').update(s.bytes).digest('hex')};
}

/** A `.ko.xz`/`.ko.zst`/`.ko.gz` is a compressed stream too: look at what it decompresses to. */
async function holdsElf(raw: Buffer, format: 'xz' | 'zstd' | 'gzip'): Promise<boolean> {
  // A tar starts with a file name, never with \x7fELF.
  try {
    const head = await peekDecompressed(raw, format);
    return head.length >= 4 && head.readUInt32BE(0) === 0x7f454c46;
  } catch {
    return false;
  }
}

async function readHead(path: string): Promise<Buffer> {
  const source = await fileSource(path);
  try {
    if (source.size === 0) throw new KhpkgError('bad-input', `${path}: the input is empty`);
    return await packageHead(source);
  } finally {
    await source.close();
  }
}

async function readBounded(path: string, max: number): Promise<Buffer> {
  let size: number;
  try {
    const st = await stat(path);
    if (st.isDirectory()) throw new KhpkgError('bad-input', `${path}: is a directory, not an archive`);
    size = st.size;
  } catch (e) {
    if (e instanceof KhpkgError) throw e;
    throw new KhpkgError('not-found', `${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  if (size > max) throw new KhpkgError('bad-input', `${path}: ${size} bytes is over the input bound of ${max}`);
  const fh = await open(path, 'r');
  try {
    return await fh.readFile();
  } finally {
    await fh.close();
  }
}

async function readStdin(max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    size += (chunk as Buffer).length;
    if (size > max) throw new KhpkgError('bad-input', `stdin: over the input bound of ${max} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
