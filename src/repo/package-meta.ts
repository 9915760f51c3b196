import {createHash} from 'node:crypto';
import {readFile, stat} from 'node:fs/promises';
import {basename} from 'node:path';
import {decompressAll} from '../archive/compression.js';
import {readTar} from '../archive/tar.js';
import {KhpkgError} from '../errors.js';
import {readAr} from '../formats/deb/ar.js';
import {parseParagraphs} from '../formats/deb/deb822.js';
import {readHeader, type ParsedHeader} from '../formats/rpm/header.js';
import {rpmLayout} from '../formats/rpm/signature.js';
import {SENSE, SIG, SIG_OPENPGP, TAG} from '../formats/rpm/tags.js';

/**
 * What a repository index needs of one package, read once from the package and then kept in the
 * registry, so adding a package to a repo of hundreds reads only that one.
 */
export interface RepoPackage {
  format: 'deb' | 'rpm';
  /** Where it lives in the repo, relative to its top (`pool/...`). */
  filename: string;
  name: string;
  version: string;
  arch: string;
  /** Revisions of the same kernel release share a group: what `--keep N` counts within. */
  group: string;
  size: number;
  mtimeMs: number;
  sha256: string;
  /** deb: the control paragraph, and the digests APT's Packages index also lists. */
  deb?: {control: string; md5: string; sha1: string};
  /** rpm: whether its header carries an OpenPGP signature. */
  signed?: boolean;
  /** rpm: this package's XML in the primary, filelists and other indexes. */
  rpm?: {primary: string; filelists: string; other: string};
}

const MAX_CONTROL = 64 * 1024 * 1024;

/** Reads a .deb or .rpm's metadata; `filename` is where the index will say it is. */
export async function readPackageMeta(path: string, filename: string): Promise<RepoPackage> {
  const bytes = await readFile(path);
  const {mtimeMs} = await stat(path);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  try {
    if (bytes.toString('latin1', 0, 8) === '!<arch>\n') return await debMeta(bytes, filename, mtimeMs, sha256);
    if (bytes.length >= 4 && bytes.readUInt32BE(0) === 0xedabeedb) return rpmMeta(bytes, filename, mtimeMs, sha256);
  } catch (e) {
    if (e instanceof KhpkgError) throw e;
    throw new KhpkgError('bad-input', `${basename(path)} is a damaged package (${(e as Error).message})`);
  }
  throw new KhpkgError('bad-input', `${basename(path)} is neither a .deb nor an .rpm`);
}

