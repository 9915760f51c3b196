import {createHash} from 'node:crypto';
import {gzipSync} from 'node:zlib';
import type {RepoPackage} from '../../registry/types.js';
import type {IndexFile} from '../family.js';
import type {ParsedHeader} from './header.js';
import type {RpmReader} from './read.js';
import {SENSE, SIG, TAG} from './tags.js';

const NS = {
  common: 'http://linux.duke.edu/metadata/common',
  rpm: 'http://linux.duke.edu/metadata/rpm',
  filelists: 'http://linux.duke.edu/metadata/filelists',
  other: 'http://linux.duke.edu/metadata/other',
  repo: 'http://linux.duke.edu/metadata/repo',
};

/**
 * An RPM-MD repository (what dnf and yum read): `primary`, `filelists` and `other` as gzipped XML
 * named by their digest (so a mirror never serves a new repomd.xml with old data), and
 * `repodata/repomd.xml` listing them with their digests before and after compression.
 * File lists come as an iterable: they are most of the metadata and need not all be in memory.
 */
export function rpmmdIndexes(rpms: RepoPackage[], filelists: Iterable<string>, revision: number): {data: IndexFile[]; repomd: IndexFile} {
  const head = '<?xml version="1.0" encoding="UTF-8"?>\n';
  const n = rpms.length;
  const parts: {type: string; xml: Buffer}[] = [
    {
      type: 'primary',
      xml: Buffer.from(
        `${head}<metadata xmlns="${NS.common}" xmlns:rpm="${NS.rpm}" packages="${n}">\n${rpms.map((p) => `${p.index.primary}\n`).join('')}</metadata>\n`,
      ),
    },
    {
      type: 'filelists',
      xml: Buffer.concat([
        Buffer.from(`${head}<filelists xmlns="${NS.filelists}" packages="${n}">\n`),
        ...[...filelists].map((f) => Buffer.from(`${f}\n`)),
        Buffer.from('</filelists>\n'),
      ]),
    },
    {
      type: 'other',
      xml: Buffer.from(`${head}<otherdata xmlns="${NS.other}" packages="${n}">\n${rpms.map((p) => `${p.index.other}\n`).join('')}</otherdata>\n`),
    },
  ];
  const data: IndexFile[] = [];
  let repomd = `${head}<repomd xmlns="${NS.repo}" xmlns:rpm="${NS.rpm}">\n  <revision>${revision}</revision>\n`;
  for (const {type, xml} of parts) {
    const gz = gzipSync(xml, {level: 9});
    const sum = createHash('sha256').update(gz).digest('hex');
    const path = `repodata/${sum}-${type}.xml.gz`;
    data.push({path, data: gz});
    repomd += [
      `  <data type="${type}">`,
      `    <checksum type="sha256">${sum}</checksum>`,
      `    <open-checksum type="sha256">${createHash('sha256').update(xml).digest('hex')}</open-checksum>`,
      `    <location href="${path}"/>`,
      `    <timestamp>${revision}</timestamp>`,
      `    <size>${gz.length}</size>`,
      `    <open-size>${xml.length}</open-size>`,
      '  </data>',
      '',
    ].join('\n');
  }
  repomd += '</repomd>\n';
  return {data, repomd: {path: 'repodata/repomd.xml', data: Buffer.from(repomd)}};
}

