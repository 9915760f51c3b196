import {renderTemplate} from '../../content/templates.js';
import type {OwnPackage} from '../family.js';
import type {KernelIdentity} from '../../archive/info.js';
import {headersDescription, type HeadersPackageOptions} from '../../content/headers-meta.js';
import type {PackageMeta} from '../../content/package-meta.js';

/**
 * `kernel-devel`, following kernel.spec and Fedora. RPM versions may not hold `-`: like kernel.spec
 * (`sed -e s/-/_/g`), map it to `_`. An EVR holds at most one `-`, so `kernel-devel-uname-r =
 * <release>` keeps the release verbatim where it has one `-` at most (Fedora's
 * `6.5.6-300.fc39.x86_64`) and maps it the same way otherwise (`6.1.0-56-amd64` → `6.1.0_56_amd64`).
 */
export function rpmHeadersMeta(kernel: KernelIdentity, opts: HeadersPackageOptions): PackageMeta {
  const {release, rpmArch} = kernel;
  const version = (opts.version ?? release).replace(/-/g, '_');
  const evr = `${version}-${opts.revision}`;
  const unameR = (release.match(/-/g) ?? []).length <= 1 ? release : release.replace(/-/g, '_');
  return {
    name: 'kernel-devel',
    version,
    release: opts.revision,
    arch: rpmArch,
    maintainer: opts.maintainer,
    ...headersDescription('headers/rpm-description', kernel),
    homepage: 'https://www.kernel.org/',
    license: 'GPL-2.0-only WITH Linux-syscall-note',
    section: 'System Environment/Kernel',
    provides: [
      {name: 'kernel-devel', op: '=', version: evr},
      {name: `kernel-devel-${rpmArch}`, op: '=', version: evr},
      {name: 'kernel-devel-uname-r', op: '=', version: unameR},
      {name: 'installonlypkg(kernel)'},
    ],
    depends: [],
    scripts: {},
  };
}

/** khpkg's own .rpm: its scriptlets join and leave the kernel's life cycle as the .deb's maintainer scripts do. */
export function rpmOwnMeta({common, arch, vars}: OwnPackage): PackageMeta {
  const evr = `${common.version}-${common.release}`;
  return {
    ...common,
    arch: arch.rpm,
    section: 'System Environment/Base',
    provides: [
      {name: common.name, op: '=', version: evr},
      {name: `${common.name}(${arch.rpm.replace('_', '-')})`, op: '=', version: evr},
    ],
    depends: [],
    scripts: {postInstall: renderTemplate('khpkg/rpm-post', vars), preRemove: renderTemplate('khpkg/rpm-preun', vars)},
  };
}
