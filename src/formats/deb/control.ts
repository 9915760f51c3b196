import {KhpkgError} from '../../errors.js';
import type {PackageEntry} from '../../content/plan.js';
import type {BuildInput} from '../writer.js';
import {renderTemplate} from '../../content/templates.js';
import {Paragraph} from './deb822.js';

/** Name, version and arch of the .deb, as dpkg will know it. */
export interface DebIdentity {
  name: string;
  version: string;
  arch: string;
}

/**
 * `linux-headers-<release>`, the name Debian and builddeb give the same headers. Package names are
 * lowercase `[a-z0-9+.-]`: a release like `5.15.90.1-microsoft-standard-WSL2` is lowercased, and any
 * other character becomes `-` (the on-disk path keeps the exact release).
 */
export function debIdentity(input: BuildInput): DebIdentity {
  const {release, version, debArch} = input.kernel;
  const name = `linux-headers-${release.toLowerCase().replace(/[^a-z0-9+.-]/g, '-')}`;
  const upstream = input.version ?? version;
  if (!/^[0-9][A-Za-z0-9.+~-]*$/.test(upstream)) throw new KhpkgError('usage', `--version '${upstream}' is not a Debian upstream version`);
  if (!/^[A-Za-z0-9.+~]+$/.test(input.revision)) throw new KhpkgError('usage', `--revision '${input.revision}' is not a Debian revision`);
  return {name, version: `${upstream}-${input.revision}`, arch: debArch};
}

/** dpkg-gencontrol's Installed-Size: KiB per file rounded up, 1 per directory or link. */
export function installedSizeKiB(entries: PackageEntry[]): number {
  return entries.reduce((sum, e) => sum + (e.type === 'file' ? Math.ceil(e.size / 1024) : 1), 0);
}

export function controlParagraph(id: DebIdentity, input: BuildInput, entries: PackageEntry[]): Paragraph {
  const [synopsis, ...body] = renderTemplate('deb/description', {RELEASE: input.kernel.release, SHA256: input.kernel.sha256}).trimEnd().split('\n');
  const wrapped = body.flatMap((paragraph) => (paragraph === '' ? [''] : wrap(paragraph, 78)));
  return new Paragraph([
    ['Package', id.name],
    ['Version', id.version],
    ['Architecture', id.arch],
    ['Maintainer', input.maintainer],
    ['Installed-Size', String(installedSizeKiB(entries))],
    ['Provides', 'linux-headers'],
    ['Section', 'kernel'],
    ['Priority', 'optional'],
    ['Homepage', 'https://www.kernel.org/'],
    ['Description', [synopsis, ...wrapped].join('\n')],
  ]);
}

/** `md5sums`: one line per regular file, path relative to `/`. */
export function md5sums(entries: PackageEntry[]): Buffer {
  let out = '';
  for (const e of entries) if (e.type === 'file') out += `${e.md5}  ${e.path}\n`;
  return Buffer.from(out);
}

export function postinst(id: DebIdentity, release: string): Buffer {
  return Buffer.from(renderTemplate('deb/postinst', {PACKAGE: id.name, RELEASE: release}));
}

/** Word-wraps a paragraph (lintian wants description lines under 80 columns). */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}
