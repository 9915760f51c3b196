import {createHash} from 'node:crypto';
import {existsSync} from 'node:fs';
import {basename, dirname, join} from 'node:path';
import {bufferSource} from '../../archive/byte-source.js';
import {KhpkgError} from '../../errors.js';
import type {RepoPackage} from '../../registry/types.js';
import {filesUnder, poolPlace, type IndexFile, type RepoFamily} from '../family.js';
import {aptIndexes, packagesStanza} from './apt-index.js';
import {DebReader} from './read.js';

/** The most of a control archive a repository reads. */
const MAX_CONTROL = 64 * 1024 * 1024;

/** dpkg-name's file name. */
export const debFileName = (name: string, version: string, arch: string): string => `${name}_${version}_${arch}.deb`;

/** The .debs of a repository: Debian's pool, and APT's Packages and Release (InRelease, Release.gpg when signed). */
export const debRepo: RepoFamily = {
  dir: 'pool',
  packageFile: /\.deb$/,
  place: (p, component) => poolPlace(p, component, debFileName(p.name, p.version.replace(/^\d+:/, ''), p.arch)),
  async entry(bytes, filename, {mtimeMs, sha256}) {
    const p = (await (await DebReader.open(bufferSource(bytes, filename))).control(MAX_CONTROL)).control;
    const [name, version, arch] = [p.get('Package'), p.get('Version'), p.get('Architecture')];
    if (!name || !version || !arch) throw new KhpkgError('bad-input', `${basename(filename)} has no usable control file`);
    const index = {control: p.toString(), md5: createHash('md5').update(bytes).digest('hex'), sha1: createHash('sha1').update(bytes).digest('hex')};
    const entry: RepoPackage = {format: 'deb', filename, name, version, arch, group: name, size: bytes.length, mtimeMs, sha256, index};
    return {...entry, index: {...index, stanza: packagesStanza(entry)}};
  },
  async indexes(debs, ctx) {
    // Written even for no packages: an empty repository must still be one apt accepts.
    const {indexes, release} = await aptIndexes(debs, {...ctx, date: ctx.now});
    const out: IndexFile[] = [...indexes, {...release, last: true}];
    if (ctx.signer) {
      const base = dirname(release.path) === '.' ? '' : `${dirname(release.path)}/`;
      out.push({path: `${base}InRelease`, data: await ctx.signer.clearsign(release.data), last: true});
      out.push({path: `${base}Release.gpg`, data: await ctx.signer.detach(release.data, true), last: true});
    }
    return out;
  },
  ownIndexes: async (top, {flat, suite}) => {
    if (!flat) return filesUnder(top, `dists/${suite}`);
    // A flat repository's indexes sit at its top beside everything else: only those names are its.
    return ['Packages', 'Packages.gz', 'Release', 'InRelease', 'Release.gpg'].filter((f) => existsSync(join(top, f)));
  },
};
