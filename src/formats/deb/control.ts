import {KhpkgError} from '../../errors.js';
import type {PackageEntry} from '../../content/plan.js';
import type {PackageMeta, Relation} from '../../content/package-meta.js';
import {Paragraph} from './deb822.js';

/** Name, version and arch of the .deb, as dpkg will know it. */
export interface DebIdentity {
  name: string;
  version: string;
  arch: string;
}

/** The package's identity as dpkg checks it: a bad version is refused before anything is written. */
export function debIdentity(meta: PackageMeta): DebIdentity {
  if (!/^[a-z0-9][a-z0-9+.-]+$/.test(meta.name)) throw new KhpkgError('usage', `'${meta.name}' is not a Debian package name`);
  if (!/^[0-9][A-Za-z0-9.+~-]*$/.test(meta.version)) throw new KhpkgError('usage', `--version '${meta.version}' is not a Debian upstream version`);
  if (!/^[A-Za-z0-9.+~]+$/.test(meta.release)) throw new KhpkgError('usage', `--revision '${meta.release}' is not a Debian revision`);
  return {name: meta.name, version: `${meta.version}-${meta.release}`, arch: meta.arch};
}

/** dpkg-gencontrol's Installed-Size: KiB per file rounded up, 1 per directory or link. */
export function installedSizeKiB(entries: PackageEntry[]): number {
  return entries.reduce((sum, e) => sum + (e.type === 'file' ? Math.ceil(e.size / 1024) : 1), 0);
}

/** `name (op version)`, dpkg's spelling of a relation; `=` is the only one dpkg allows in Provides. */
export function relationText(relations: Relation[]): string {
  return relations.map((r) => (r.op ? `${r.name} (${r.op} ${r.version})` : r.name)).join(', ');
}

export function controlParagraph(id: DebIdentity, meta: PackageMeta, entries: PackageEntry[]): Paragraph {
  const wrapped = meta.description.flatMap((paragraph, i) => [...(i > 0 ? [''] : []), ...wrap(paragraph, 78)]);
  const optional = (name: string, relations: Relation[]): [string, string][] => (relations.length > 0 ? [[name, relationText(relations)]] : []);
  return new Paragraph([
    ['Package', id.name],
    ['Version', id.version],
    ['Architecture', id.arch],
    ['Maintainer', meta.maintainer],
    ['Installed-Size', String(installedSizeKiB(entries))],
    ...optional('Depends', meta.depends),
    ...optional('Provides', meta.provides),
    ['Section', meta.section],
    ['Priority', 'optional'],
    ['Homepage', meta.homepage],
    ['Description', [meta.summary, ...wrapped].join('\n')],
  ]);
}

/** `md5sums`: one line per regular file, path relative to `/`. */
export function md5sums(entries: PackageEntry[]): Buffer {
  let out = '';
  for (const e of entries) if (e.type === 'file') out += `${e.md5}  ${e.path}\n`;
  return Buffer.from(out);
}

/** The maintainer scripts, by dpkg's names. */
export function maintainerScripts(meta: PackageMeta): [string, Buffer][] {
  const {postInstall, preRemove, postRemove} = meta.scripts;
  const named: [string, string | undefined][] = [
    ['postinst', postInstall],
    ['prerm', preRemove],
    ['postrm', postRemove],
  ];
  return named.filter((n): n is [string, string] => n[1] !== undefined).map(([name, text]) => [name, Buffer.from(text)]);
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
