import {Flags} from '@oclif/core';
import type {Limits} from '../archive/limits.js';
import {KhpkgError} from '../errors.js';
import {openInstalledKernel, openKernelPackages, openSource, type ArchiveSource} from '../source/index.js';
import {kernelGroupsFrom} from '../source/kernel-package.js';

/** `--kernel <release>`: an installed kernel, maybe not running, instead of a SOURCE; `--btf`: where its BTF is. */
export const kernelFlag = {
  kernel: Flags.string({
    description:
      "an installed kernel's release: its kheaders.ko under /lib/modules/<release> (read, never loaded), its /boot/config-<release> and its image's BTF",
  }),
  btf: Flags.string({
    description:
      "the kernel's BTF, for vmlinux.h and a BTF-only vmlinux in the set: a vmlinuz, Image, vmlinux or raw BTF file, told by content; 'headers' makes it from the set's own headers (a compiler and pahole, for kernels without BTF; './headers' is a file)",
  }),
};

/** Several SOURCEs: one kernel's packages (Ubuntu's linux-image + linux-modules, Fedora's kernel-core + kernel-modules-core). */
async function oneKernel(specs: string[], limits: Limits): Promise<ArchiveSource> {
  const groups = (await kernelGroupsFrom(specs))!;
  if (groups.length !== 1)
    throw new KhpkgError(
      'usage',
      `the SOURCEs hold ${groups.length} kernels (${groups.map((g) => g.release).join(', ')}): give one kernel's packages (build takes many)`,
    );
  return openKernelPackages(groups[0]!, limits);
}

/** The archive the command reads: SOURCE, or with --kernel that installed kernel's module (under `root`); `--btf` names the BTF. */
export async function archiveSource(
  spec: string | string[] | undefined,
  flags: {kernel?: string; btf?: string},
  root: string,
  limits: Limits,
): Promise<ArchiveSource> {
  const specs = spec === undefined ? [] : typeof spec === 'string' ? [spec] : spec;
  if (flags.kernel !== undefined && specs.length > 0) throw new KhpkgError('usage', 'give either SOURCE or --kernel, not both');
  const source =
    flags.kernel !== undefined
      ? await openInstalledKernel(root, flags.kernel, limits)
      : specs.length > 1
        ? await oneKernel(specs, limits)
        : await openSource(specs[0], limits);
  if (flags.btf === undefined) return source;
  if (flags.btf === 'headers') return {...source, btf: undefined, headerBtf: 'asked'};
  return {...source, btf: {path: flags.btf, origin: flags.btf, given: true}};
}
