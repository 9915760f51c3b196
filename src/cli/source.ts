import {Flags} from '@oclif/core';
import type {Limits} from '../archive/limits.js';
import {KhpkgError} from '../errors.js';
import {openInstalledKernel, openSource, type ArchiveSource} from '../source/index.js';

/** `--kernel <release>`: an installed kernel, maybe not running, instead of a SOURCE. */
export const kernelFlag = {
  kernel: Flags.string({
    description: "an installed kernel's release: its kheaders.ko under /lib/modules/<release> (read, never loaded) and its /boot/config-<release>",
  }),
};

/** The archive the command reads: SOURCE, or with --kernel that installed kernel's module (under `root`). */
export async function archiveSource(spec: string | undefined, kernel: string | undefined, root: string, limits: Limits): Promise<ArchiveSource> {
  if (kernel === undefined) return openSource(spec, limits);
  if (spec !== undefined) throw new KhpkgError('usage', 'give either SOURCE or --kernel, not both');
  return openInstalledKernel(root, kernel, limits);
}
