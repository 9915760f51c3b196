import {readFileSync} from 'node:fs';
import {join} from 'node:path';
import {described} from '../content/headers-meta.js';
import type {PackageMeta} from '../content/package-meta.js';
import {renderTemplate} from '../content/templates.js';
import type {Format} from '../formats/writer.js';
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

/**
 * khpkg's own package, as each format spells it. Its maintainer scripts join the kernel's life
 * cycle on first install and leave it on removal, through `khpkg hooks`, so `hooks disable` and
 * `hooks status` keep working on a packaged khpkg and nothing khpkg made outlives it.
 */
export function releaseMeta(format: Format, info: ReleaseInfo, glibc: string): PackageMeta {
  const vars = {VERSION: info.version, COMMIT: info.commit, NODE: info.node};
  const words = described(renderTemplate('khpkg/description', vars));
  const arch = releaseTarget(info.arch);
  const common = {
    name: 'khpkg',
    version: info.version,
    release: '1',
    maintainer: 'khpkg developers <khpkg@example.org>',
    ...words,
    homepage: 'https://github.com/khpkg/khpkg',
    license: 'MIT',
  };
  if (format === 'deb') {
    return {
      ...common,
      arch: arch.deb,
      section: 'admin',
      provides: [],
      // The Node runtime links glibc, libstdc++ and libgcc_s dynamically (as Node's own builds do).
      depends: [{name: 'libc6', op: '>=', version: glibc}, {name: 'libgcc-s1'}, {name: 'libstdc++6'}],
      scripts: {
        postInstall: renderTemplate('khpkg/deb-postinst', vars),
        preRemove: renderTemplate('khpkg/deb-prerm', vars),
        postRemove: renderTemplate('khpkg/deb-postrm', vars),
      },
      copyright: renderTemplate('khpkg/copyright', vars),
      changes: renderTemplate('khpkg/changes', vars),
    };
  }
  const evr = `${info.version}-1`;
  return {
    ...common,
    arch: arch.rpm,
    section: 'System Environment/Base',
    provides: [
      {name: 'khpkg', op: '=', version: evr},
      {name: `khpkg(${arch.rpm.replace('_', '-')})`, op: '=', version: evr},
    ],
    depends: [],
    scripts: {postInstall: renderTemplate('khpkg/rpm-post', vars), preRemove: renderTemplate('khpkg/rpm-preun', vars)},
  };
}
