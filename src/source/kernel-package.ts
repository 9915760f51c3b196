import {lstat, readFile} from 'node:fs/promises';
import {join} from 'node:path';
import {fileSource} from '../archive/byte-source.js';
import type {Limits} from '../archive/limits.js';
import {KhpkgError} from '../errors.js';
import type {PayloadItem} from '../formats/payload.js';
import {formatOf, formatRow, packageHead} from '../formats/table.js';
import type {Format} from '../formats/writer.js';
import {MAX_IMAGE_BYTES} from '../image/kernel-image.js';
import {archiveFromModule} from './module.js';
import {builtFromArchive} from './package.js';
import {filesBelow} from '../root/walk.js';

/**
 * A distribution's kernel package (Debian's and Ubuntu's linux-image / linux-modules, Fedora's
 * kernel-core / kernel-modules-core / kernel-modules) or a directory holding an unpacked kernel,
 * and the releases whose files it carries. Told by what it holds, never by its name.
 */
export interface KernelPackage {
  path: string;
  kind: Format | 'dir';
  /** The releases it has files of (`lib/modules/<rel>/...`, `boot/vmlinuz-<rel>`...), usually one. */
  releases: string[];
  /** The package's own name (`linux-image-6.12.117+deb12-amd64-unsigned`), or the directory. */
  name: string;
}

/** Several packages of one kernel, read together for one header set. */
export interface KernelGroup {
  release: string;
  packages: KernelPackage[];
}

/** What a kernel's packages hold for its headers, each found as the payloads stream by. */
export interface KernelParts {
  release: string;
  /** The kheaders archive, taken out of `kheaders.ko[.xz|.zst|.gz]`. */
  archive?: {bytes: Buffer; origin: string};
  config?: {bytes: Buffer; origin: string};
  /** The kernel image (its BTF), held: 10-40 MB, read once as it passed. */
  image?: {bytes: Buffer; origin: string};
  systemMap?: {text: string; name: string};
  /** modules.builtin names kheaders.ko: CONFIG_IKHEADERS=y. */
  builtin: boolean;
  /** Modules seen (`.ko*` under lib/modules/<rel>/), whether or not anyone read them. */
  modules: number;
}

const RELEASE = '[A-Za-z0-9._+~-]+';
const IN_MODULES = new RegExp(`^(?:usr/)?lib/modules/(${RELEASE})/(.+)$`);
const IN_BOOT = new RegExp(`^boot/(vmlinuz|vmlinux|Image|config|System\\.map)-(${RELEASE})$`);
const KO = /\.ko(\.xz|\.zst|\.gz)?$/;
/** Kernel images in the order a set prefers them: the boot image (what was booted) first. */
const IMAGE_RANK = ['boot/vmlinuz', 'modules/vmlinuz', 'boot/Image', 'boot/vmlinux'];

/** The releases a package's paths have kernel files of. */
export function releasesIn(paths: Iterable<string>): string[] {
  const out = new Set<string>();
  for (const p of paths) {
    const release = IN_BOOT.exec(p)?.[2] ?? IN_MODULES.exec(p)?.[1];
    if (release) out.add(release);
  }
  return [...out].sort();
}

/**
 * Is `path` a kernel package (or an unpacked kernel's directory)? Undefined for anything else (an
 * archive, a module, a package khpkg built): those are sources of their own. Reads only metadata:
 * a .deb's control member (md5sums lists every file), an .rpm's header, a directory's names.
 */
export async function identifyKernelPackage(path: string): Promise<KernelPackage | undefined> {
  const st = await lstat(path).catch((e: NodeJS.ErrnoException) => {
    throw new KhpkgError('not-found', `${path}: ${e.code === 'ENOENT' ? 'no such file or directory' : e.message}`);
  });
  if (st.isDirectory()) {
    const releases = releasesIn(await kernelDirPaths(path));
    if (releases.length === 0)
      throw new KhpkgError('bad-input', `${path}: a directory without an unpacked kernel (no lib/modules/<release>/ or boot/vmlinuz-<release>)`);
    return {path, kind: 'dir', releases, name: path};
  }
  const source = await fileSource(path);
  try {
    const row = source.size === 0 ? undefined : await formatOf(await packageHead(source));
    if (!row) return undefined;
    const summary = await row.summary(source);
    if (builtFromArchive(summary.description)) return undefined;
    return kernelPackage(path, row.format as Format, summary.name ?? path, summary.files);
  } finally {
    await source.close();
  }
}

function kernelPackage(path: string, kind: Format, name: string, files: string[]): KernelPackage {
  const releases = releasesIn(files);
  if (releases.length === 0)
    throw new KhpkgError(
      'bad-input',
      `${path}: ${name} is a .${kind} neither built by khpkg (its description names no kheaders archive) nor a kernel package (no lib/modules/<release>/ or /boot/vmlinuz-<release> in it)`,
    );
  return {path, kind, releases, name};
}

/**
 * SOURCE... as kernels: undefined when it is one SOURCE of another kind (an archive, a module,
 * a package khpkg built), which `build` reads as before. Several SOURCEs must all be kernel
 * packages or unpacked kernels; a package of several kernels gives several.
 */
export async function kernelGroupsFrom(specs: string[]): Promise<KernelGroup[] | undefined> {
  if (specs.length === 0 || (specs.length === 1 && specs[0] === '-')) return undefined;
  const packages: KernelPackage[] = [];
  for (const spec of specs) {
    const p = spec === '-' ? undefined : await identifyKernelPackage(spec);
    if (!p) {
      if (specs.length === 1) return undefined;
      throw new KhpkgError('usage', `${spec}: not a kernel package or an unpacked kernel; several SOURCEs must all be (give archives one at a time)`);
    }
    packages.push(p);
  }
  return groupByKernel(packages);
}

