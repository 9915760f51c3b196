import type {OwnPackage} from '../family.js';
import type {KernelIdentity} from '../../archive/info.js';
import {headersDescription, linuxHeadersName, type HeadersPackageOptions} from '../../content/headers-meta.js';
import type {PackageMeta} from '../../content/package-meta.js';
import {renderTemplate} from '../../content/templates.js';

/** `linux-headers-<release>`, as Debian's own, with the postinst that runs the header hooks. */
export function debHeadersMeta(kernel: KernelIdentity, opts: HeadersPackageOptions): PackageMeta {
  const name = linuxHeadersName(kernel.release);
  return {
    name,
    version: opts.version ?? kernel.version,
    release: opts.revision,
    arch: kernel.debArch,
    maintainer: opts.maintainer,
    ...headersDescription('headers/deb-description', kernel),
    homepage: 'https://www.kernel.org/',
    license: 'GPL-2.0-only WITH Linux-syscall-note',
    section: 'kernel',
    provides: [{name: 'linux-headers'}],
    depends: [],
    // Debian's own linux-headers packages run the header hooks (DKMS keeps one there).
    scripts: {postInstall: renderTemplate('headers/postinst', {PACKAGE: name, RELEASE: kernel.release})},
    copyright: renderTemplate('headers/copyright', {RELEASE: kernel.release, SHA256: kernel.sha256}),
    changes: renderTemplate('headers/changes', {RELEASE: kernel.release, SHA256: kernel.sha256}),
  };
}

/**
 * khpkg's own .deb. Its maintainer scripts join the kernel's life cycle on first install and leave it
 * on removal, through `khpkg hooks`, so `hooks disable` and `hooks status` keep working on a packaged
 * khpkg and nothing khpkg made outlives it.
 */
export function debOwnMeta({common, arch, glibc, vars}: OwnPackage): PackageMeta {
  return {
    ...common,
    arch: arch.deb,
    section: 'admin',
    provides: [],
    // The Node runtime links glibc, libstdc++ and libgcc_s dynamically (as Node's own builds do).
    depends: [{name: 'libc6', op: '>=', version: glibc}, {name: 'libgcc-s1'}, {name: 'libstdc++6'}],
    scripts: {
      postInstall: renderTemplate('khpkg/deb-postinst', vars),
      preRemove: renderTemplate('khpkg/deb-prerm', vars),
      postRemove: renderTemplate('khpkg/deb-postrm', vars),
    },
    copyright: renderTemplate('khpkg/copyright', vars),
    changes: renderTemplate('khpkg/changes', vars),
  };
}
