import {basename} from 'node:path';
import {bufferSource} from '../../archive/byte-source.js';
import {KhpkgError} from '../../errors.js';
import {filesUnder, poolPlace, type IndexFile, type RepoFamily} from '../family.js';
import {RpmReader} from './read.js';
import {rpmmdIndexes, rpmPackageXml} from './rpmmd.js';
import {signRpmFile} from './signature.js';
import {SIG_OPENPGP, TAG} from './tags.js';

/** rpm's NVRA file name. */
export const rpmFileName = (name: string, version: string, arch: string): string => `${name}-${version}.${arch}.rpm`;

/** The .rpms of a repository: in the same pool as the .debs, with RPM-MD's repodata (repomd.xml.asc, and each rpm signed, when signed). */
export const rpmRepo: RepoFamily = {
  dir: 'pool',
  packageFile: /\.rpm$/,
  place: (p, component) => poolPlace(p, component, rpmFileName(p.name, p.version.replace(/^\d+:/, ''), p.arch)),
  async entry(bytes, filename, {mtimeMs, sha256}) {
    const rpm = await RpmReader.open(bufferSource(bytes, filename));
    const h = rpm.header;
    const [name, version, release, arch] = [h.string(TAG.NAME), h.string(TAG.VERSION), h.string(TAG.RELEASE), h.string(TAG.ARCH)];
    if (!name || !version || !release || !arch) throw new KhpkgError('bad-input', `${basename(filename)} names no package`);
    const epoch = String(h.numbers(TAG.EPOCH)[0] ?? 0);
    const {primary, filelists, other} = rpmPackageXml(rpm, {filename, sha256, size: bytes.length});
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
      signed: rpm.signature.tags.has(SIG_OPENPGP.RSA) || rpm.signature.tags.has(SIG_OPENPGP.DSA),
      index: {primary, other},
      fileList: filelists,
    };
  },
  // dnf's gpgcheck reads the signature in the package's own header, not the repository's.
  signPackage: (path, signer) => signRpmFile(path, (data) => signer.detach(data, false)),
  unsigned: (p) => !p.signed,
  async indexes(rpms, ctx) {
    // Written even for no packages: an empty repository must still be one dnf accepts.
    const md = rpmmdIndexes(rpms, rpms.map(ctx.fileList), Math.floor(ctx.now.getTime() / 1000));
    const out: IndexFile[] = [...md.data, {...md.repomd, last: true}];
    if (ctx.signer) out.push({path: `${md.repomd.path}.asc`, data: await ctx.signer.detach(md.repomd.data, true), last: true});
    return out;
  },
  // repodata is named by digest: whatever of it is not written again is old.
  ownIndexes: (top) => filesUnder(top, 'repodata'),
};