/** Packages grouped by the kernel they belong to, in release order: one header set each. */
export function groupByKernel(packages: KernelPackage[]): KernelGroup[] {
  const groups = new Map<string, KernelPackage[]>();
  for (const p of packages) for (const r of p.releases) groups.set(r, [...(groups.get(r) ?? []), p]);
  return [...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([release, pkgs]) => ({release, packages: pkgs}));
}

/**
 * Reads a kernel's packages, each payload once as it is decompressed, and keeps only what a header
 * set needs: the kheaders archive, the config, the image, System.map. `onModule` gets every other
 * module of the kernel as it passes (for Module.symvers); without it modules are skipped unread.
 */
export async function readKernelParts(group: KernelGroup, limits: Limits, onModule?: (file: string, bytes: Buffer) => Promise<void>): Promise<KernelParts> {
  const {release} = group;
  const parts: KernelParts = {release, builtin: false, modules: 0};
  let imageRank = IMAGE_RANK.length;
  for (const pkg of group.packages) {
    const where = (path: string): string => (pkg.kind === 'dir' ? join(pkg.path, path) : `${pkg.path}: /${path}`);
    const source = pkg.kind === 'dir' ? undefined : await fileSource(pkg.path);
    try {
      const items = source && pkg.kind !== 'dir' ? await formatRow(pkg.kind).payload(source) : dirPayload(pkg.path);
      for await (const {entry, body} of items) {
        if (entry.type !== 'file') continue;
        const what = kernelFile(entry.path, release);
        if (!what) continue;
        const bound = (max: number): void => {
          if (entry.size > max) throw new KhpkgError('bad-input', `${where(entry.path)}: ${entry.size} bytes, over the bound of ${max}`);
        };
        if (what.kind === 'kheaders') {
          bound(limits.maxInputBytes);
          parts.modules++;
          parts.archive ??= {bytes: Buffer.from(await archiveFromModule(await body(), limits.maxInputBytes)), origin: where(entry.path)};
        } else if (what.kind === 'module') {
          parts.modules++;
          if (onModule) await onModule(what.file, await body());
        } else if (what.kind === 'config') {
          bound(limits.maxInputBytes);
          parts.config ??= {bytes: await body(), origin: where(entry.path)};
        } else if (what.kind === 'image') {
          bound(MAX_IMAGE_BYTES);
          if (what.rank < imageRank) {
            parts.image = {bytes: await body(), origin: where(entry.path)};
            imageRank = what.rank;
          }
        } else if (what.kind === 'system-map') {
          bound(limits.maxInputBytes);
          parts.systemMap ??= {text: (await body()).toString('latin1'), name: where(entry.path)};
        } else if (what.kind === 'modules-builtin') {
          bound(limits.maxInputBytes);
          if (/(^|\/)kheaders\.ko$/m.test((await body()).toString('latin1'))) parts.builtin = true;
        }
      }
    } catch (e) {
      if (e instanceof KhpkgError) throw e;
      throw new KhpkgError('bad-input', `${pkg.path}: a damaged ${pkg.kind === 'dir' ? 'kernel directory' : `.${pkg.kind}`} (${(e as Error).message})`);
    } finally {
      await source?.close();
    }
  }
  return parts;
}

type KernelFile = {kind: 'kheaders' | 'config' | 'system-map' | 'modules-builtin'} | {kind: 'module'; file: string} | {kind: 'image'; rank: number};

/** What a payload path is to kernel `release`'s header set, if anything. */
function kernelFile(path: string, release: string): KernelFile | undefined {
  const boot = IN_BOOT.exec(path);
  if (boot) {
    if (boot[2] !== release) return undefined;
    if (boot[1] === 'config') return {kind: 'config'};
    if (boot[1] === 'System.map') return {kind: 'system-map'};
    return {kind: 'image', rank: IMAGE_RANK.indexOf(`boot/${boot[1]}`)};
  }
  const mod = IN_MODULES.exec(path);
  if (!mod || mod[1] !== release) return undefined;
  const file = mod[2]!;
  if (file === 'config') return {kind: 'config'};
  if (file === 'System.map') return {kind: 'system-map'};
  if (file === 'vmlinuz') return {kind: 'image', rank: IMAGE_RANK.indexOf('modules/vmlinuz')};
  if (file === 'modules.builtin') return {kind: 'modules-builtin'};
  if (KO.test(file)) return /(^|\/)kheaders\.ko(\.\w+)?$/.test(file) ? {kind: 'kheaders'} : {kind: 'module', file};
  return undefined;
}

/** The kernel files of an unpacked kernel, relative to it; links are never followed. */
async function kernelDirPaths(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const top of ['boot', 'lib/modules', 'usr/lib/modules']) {
    const st = await lstat(join(dir, top)).catch(() => undefined);
    if (!st?.isDirectory()) continue;
    for (const rel of await filesBelow(join(dir, top))) out.push(`${top}/${rel}`);
  }
  return out.sort();
}

/** An unpacked kernel's files as a payload, in the same order a package would give them. */
async function* dirPayload(dir: string): AsyncGenerator<PayloadItem> {
  for (const path of await kernelDirPaths(dir)) {
    const st = await lstat(join(dir, path));
    yield {
      entry: {path, type: 'file', mode: st.mode & 0o7777, mtime: Math.floor(st.mtimeMs / 1000), size: st.size},
      body: () => readFile(join(dir, path)),
    };
  }
}
