import {gzipSync, constants} from 'node:zlib';
import type {RepoPackage} from '../../registry/types.js';
import {TAR_END, tarHeader, tarPadding} from '../tar.js';
import {parsePkginfo} from './read.js';

/**
 * A package's entry in a pacman sync database, as repo-add writes it (`desc`: `%KEY%` blocks, one
 * value a line, a blank line after each), from its .PKGINFO and the file's own size and digest.
 */
export function syncDesc(pkginfo: string, file: {filename: string; size: number; md5: string; sha256: string}): string {
  const info = parsePkginfo(pkginfo);
  const one = (k: string): string[] => info.get(k) ?? [];
  const blocks: [string, string[]][] = [
    ['FILENAME', [file.filename]],
    ['NAME', one('pkgname')],
    ['BASE', one('pkgbase')],
    ['VERSION', one('pkgver')],
    ['DESC', one('pkgdesc')],
    ['CSIZE', [String(file.size)]],
    ['ISIZE', one('size')],
    ['MD5SUM', [file.md5]],
    ['SHA256SUM', [file.sha256]],
    ['URL', one('url')],
    ['LICENSE', one('license')],
    ['ARCH', one('arch')],
    ['BUILDDATE', one('builddate')],
    ['PACKAGER', one('packager')],
    ['PROVIDES', one('provides')],
    ['DEPENDS', one('depend')],
  ];
  return blocks
    .filter(([, v]) => v.length > 0)
    .map(([k, v]) => `%${k}%\n${v.join('\n')}\n\n`)
    .join('');
}

/** `%FILES%`, the .files database's list: every path the package installs, dirs with a trailing `/`. */
export function syncFiles(entries: readonly {path: string; dir: boolean}[]): string {
  // Sorted byte by byte, as repo-add's `sort` in the C locale leaves them.
  const lines = entries.map((e) => `${e.path}${e.dir ? '/' : ''}`).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return `%FILES%\n${lines.join('\n')}\n`;
}

/**
 * `<repo>.db.tar.gz` and `<repo>.files.tar.gz` as repo-add makes them: a gzipped tar of one
 * `<name>-<version>/` dir per package holding its `desc` (and, in the .files database, its `files`).
 * `time` is every member's mtime (the repository's SOURCE_DATE_EPOCH, so indexes are reproducible).
 */
export function syncDatabases(packages: readonly RepoPackage[], time: number, fileList: (p: RepoPackage) => string): {db: Buffer; files: Buffer} {
  const tar = (withFiles: boolean): Buffer => {
    const parts: Buffer[] = [];
    for (const p of [...packages].sort((a, b) => (`${a.name}-${a.version}` < `${b.name}-${b.version}` ? -1 : 1))) {
      const dir = `${p.name}-${p.version}`;
      parts.push(tarHeader({path: dir, type: 'dir', mode: 0o755, mtime: time, size: 0}, {plain: true}));
      const members: [string, Buffer][] = [
        ['desc', Buffer.from(p.index.desc!)],
        ...(withFiles ? [['files', Buffer.from(fileList(p))] as [string, Buffer]] : []),
      ];
      for (const [name, data] of members) {
        parts.push(
          tarHeader({path: `${dir}/${name}`, type: 'file', mode: 0o644, mtime: time, size: data.length}, {plain: true}),
          data,
          tarPadding(data.length),
        );
      }
    }
    parts.push(TAR_END);
    return gzipSync(Buffer.concat(parts), {level: constants.Z_BEST_COMPRESSION});
  };
  return {db: tar(false), files: tar(true)};
}
