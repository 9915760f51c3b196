import {createHash} from 'node:crypto';
import {readFile, stat} from 'node:fs/promises';
import {basename} from 'node:path';
import {bufferSource} from '../archive/byte-source.js';
import {KhpkgError} from '../errors.js';
import {DebReader} from '../formats/deb/read.js';
import {RpmReader} from '../formats/rpm/read.js';
import {formatOf} from '../formats/table.js';
import {SIG_OPENPGP, TAG} from '../formats/rpm/tags.js';
import type {RepoPackage} from '../registry/types.js';
import {rpmPackageXml} from './rpmmd.js';
import {packagesStanza} from './apt.js';

const MAX_CONTROL = 64 * 1024 * 1024;

/** Reads a .deb or .rpm's metadata; `filename` is where the index will say it is. */
export async function readPackageMeta(path: string, filename: string): Promise<RepoPackage> {
  const bytes = await readFile(path);
  const {mtimeMs} = await stat(path);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  try {
    // What each repository index needs of a package, by its format's index kind.
    const index = formatOf(bytes)?.repoIndex;
    if (index === 'apt') return await debMeta(bytes, filename, mtimeMs, sha256);
    if (index === 'rpm-md') return await rpmMeta(bytes, filename, mtimeMs, sha256);
  } catch (e) {
    if (e instanceof KhpkgError) throw e;
    throw new KhpkgError('bad-input', `${basename(path)} is a damaged package (${(e as Error).message})`);
  }
  throw new KhpkgError('bad-input', `${basename(path)} is neither a .deb nor an .rpm`);
}

async function debMeta(bytes: Buffer, filename: string, mtimeMs: number, sha256: string): Promise<RepoPackage> {
  const p = (await (await DebReader.open(bufferSource(bytes, filename))).control(MAX_CONTROL)).control;
  const [pkg, version, arch] = [p?.get('Package'), p?.get('Version'), p?.get('Architecture')];
  if (!pkg || !version || !arch) throw new KhpkgError('bad-input', `${basename(filename)} has no usable control file`);
  const meta: RepoPackage = {
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
  return {...meta, deb: {...meta.deb!, stanza: packagesStanza(meta)}};
}

async function rpmMeta(bytes: Buffer, filename: string, mtimeMs: number, sha256: string): Promise<RepoPackage> {
  const rpm = await RpmReader.open(bufferSource(bytes, filename));
  const h = rpm.header;
  const [name, version, release, arch] = [h.string(TAG.NAME), h.string(TAG.VERSION), h.string(TAG.RELEASE), h.string(TAG.ARCH)];
  if (!name || !version || !release || !arch) throw new KhpkgError('bad-input', `${basename(filename)} names no package`);
  const epoch = String(h.numbers(TAG.EPOCH)[0] ?? 0);
  const sig = rpm.signature;
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
    rpm: rpmPackageXml(rpm, {filename, sha256, size: bytes.length}),
  };
}
