import type {ArchiveScan} from '../archive/scan.js';
import {deriveAutoConf, type KernelConfig} from './config.js';
import {PlanBuilder, type ExtraFile} from './plan.js';
import {renderTemplate} from './templates.js';
import {INFO_FILES} from '../archive/info.js';

const VERSION_H = INFO_FILES.version;

/**
 * Where a header tree lives, one row each: Debian's builddeb layout, Fedora's and kernel.spec's,
 * Arch's (its linux-headers' tree *is* /usr/lib/modules/<release>/build, no link). `stageIn`: the
 * dir, on the tree's file system and known before the release is, where an install writes the
 * tree before it renames it into place (and where leftovers are looked for). `buildLink`: the
 * tree is reached through /lib/modules/<release>/build (kernelLinks); `splitHeadersOnly`: a
 * headers-only tree is `source`, its `build` has no include/ (see HEADERS_ONLY_BUILD).
 */
export const LAYOUTS = {
  debian: {tree: (release: string) => `usr/src/linux-headers-${release}`, stageIn: 'usr/src', buildLink: true, splitHeadersOnly: true},
  kernels: {tree: (release: string) => `usr/src/kernels/${release}`, stageIn: 'usr/src/kernels', buildLink: true, splitHeadersOnly: false},
  arch: {tree: (release: string) => `usr/lib/modules/${release}/build`, stageIn: 'usr/lib/modules', buildLink: false, splitHeadersOnly: false},
} as const;
export type Layout = keyof typeof LAYOUTS;
export const LAYOUT_NAMES = Object.keys(LAYOUTS) as Layout[];

export function treeDirFor(layout: Layout, release: string): string {
  return LAYOUTS[layout].tree(release);
}

/**
 * The directory inside a headers-only tree that its `build` link leads to: everything BPF tools look
 * for under `build` (the arch's generated headers, `vmlinux`, `.config`, the `Makefile` that says why
 * modules cannot be built) but `include/`. DKMS (every version, every distro's hook and service)
 * takes `/lib/modules/<rel>/build/include` for "headers installed" and then fails every module build
 * against a tree without kbuild, where it would have skipped the kernel; BCC and bpftrace take the
 * headers from `/lib/modules/<rel>/source` when both it and `build` are directories. So a headers-only
 * set never claims to build modules, and the BPF tools still find it.
 */
export const HEADERS_ONLY_BUILD = 'headers-only';

/** One link a set makes in `/lib/modules/<rel>`, with the root-relative dir it leads to. */
export interface KernelLink {
  path: string;
  target: string;
}

/**
 * The links a set makes in `/lib/modules/<rel>`. A module-build tree, and any tree of the `kernels`
 * layout (Fedora's kernel-core owns `build -> /usr/src/kernels/<rel>` and `source -> build`, so
 * nothing else may be laid out there), is `build` itself. A headers-only tree of the Debian layout is
 * `source`, with `build` leading to its HEADERS_ONLY_BUILD dir. Arch's tree is at `build`: no link.
 */
export function kernelLinks(layout: Layout, release: string, tier: 'headers' | 'kbuild'): KernelLink[] {
  const tree = treeDirFor(layout, release);
  if (!LAYOUTS[layout].buildLink) return [];
  if (tier === 'kbuild' || !LAYOUTS[layout].splitHeadersOnly) return [{path: `lib/modules/${release}/build`, target: tree}];
  return [
    {path: `lib/modules/${release}/build`, target: `${tree}/${HEADERS_ONLY_BUILD}`},
    {path: `lib/modules/${release}/source`, target: tree},
  ];
}

/** A file of the module-build kit (`--kbuild`): kbuild's Makefiles, scripts and host programs. */
export interface KitFile {
  path: string;
  mode: number;
  data: Buffer;
}

/** System directories that other packages own too. */
export const SHARED_DIRS: ReadonlySet<string> = new Set([
  'usr',
  'usr/src',
  'usr/src/kernels',
  'lib',
  'lib/modules',
  'usr/lib',
  'usr/lib/modules',
  'usr/share',
  'usr/share/doc',
]);

