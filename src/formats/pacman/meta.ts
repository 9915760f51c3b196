import type {OwnPackage} from '../family.js';
import type {KernelIdentity} from '../../archive/info.js';
import {headersDescription, linuxHeadersName, type HeadersPackageOptions} from '../../content/headers-meta.js';
import type {PackageMeta} from '../../content/package-meta.js';

/**
 * The headers as an Arch package: named as the .deb is (one package per release, side by side), with
 * `provides = linux-headers` as Arch's own give, the tree where Arch's linux-headers has it
 * (/usr/lib/modules/<release>/build). pkgver may hold no `-` (the writer maps it to `_`). No install
 * script: khpkg runs the header hooks itself (the row's runsHeaderHooks).
 */
export function pacmanHeadersMeta(kernel: KernelIdentity, opts: HeadersPackageOptions): PackageMeta {
  const version = (opts.version ?? kernel.version).replace(/-/g, '_');
  return {
    name: linuxHeadersName(kernel.release),
    version,
    release: opts.revision,
    arch: kernel.rpmArch,
    maintainer: opts.maintainer,
    ...headersDescription('headers/pacman-description', kernel),
    homepage: 'https://www.kernel.org/',
    license: 'GPL-2.0-only WITH Linux-syscall-note',
    section: 'kernel',
    provides: [{name: 'linux-headers', op: '=', version}],
    depends: [],
    scripts: {},
  };
}

/**
 * khpkg's own Arch package: no install script (Arch's kernels run alpm hooks, not /etc/kernel's, so
 * there is no life cycle for `khpkg hooks enable` to join there yet).
 */
export function pacmanOwnMeta({common, arch, glibc}: OwnPackage): PackageMeta {
  return {
    ...common,
    arch: arch.rpm,
    section: 'admin',
    provides: [],
    // Arch's names for what the Node runtime links.
    depends: [{name: 'glibc', op: '>=', version: glibc}, {name: 'gcc-libs'}],
    scripts: {},
  };
}
