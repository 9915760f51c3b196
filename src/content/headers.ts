import type {ArchiveScan} from '../archive/scan.js';
import {deriveAutoConf, type KernelConfig} from './config.js';
import {PlanBuilder} from './plan.js';

/** Where a header tree lives: Debian's builddeb layout, or Fedora/kernel.spec's. */
export type Layout = 'debian' | 'kernels';

export function treeDirFor(layout: Layout, release: string): string {
  return layout === 'debian' ? `usr/src/linux-headers-${release}` : `usr/src/kernels/${release}`;
}

/** System directories that other packages own too. */
export const SHARED_DIRS: ReadonlySet<string> = new Set(['usr', 'usr/src', 'usr/src/kernels', 'lib', 'lib/modules', 'usr/share', 'usr/share/doc']);

/**
 * The header tree every format and the installer ship: the archive verbatim, `.config` and a derived
 * `include/config/auto.conf` when a config is given, and the absolute `/lib/modules/<rel>/build` link
 * (what builddeb and kernel.spec install; a relative one breaks across /lib → /usr/lib).
 */
export function headersPlan(scan: ArchiveScan, layout: Layout, config: KernelConfig | undefined, time: {timestamp: number; clamp?: number}): PlanBuilder {
  const {release, version, srcarch} = scan.info;
  const treeDir = treeDirFor(layout, release);
  const plan = new PlanBuilder(treeDir, time, SHARED_DIRS).addArchive(scan);
  if (config) {
    plan.addExtra({path: '.config', data: config.text});
    plan.addExtra({path: 'include/config/auto.conf', data: deriveAutoConf(config, version, srcarch)});
  }
  plan.addExtra({path: `lib/modules/${release}/build`, linkTarget: `/${treeDir}`, absolute: true});
  return plan;
}
