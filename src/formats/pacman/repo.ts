import {createHash} from 'node:crypto';
import {basename} from 'node:path';
import {bufferSource} from '../../archive/byte-source.js';
import {KhpkgError} from '../../errors.js';
import {filesUnder, type IndexFile, type RepoFamily} from '../family.js';
import {PacmanReader} from './read.js';
import {syncDatabases, syncDesc, syncFiles} from './repo-db.js';

/** Where pacman's part of a repository lives (`pacman/<arch>/`), and its sync databases' name (`[khpkg]` in pacman.conf). */
const REPO_DIR = 'pacman';
const SYNC_DB = 'khpkg';
const PACKAGE_FILE = /\.pkg\.tar\.(zst|xz|gz)$/;

/** makepkg's file name; `current`, the file's name now, keeps its compression's suffix. */
export const pacmanFileName = (name: string, version: string, arch: string, current?: string): string =>
  `${name}-${version}-${arch}${PACKAGE_FILE.exec(current ?? '')?.[0] ?? '.pkg.tar.zst'}`;

/** The .pkg.tar.* of a repository: beside their sync databases, one directory per architecture. */
export const pacmanRepo: RepoFamily = {
  dir: REPO_DIR,
  packageFile: PACKAGE_FILE,
  // Beside the sync database: pacman fetches a package from the database's own directory, by file name alone.
  place: (p) => `${REPO_DIR}/${p.arch}/${pacmanFileName(p.name, p.version.replace(/^\d+:/, ''), p.arch, basename(p.filename))}`,
  async entry(bytes, filename, {mtimeMs, sha256}) {
    const {info, pkginfo, entries} = await (await PacmanReader.open(bufferSource(bytes, filename))).metadata();
    const [name, version, arch] = [info.get('pkgname')?.[0], info.get('pkgver')?.[0], info.get('arch')?.[0]];
    if (!name || !version || !arch) throw new KhpkgError('bad-input', `${basename(filename)} has no usable .PKGINFO`);
    const md5 = createHash('md5').update(bytes).digest('hex');
    // The sync database names the file alone.
    const desc = syncDesc(pkginfo, {filename: basename(filename), size: bytes.length, md5, sha256});
    return {format: 'pacman', filename, name, version, arch, group: name, size: bytes.length, mtimeMs, sha256, index: {desc}, fileList: syncFiles(entries)};
  },
  /**
   * One pair of sync databases per architecture, as repo-add writes them: `khpkg.db.tar.gz` and
   * `khpkg.files.tar.gz`, with `khpkg.db` and `khpkg.files` beside them (copies rather than
   * repo-add's symlinks, which a mirror may not keep), each signed (`.sig`) when the repository is.
   */
  async indexes(pacs, ctx) {
    const out: IndexFile[] = [];
    for (const arch of [...new Set(pacs.map((p) => p.arch))].sort()) {
      const here = pacs.filter((p) => p.arch === arch);
      const {db, files} = syncDatabases(here, Math.floor(ctx.now.getTime() / 1000), ctx.fileList);
      for (const [name, data] of [
        [`${SYNC_DB}.db`, db],
        [`${SYNC_DB}.db.tar.gz`, db],
        [`${SYNC_DB}.files`, files],
        [`${SYNC_DB}.files.tar.gz`, files],
      ] as const) {
        out.push({path: `${REPO_DIR}/${arch}/${name}`, data});
        if (ctx.signer) out.push({path: `${REPO_DIR}/${arch}/${name}.sig`, data: await ctx.signer.detach(data, false)});
      }
    }
    return out;
  },
  // Its packages live beside its databases and are not index files.
  ownIndexes: async (top) => (await filesUnder(top, REPO_DIR)).filter((f) => f.split('/').pop()!.startsWith(`${SYNC_DB}.`)),
};
