import type {KernelIdentity} from '../archive/info.js';
import type {HostRelease} from './os-release.js';
import {renderTemplate} from './templates.js';

/** What the user may set about a headers package (`build --revision/--version/--maintainer`). */
export interface HeadersPackageOptions {
  revision: string;
  /** Overrides the upstream part of the version. */
  version?: string;
  maintainer: string;
  /** The host a system extension is built for (its os-release: `build --os-release`, the root's), read only by a family that needs it. */
  host?: () => HostRelease;
}

/** The summary line and the paragraphs (blank-line separated) of a description template. */
export function described(text: string): {summary: string; description: string[]} {
  const [summary, ...body] = text.trimEnd().split('\n');
  return {summary: summary!, description: body.join('\n').trim().split(/\n\n+/)};
}

/** A headers package's summary and paragraphs, from its family's template (packaging/headers/<family>-description). */
export function headersDescription(template: string, kernel: KernelIdentity): {summary: string; description: string[]} {
  return described(renderTemplate(template, {RELEASE: kernel.release, SHA256: kernel.sha256}));
}

/**
 * `linux-headers-<release>`, the name Debian and builddeb give the headers (and Arch's per-release
 * packages follow). Package names are lowercase `[a-z0-9+.-]`: a release like
 * `5.15.90.1-microsoft-standard-WSL2` is lowercased, and any other character becomes `-` (the
 * on-disk path keeps the exact release).
 */
export function linuxHeadersName(release: string): string {
  return `linux-headers-${release.toLowerCase().replace(/[^a-z0-9+.-]/g, '-')}`;
}