/** One package's entries in the primary, filelists and other indexes, read from its headers. */
export function rpmPackageXml(rpm: RpmReader, pkg: {filename: string; sha256: string; size: number}): {primary: string; filelists: string; other: string} {
  const h = rpm.header;
  const sig = rpm.signature;
  const name = h.string(TAG.NAME) ?? '';
  const version = h.string(TAG.VERSION) ?? '';
  const release = h.string(TAG.RELEASE) ?? '';
  const arch = h.string(TAG.ARCH) ?? '';
  const epoch = String(h.numbers(TAG.EPOCH)[0] ?? 0);
  const buildTime = h.numbers(TAG.BUILDTIME)[0] ?? 0;
  const ver = `<version epoch="${epoch}" ver="${xml(version)}" rel="${xml(release)}"/>`;
  const files = fileList(h);
  const head = `name="${xml(name)}" arch="${xml(arch)}"`;
  const primary = [
    '<package type="rpm">',
    `  <name>${xml(name)}</name>`,
    `  <arch>${xml(arch)}</arch>`,
    `  ${ver}`,
    `  <checksum type="sha256" pkgid="YES">${pkg.sha256}</checksum>`,
    `  <summary>${xml(h.string(TAG.SUMMARY) ?? '')}</summary>`,
    `  <description>${xml(h.string(TAG.DESCRIPTION) ?? '')}</description>`,
    `  <packager>${xml(h.string(TAG.PACKAGER) ?? '')}</packager>`,
    `  <url>${xml(h.string(TAG.URL) ?? '')}</url>`,
    `  <time file="${buildTime}" build="${buildTime}"/>`,
    `  <size package="${pkg.size}" installed="${h.numbers(TAG.SIZE)[0] ?? 0}" archive="${sig.numbers(SIG.PAYLOADSIZE)[0] ?? 0}"/>`,
    `  <location href="${xml(pkg.filename)}"/>`,
    '  <format>',
    `    <rpm:license>${xml(h.string(TAG.LICENSE) ?? '')}</rpm:license>`,
    `    <rpm:vendor>${xml(h.string(TAG.VENDOR) ?? '')}</rpm:vendor>`,
    `    <rpm:group>${xml(h.string(TAG.GROUP) ?? '')}</rpm:group>`,
    `    <rpm:buildhost>${xml(h.string(TAG.BUILDHOST) ?? '')}</rpm:buildhost>`,
    `    <rpm:sourcerpm>${xml(h.string(TAG.SOURCERPM) ?? '')}</rpm:sourcerpm>`,
    `    <rpm:header-range start="${rpm.layout.headerAt}" end="${rpm.layout.payloadAt}"/>`,
    ...relations(h, 'provides', TAG.PROVIDENAME, TAG.PROVIDEFLAGS, TAG.PROVIDEVERSION),
    ...relations(h, 'requires', TAG.REQUIRENAME, TAG.REQUIREFLAGS, TAG.REQUIREVERSION),
    ...relations(h, 'conflicts', TAG.CONFLICTNAME, TAG.CONFLICTFLAGS, TAG.CONFLICTVERSION),
    ...relations(h, 'obsoletes', TAG.OBSOLETENAME, TAG.OBSOLETEFLAGS, TAG.OBSOLETEVERSION),
    // Like createrepo: only the files dependency solving asks about go into primary.
    ...files.filter((f) => PRIMARY_FILES.test(f.path)).map(fileXml),
    '  </format>',
    '</package>',
  ].join('\n');
  const filelists = [`<package pkgid="${pkg.sha256}" ${head}>`, `  ${ver}`, ...files.map(fileXml), '</package>'].join('\n');
  const times = h.numbers(TAG.CHANGELOGTIME);
  const authors = h.strings(TAG.CHANGELOGNAME);
  const texts = h.strings(TAG.CHANGELOGTEXT);
  const other = [
    `<package pkgid="${pkg.sha256}" ${head}>`,
    `  ${ver}`,
    ...times.map((t, i) => `  <changelog author="${xml(authors[i] ?? '')}" date="${t}">${xml(texts[i] ?? '')}</changelog>`),
    '</package>',
  ].join('\n');
  return {primary, filelists, other};
}

const PRIMARY_FILES = /^(\/etc\/|\/usr\/lib\/sendmail$|.*bin\/)/;

function fileList(h: ParsedHeader): {path: string; dir: boolean}[] {
  const base = h.strings(TAG.BASENAMES);
  const dirs = h.strings(TAG.DIRNAMES);
  const index = h.numbers(TAG.DIRINDEXES);
  const modes = h.numbers(TAG.FILEMODES);
  return base.map((b, i) => ({path: `${dirs[index[i] ?? 0] ?? ''}${b}`, dir: ((modes[i] ?? 0) & 0o170000) === 0o040000}));
}

function fileXml(f: {path: string; dir: boolean}): string {
  return `    <file${f.dir ? ' type="dir"' : ''}>${xml(f.path)}</file>`;
}

function relations(h: ParsedHeader, kind: string, nameTag: number, flagsTag: number, versionTag: number): string[] {
  const names = h.strings(nameTag);
  const flags = h.numbers(flagsTag);
  const versions = h.strings(versionTag);
  const entries = names
    .map((n, i) => ({name: n, flags: flags[i] ?? 0, version: versions[i] ?? ''}))
    // rpmlib() features are rpm's business, not the solver's (createrepo leaves them out too).
    .filter((d) => !d.name.startsWith('rpmlib('));
  if (entries.length === 0) return [];
  return [`    <rpm:${kind}>`, ...entries.map((d) => `      <rpm:entry ${entryAttrs(d)}/>`), `    </rpm:${kind}>`];
}

function entryAttrs(d: {name: string; flags: number; version: string}): string {
  const sense = d.flags & (SENSE.LESS | SENSE.GREATER | SENSE.EQUAL);
  const op = {[SENSE.LESS]: 'LT', [SENSE.GREATER]: 'GT', [SENSE.EQUAL]: 'EQ', [SENSE.LESS | SENSE.EQUAL]: 'LE', [SENSE.GREATER | SENSE.EQUAL]: 'GE'}[sense];
  let attrs = `name="${xml(d.name)}"`;
  if (!op || d.version === '') return attrs;
  const m = /^(?:(\d+):)?([^-]*)(?:-(.*))?$/.exec(d.version)!;
  attrs += ` flags="${op}" epoch="${m[1] ?? '0'}" ver="${xml(m[2] ?? '')}"`;
  if (m[3] !== undefined) attrs += ` rel="${xml(m[3])}"`;
  return attrs;
}

/** Text and attribute escaping for the XML indexes; control characters XML 1.0 forbids are dropped. */
export function xml(s: string): string {
  return s
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}
