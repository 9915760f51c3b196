import {createHash} from 'node:crypto';
import {hostArchitecture} from '../../archive/arch.js';
import {gzipSync} from 'node:zlib';
import {Paragraph, parseParagraphs} from './deb822.js';
import type {RepoPackage} from '../../registry/types.js';
import type {IndexFile} from '../family.js';
import {compareDebVersions} from '../versions.js';

export interface AptOptions {
  /** `dists/<suite>/<component>/binary-<arch>/`, or everything at the top (`deb file:DIR ./`). */
  flat: boolean;
  suite: string;
  component: string;
  origin: string;
  label: string;
  date: Date;
  validUntil?: Date;
}

/**
 * An APT repository's indexes for the .debs given: `Packages` and `Packages.gz` per architecture,
 * and the `Release` file that lists them with their sizes and digests (what InRelease signs).
 */
export async function aptIndexes(debs: RepoPackage[], o: AptOptions): Promise<{indexes: IndexFile[]; release: IndexFile}> {
  const base = o.flat ? '' : `dists/${o.suite}/`;
  const archs = [...new Set(debs.map((d) => d.arch))].sort();
  // An empty repository is still a valid one: an empty index for this machine's architecture.
  if (archs.length === 0) archs.push(hostArchitecture()?.deb ?? 'all');
  const indexes: IndexFile[] = [];
  // An `all` package belongs in every architecture's index; a flat repo has only one index.
  const groups = o.flat
    ? [{dir: '', debs}]
    : archs.filter((a) => a !== 'all').map((a) => ({dir: `${o.component}/binary-${a}/`, debs: debs.filter((d) => d.arch === a || d.arch === 'all')}));
  if (!o.flat && groups.length === 0 && archs.includes('all')) groups.push({dir: `${o.component}/binary-all/`, debs});
  for (const g of groups) {
    const text = Buffer.from(packagesText(g.debs));
    // gzip, not xz: at fleet size (thousands of packages) xz took 0.85 s of a 1 s update, gzip -9 takes 0.04 s; apt reads both.
    indexes.push({path: `${g.dir}Packages`, data: text}, {path: `${g.dir}Packages.gz`, data: gzipSync(text, {level: 9})});
  }
  const release = new Paragraph().set('Origin', o.origin).set('Label', o.label);
  if (!o.flat) {
    release.set('Suite', o.suite).set('Codename', o.suite);
  }
  release.set('Date', rfc2822(o.date));
  if (o.validUntil) release.set('Valid-Until', rfc2822(o.validUntil));
  if (!o.flat) {
    release.set('Architectures', archs.join(' ')).set('Components', o.component);
  }
  release.set('Description', 'Linux kernel headers packaged by khpkg from kheaders archives');
  const digestLines = (algo: string): string =>
    ['', ...indexes.map((f) => ` ${createHash(algo).update(f.data).digest('hex')} ${String(f.data.length).padStart(9)} ${f.path}`)].join('\n');
  release.set('MD5Sum', digestLines('md5')).set('SHA256', digestLines('sha256'));
  return {
    indexes: indexes.map((f) => ({path: base + f.path, data: f.data})),
    release: {path: `${base}Release`, data: Buffer.from(release.toString())},
  };
}

/** One paragraph per package, from its own control file plus where it is and its digests. */
export function packagesText(debs: RepoPackage[]): string {
  const sorted = [...debs].sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : compareDebVersions(a.version, b.version) || (a.arch < b.arch ? -1 : 1),
  );
  return sorted.map((d) => d.index.stanza ?? packagesStanza(d)).join('');
}

/** A package's paragraph in Packages: its control file (Description last, as apt-ftparchive), where it is and its digests. */
export function packagesStanza(d: RepoPackage): string {
  const control = parseParagraphs(d.index.control)[0]!;
  const p = new Paragraph();
  for (const name of control.names()) {
    if (name.toLowerCase() === 'description') continue;
    p.setParsed(name, control.get(name)!);
  }
  p.setParsed('Filename', d.filename)
    .setParsed('Size', String(d.size))
    .setParsed('MD5sum', d.index.md5)
    .setParsed('SHA1', d.index.sha1)
    .setParsed('SHA256', d.sha256);
  const description = control.get('Description');
  if (description !== undefined) p.setParsed('Description', description);
  return `${p.toString()}\n`;
}

/** `Sat, 01 Jan 2000 00:00:00 UTC`, the date form Release files use. */
function rfc2822(d: Date): string {
  return new Date(Math.floor(d.getTime() / 1000) * 1000).toUTCString().replace(/GMT$/, 'UTC');
}
