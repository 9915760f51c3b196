import {readFileSync} from 'node:fs';
import {join} from 'node:path';
import {described} from '../content/headers-meta.js';
import type {PackageMeta} from '../content/package-meta.js';
import {renderTemplate} from '../content/templates.js';
import {formatRow, type Format} from '../formats/table.js';
import {architecture} from '../archive/arch.js';
import type {ReleaseInfo, StagedFile} from './stage.js';
import {releaseTarget} from './target.js';

/** The newest glibc symbol version any ELF file of the release asks for: what libc6 it needs. */
export function glibcNeeded(dir: string, files: StagedFile[]): string {
  let best = [2, 17];
  for (const f of files) {
    if (f.type !== 'file') continue;
    const bytes = readFileSync(join(dir, f.path));
    if (bytes.length < 4 || bytes.readUInt32BE(0) !== 0x7f454c46) continue;
    for (const m of bytes.toString('latin1').matchAll(/GLIBC_2\.(\d+)/g)) if (Number(m[1]) > best[1]!) best = [2, Number(m[1])];
  }
  return best.join('.');
}

/** khpkg's own package, as each family spells it (formats/<family>/meta.ts). */
export function releaseMeta(format: Format, info: ReleaseInfo, glibc: string): PackageMeta {
  const vars = {VERSION: info.version, COMMIT: info.commit, NODE: info.node};
  const common = {
    name: 'khpkg',
    version: info.version,
    release: '1',
    maintainer: 'khpkg developers <khpkg@example.org>',
    ...described(renderTemplate('khpkg/description', vars)),
    homepage: 'https://github.com/khpkg/khpkg',
    license: 'MIT',
  };
  return formatRow(format).ownMeta({common, arch: architecture(releaseTarget(info.arch).rpm), glibc, vars});
}
