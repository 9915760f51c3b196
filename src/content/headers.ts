import type {ArchiveScan} from '../archive/scan.js';
import {deriveAutoConf, type KernelConfig} from './config.js';
import {PlanBuilder, type ExtraFile} from './plan.js';
import {renderTemplate} from './templates.js';

/** Where a header tree lives: Debian's builddeb layout, or Fedora/kernel.spec's. */
export type Layout = 'debian' | 'kernels';

export function treeDirFor(layout: Layout, release: string): string {
  return layout === 'debian' ? `usr/src/linux-headers-${release}` : `usr/src/kernels/${release}`;
}

/** A file of the module-build kit (`--kbuild`): kbuild's Makefiles, scripts and host programs. */
export interface KitFile {
  path: string;
  mode: number;
  data: Buffer;
}

/** System directories that other packages own too. */
export const SHARED_DIRS: ReadonlySet<string> = new Set(['usr', 'usr/src', 'usr/src/kernels', 'lib', 'lib/modules', 'usr/share', 'usr/share/doc']);

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
  for (const extra of headerExtras(scan.info, layout, config, kit, btf)) plan.addExtra(extra);
  return plan;
}

/**
 * What khpkg adds to the archive's tree: `.config` and a derived `include/config/auto.conf` when a
 * config is given, the module-build kit when there is one (else a `Makefile` that stops kbuild and
 * DKMS with one clear sentence: this tree cannot build modules, and how to get one that can),
 * `vmlinux.h` and a BTF-only `vmlinux` when the kernel's BTF is known, and the
 * absolute `/lib/modules/<rel>/build` link (what builddeb and kernel.spec install; a relative one
 * breaks across /lib → /usr/lib).
 */
export function headerExtras(
  kernel: {release: string; version: string; srcarch: string},
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
  extras.push({path: `lib/modules/${release}/build`, linkTarget: `/${treeDirFor(layout, release)}`, absolute: true});
  return extras;
}

/** The top-level Makefile of a headers-only tree: `make` stops at once, saying what to do instead. */
export function headersOnlyMakefile(release: string, version: string): string {
  return renderTemplate('Makefile.headers-only', {RELEASE: release, MAJOR_MINOR: version.split('.').slice(0, 2).join('.')});
}