/**
 * The header tree every format and the installer ship: the archive verbatim, then what khpkg adds
 * (headerExtras). For sinks that see the whole scan first (the installer, the kbuild kit).
 */
export function headersPlan(
  scan: ArchiveScan,
  layout: Layout,
  config: KernelConfig | undefined,
  time: {timestamp: number; clamp?: number},
  kit?: readonly KitFile[],
  btf?: readonly KitFile[],
): PlanBuilder {
  const plan = new PlanBuilder(treeDirFor(layout, scan.info.release), time, SHARED_DIRS).addArchive(scan).setTimestamp(time.timestamp);
  const paths = new Set(scan.entries.map((e) => e.path));
  for (const extra of headerExtras({...scan.info, has: (p) => paths.has(p)}, layout, config, kit, btf)) plan.addExtra(extra);
  return plan;
}

/**
 * What khpkg adds to the archive's tree: `.config` and a derived `include/config/auto.conf` when a
 * config is given, the module-build kit when there is one (else a `Makefile` that stops kbuild and
 * DKMS with one clear sentence: this tree cannot build modules, and how to get one that can),
 * `vmlinux.h` and a BTF-only `vmlinux` when the kernel's BTF is known, and the absolute links in
 * `/lib/modules/<rel>` (kernelLinks: what builddeb and kernel.spec install; a relative one breaks
 * across /lib → /usr/lib).
 */
export function headerExtras(
  kernel: {release: string; version: string; srcarch: string; has: (path: string) => boolean},
  layout: Layout,
  config: KernelConfig | undefined,
  kit?: readonly KitFile[],
  btf?: readonly KitFile[],
): ExtraFile[] {
  const {release, version, srcarch} = kernel;
  const extras: ExtraFile[] = [];
  if (config) {
    extras.push({path: '.config', data: config.text});
    extras.push({path: 'include/config/auto.conf', data: deriveAutoConf(config, version, srcarch)});
  }
  // The module-build tier brings kbuild (its own Makefile among it); a headers-only tree says it has none.
  if (kit) for (const f of kit) extras.push({path: f.path, data: f.data, mode: f.mode});
  else extras.push({path: 'Makefile', data: Buffer.from(headersOnlyMakefile(release, version))});
  // The kernel's BTF: vmlinux.h (CO-RE programs) and the BTF-only vmlinux (module BTF, pahole, bpftool).
  if (btf) for (const f of btf) extras.push({path: f.path, data: f.data, mode: f.mode});
  const links = kernelLinks(layout, release, kit ? 'kbuild' : 'headers');
  if (links.some((l) => l.target.endsWith(`/${HEADERS_ONLY_BUILD}`))) {
    // What bpftrace's and libbpf's lookups under `build` want, each a link into the tree; never `include`.
    const inBuild = ['Makefile', 'arch', ...(config ? ['.config'] : []), ...(btf ?? []).map((f) => f.path).filter((p) => p === 'vmlinux')];
    for (const name of inBuild) extras.push({path: `${HEADERS_ONLY_BUILD}/${name}`, linkTarget: `../${name}`});
    // BCC as Debian 12 ships it (0.26) looks for <linux/version.h> only under build/include/generated/uapi
    // when source/ and build/ are both there; in the headers' own include/ it finds it this way.
    if (kernel.has(VERSION_H) && !kernel.has('include/linux/version.h'))
      extras.push({path: 'include/linux/version.h', linkTarget: '../generated/uapi/linux/version.h'});
  }
  for (const l of links) extras.push({path: l.path, linkTarget: `/${l.target}`, absolute: true});
  return extras;
}

/** The top-level Makefile of a headers-only tree: `make` stops at once, saying what to do instead. */
export function headersOnlyMakefile(release: string, version: string): string {
  return renderTemplate('Makefile.headers-only', {RELEASE: release, MAJOR_MINOR: version.split('.').slice(0, 2).join('.')});
}
