import {resolve} from 'node:path';
import {createHash} from 'node:crypto';
import {open, stat} from 'node:fs/promises';
import {KhpkgError} from '../errors.js';
import {peekDecompressed, sniff} from '../archive/compression.js';
import type {Limits} from '../archive/limits.js';
import {existsSync} from 'node:fs';
import {kernelPaths, readRunningKernelArchive, readRunningKernelConfig} from './kernel.js';
import type {BtfSource} from './btf.js';
import {archiveFromModule} from './module.js';
import {treeFromPackage} from './package.js';
import {findInstalledKernel, installedKernelArchive} from './installed.js';

export type SourceKind = 'file' | 'stdin' | 'running-kernel' | 'module' | 'deb' | 'rpm';

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
  /** `--kernel <release>`: the release the archive must name (its UTS_RELEASE). */
  expectedRelease?: string;
  /** Where the kernel's BTF is (read when a set is made): the running kernel's sysfs file, an installed kernel's image, `--btf FILE`. */
  btf?: BtfSource;
}

/** `--kernel <release>`: that kernel's kheaders, read offline from its module under `root`, with its config. */
export async function openInstalledKernel(root: string, release: string, limits: Limits): Promise<ArchiveSource> {
  const k = findInstalledKernel(root, release);
  const bytes = await installedKernelArchive(k, root, limits);
  return withDigest({
    kind: 'module',
    origin: k.module!,
    bytes,
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
    given ?? (source.defaultConfig && {bytes: source.defaultConfig, origin: source.kind === 'running-kernel' ? '/proc/config.gz' : `${source.origin}: .config`})
  );
}

/** Where the archive came from, as the registry records it: files by their absolute path. */
export function recordedOrigin(source: ArchiveSource): string {
  return ['file', 'module', 'deb', 'rpm'].includes(source.kind) ? resolve(source.origin) : source.origin;
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
  const raw = spec === '-' ? await readStdin(limits.maxInputBytes) : await readBounded(spec, limits.maxInputBytes);
  const format = sniff(raw);
  const kind: SourceKind = spec === '-' ? 'stdin' : 'file';
  if (format === 'deb' || format === 'rpm') {
    const tree = await treeFromPackage(raw, format, limits.maxInputBytes);
    return {kind: format, origin: spec, bytes: tree.tar, sha256: tree.archiveSha256, defaultConfig: tree.config};
  }
  if (format === 'elf' || ((format === 'xz' || format === 'zstd' || format === 'gzip') && (await holdsElf(raw, format)))) {
    return withDigest({kind: 'module', origin: spec, bytes: await archiveFromModule(raw, limits.maxInputBytes)});
  }
  return withDigest({kind, origin: spec, bytes: raw});
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
