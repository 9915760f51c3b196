import {Flags} from '@oclif/core';
import type {Limits} from '../archive/limits.js';
import {KhpkgError} from '../errors.js';
import {openInstalledKernel, openSource, type ArchiveSource} from '../source/index.js';

/** `--kernel <release>`: an installed kernel, maybe not running, instead of a SOURCE; `--btf`: where its BTF is. */
export const kernelFlag = {
  kernel: Flags.string({
    description:
      "an installed kernel's release: its kheaders.ko under /lib/modules/<release> (read, never loaded), its /boot/config-<release> and its image's BTF",
  }),
  btf: Flags.string({
    description: "the kernel's BTF, for vmlinux.h and a BTF-only vmlinux in the set: a vmlinuz, Image, vmlinux or raw BTF file, told by content",
  }),
};

/** The archive the command reads: SOURCE, or with --kernel that installed kernel's module (under `root`); `--btf` names the BTF. */
export async function archiveSource(spec: string | undefined, flags: {kernel?: string; btf?: string}, root: string, limits: Limits): Promise<ArchiveSource> {
  if (flags.kernel !== undefined && spec !== undefined) throw new KhpkgError('usage', 'give either SOURCE or --kernel, not both');
  const source = flags.kernel === undefined ? await openSource(spec, limits) : await openInstalledKernel(root, flags.kernel, limits);
  return flags.btf === undefined ? source : {...source, btf: {path: flags.btf, origin: flags.btf, given: true}};
}
