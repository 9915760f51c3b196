import type {KernelIdentity} from '../archive/info.js';
import type {PackageMeta} from './package-meta.js';
import {renderTemplate} from './templates.js';

/** What the user may set about a headers package (`build --revision/--version/--maintainer`). */
export interface HeadersPackageOptions {
  revision: string;
  /** Overrides the upstream part of the version. */
  version?: string;
  maintainer: string;
}

/** The summary line and the paragraphs (blank-line separated) of a description template. */
export function described(text: string): {summary: string; description: string[]} {
  const [summary, ...body] = text.trimEnd().split('\n');
  return {summary: summary!, description: body.join('\n').trim().split(/\n\n+/)};
}

function headersDescription(template: string, kernel: KernelIdentity): {summary: string; description: string[]} {
  return described(renderTemplate(template, {RELEASE: kernel.release, SHA256: kernel.sha256}));
}

/**
 * `linux-headers-<release>`, the name Debian and builddeb give the same headers. Package names are
 * lowercase `[a-z0-9+.-]`: a release like `5.15.90.1-microsoft-standard-WSL2` is lowercased, and any
 * other character becomes `-` (the on-disk path keeps the exact release).
 */
export function debHeadersMeta(kernel: KernelIdentity, opts: HeadersPackageOptions): PackageMeta {
  const name = `linux-headers-${kernel.release.toLowerCase().replace(/[^a-z0-9+.-]/g, '-')}`;
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