async function debMeta(bytes: Buffer, filename: string, mtimeMs: number, sha256: string): Promise<RepoPackage> {
  const members = readAr(bytes);
  const name = [...members.keys()].find((k) => k.startsWith('control.tar'));
  if (!name) throw new KhpkgError('bad-input', `${basename(filename)} has no control.tar member`);
  let control: string | undefined;
  for await (const item of readTar([await decompressAll(members.get(name)!, MAX_CONTROL)])) {
    const body = await item.body();
    if (item.header.rawName.replace(/^\.\//, '') === 'control') control = body.toString('utf8');
  }
  const p = control === undefined ? undefined : parseParagraphs(control)[0];
  const [pkg, version, arch] = [p?.get('Package'), p?.get('Version'), p?.get('Architecture')];
  if (!p || !pkg || !version || !arch) throw new KhpkgError('bad-input', `${basename(filename)} has no usable control file`);
  return {
    format: 'deb',
    filename,
    name: pkg,
    version,
    arch,
    group: pkg,
    size: bytes.length,
    mtimeMs,
    sha256,
    deb: {
      control: p.toString(),
      md5: createHash('md5').update(bytes).digest('hex'),
      sha1: createHash('sha1').update(bytes).digest('hex'),
    },
  };
}

function rpmMeta(bytes: Buffer, filename: string, mtimeMs: number, sha256: string): RepoPackage {
  const layout = rpmLayout(bytes);
  const sig = readHeader(bytes, layout.sigAt);
  const h = readHeader(bytes, layout.headerAt);
  const name = h.string(TAG.NAME);
  const version = h.string(TAG.VERSION);
  const release = h.string(TAG.RELEASE);
  const arch = h.string(TAG.ARCH);
  if (!name || !version || !release || !arch) throw new KhpkgError('bad-input', `${basename(filename)} names no package`);
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
    `  <checksum type="sha256" pkgid="YES">${sha256}</checksum>`,
    `  <summary>${xml(h.string(TAG.SUMMARY) ?? '')}</summary>`,
    `  <description>${xml(h.string(TAG.DESCRIPTION) ?? '')}</description>`,
    `  <packager>${xml(h.string(TAG.PACKAGER) ?? '')}</packager>`,
    `  <url>${xml(h.string(TAG.URL) ?? '')}</url>`,
    `  <time file="${buildTime}" build="${buildTime}"/>`,
    `  <size package="${bytes.length}" installed="${h.numbers(TAG.SIZE)[0] ?? 0}" archive="${sig.numbers(SIG.PAYLOADSIZE)[0] ?? 0}"/>`,
    `  <location href="${xml(filename)}"/>`,
    '  <format>',
    `    <rpm:license>${xml(h.string(TAG.LICENSE) ?? '')}</rpm:license>`,
    `    <rpm:vendor>${xml(h.string(TAG.VENDOR) ?? '')}</rpm:vendor>`,
    `    <rpm:group>${xml(h.string(TAG.GROUP) ?? '')}</rpm:group>`,
    `    <rpm:buildhost>${xml(h.string(TAG.BUILDHOST) ?? '')}</rpm:buildhost>`,
    `    <rpm:sourcerpm>${xml(h.string(TAG.SOURCERPM) ?? '')}</rpm:sourcerpm>`,
    `    <rpm:header-range start="${layout.headerAt}" end="${layout.payloadAt}"/>`,
    ...relations(h, 'provides', TAG.PROVIDENAME, TAG.PROVIDEFLAGS, TAG.PROVIDEVERSION),
    ...relations(h, 'requires', TAG.REQUIRENAME, TAG.REQUIREFLAGS, TAG.REQUIREVERSION),
    ...relations(h, 'conflicts', TAG.CONFLICTNAME, TAG.CONFLICTFLAGS, TAG.CONFLICTVERSION),
    ...relations(h, 'obsoletes', TAG.OBSOLETENAME, TAG.OBSOLETEFLAGS, TAG.OBSOLETEVERSION),
    // Like createrepo: only the files dependency solving asks about go into primary.
    ...files.filter((f) => PRIMARY_FILES.test(f.path)).map(fileXml),
    '  </format>',
    '</package>',
  ].join('\n');
  const filelists = [`<package pkgid="${sha256}" ${head}>`, `  ${ver}`, ...files.map(fileXml), '</package>'].join('\n');
  const times = h.numbers(TAG.CHANGELOGTIME);
  const authors = h.strings(TAG.CHANGELOGNAME);
  const texts = h.strings(TAG.CHANGELOGTEXT);
  const other = [
    `<package pkgid="${sha256}" ${head}>`,
    `  ${ver}`,
    ...times.map((t, i) => `  <changelog author="${xml(authors[i] ?? '')}" date="${t}">${xml(texts[i] ?? '')}</changelog>`),
    '</package>',
  ].join('\n');
  return {
    format: 'rpm',
    filename,
    name,
    version: epoch === '0' ? `${version}-${release}` : `${epoch}:${version}-${release}`,
    arch,
    group: `${name}-${version}.${arch}`,
    size: bytes.length,
    mtimeMs,
    sha256,
    signed: sig.tags.has(SIG_OPENPGP.RSA) || sig.tags.has(SIG_OPENPGP.DSA),
    rpm: {primary, filelists, other},
  };
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
