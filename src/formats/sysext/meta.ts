import {architecture} from '../../archive/arch.js';
import type {KernelIdentity} from '../../archive/info.js';
import {headersDescription, linuxHeadersName, type HeadersPackageOptions} from '../../content/headers-meta.js';
import type {PackageMeta} from '../../content/package-meta.js';
import {KhpkgError} from '../../errors.js';
import type {OwnPackage} from '../family.js';

/**
 * The headers as a system extension for one kind of host: named as the .deb is (the image's name,
 * one per release, side by side in /var/lib/extensions), matched to the host's os-release: its ID,
 * and its SYSEXT_LEVEL where it has one, else its VERSION_ID, so an OS update (a new /usr, a new
 * kernel) leaves the old extension unmerged rather than mixed into the new /usr.
 */
export function sysextHeadersMeta(kernel: KernelIdentity, opts: HeadersPackageOptions): PackageMeta {
  const host = opts.host?.();
  if (!host)
    throw new KhpkgError(
      'usage',
      '-f sysext: the host it is for is not known: give --os-release FILE (the host’s /usr/lib/os-release), or --root of a system that has one',
    );
  const arch = architecture(kernel.rpmArch).systemd;
  return {
    name: linuxHeadersName(kernel.release),
    version: opts.version ?? kernel.version,
    release: opts.revision,
    arch,
    maintainer: opts.maintainer,
    ...headersDescription('headers/deb-description', kernel),
    homepage: 'https://www.kernel.org/',
    license: 'GPL-2.0-only WITH Linux-syscall-note',
    section: 'kernel',
    provides: [],
    depends: [],
    scripts: {},
    extension: {id: host.id, sysextLevel: host.sysextLevel, versionId: host.sysextLevel ? undefined : host.versionId, architecture: arch},
  };
}

/** khpkg's own extension: it carries its own Node runtime, so it merges on any distro (`ID=_any`) of its architecture. */
export function sysextOwnMeta({common, arch}: OwnPackage): PackageMeta {
  return {...common, arch: arch.systemd, section: 'admin', provides: [], depends: [], scripts: {}, extension: {id: '_any', architecture: arch.systemd}};
}
