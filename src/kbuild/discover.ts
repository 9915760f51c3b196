import {existsSync, readdirSync, readFileSync, statSync} from 'node:fs';
import {checkedInRoot} from '../root/paths.js';
import {KHPKG_CONF, readKhpkgConf} from '../root/conf.js';

export {KHPKG_CONF};

/** A kernel source found for a series, and how it was found (said to the user, kept in the registry). */
export interface FoundSource {
  /** Absolute, as the process opens it (under the root). */
  path: string;
  /** As seen inside the root (`/usr/src/linux-source-6.12.tar.xz`). */
  shown: string;
  how: 'khpkg.conf' | 'linux-source package' | 'unpacked tree';
}

/** `6.12` of `6.12.117` or `6.12.0-56-amd64`. */
export function seriesOf(version: string): string {
  return version.split('.').slice(0, 2).join('.');
}

/** The `kbuild-source` lines of the root's khpkg.conf, in order. */
export function configuredSources(root: string): string[] {
  return readKhpkgConf(root).kbuildSources;
}

/** The series a source is of, cheaply: an unpacked tree's Makefile, else the version in the file's name. */
function seriesOfSource(abs: string): string | undefined {
  try {
    if (statSync(abs).isDirectory()) {
      const mk = readFileSync(`${abs}/Makefile`, 'utf8').slice(0, 4096);
      const v = (n: string): string | undefined => new RegExp(`^${n}\\s*=\\s*(\\d+)\\s*$`, 'm').exec(mk)?.[1];
      return v('VERSION') && v('PATCHLEVEL') ? `${v('VERSION')}.${v('PATCHLEVEL')}` : undefined;
    }
  } catch {
    return undefined;
  }
  const m = /(\d+)\.(\d+)(?:\.\d+)?(?:[^/]*)?\.tar(?:\.\w+)?$/.exec(abs.slice(abs.lastIndexOf('/') + 1));
  return m ? `${m[1]}.${m[2]}` : undefined;
}

/**
 * A kernel source of `series` that the root already has, with no flag: what khpkg.conf names first,
 * then Debian's `linux-source-X.Y` (`/usr/src/linux-source-X.Y.tar.xz`), Ubuntu's
 * (`/usr/src/linux-source-X.Y.Z/linux-source-X.Y.Z.tar.bz2`), and trees unpacked in /usr/src
 * (`linux-source-X.Y/`, `linux-X.Y.Z/`, kernel.org's way).
 */
export function findKernelSource(root: string, series: string): FoundSource | undefined {
  const at = (shown: string, how: FoundSource['how']): FoundSource | undefined => {
    const path = checkedInRoot(root, shown.slice(1));
    return existsSync(path) && seriesOfSource(path) === series ? {path, shown, how} : undefined;
  };
  for (const shown of configuredSources(root)) {
    const found = at(shown, 'khpkg.conf');
    if (found) return found;
  }
  for (const ext of ['xz', 'gz', 'zst', 'bz2']) {
    const found = at(`/usr/src/linux-source-${series}.tar.${ext}`, 'linux-source package');
    if (found) return found;
  }
  let names: string[] = [];
  try {
    names = readdirSync(checkedInRoot(root, 'usr/src')).sort().reverse(); // the newest sublevel first
  } catch {
    return undefined;
  }
  const esc = series.replace('.', '\\.');
  for (const name of names.filter((n) => new RegExp(`^linux-source-${esc}\\.\\d+$`).test(n))) {
    for (const ext of ['bz2', 'xz', 'gz']) {
      const found = at(`/usr/src/${name}/${name}.tar.${ext}`, 'linux-source package');
      if (found) return found;
    }
  }
  for (const name of names.filter((n) => new RegExp(`^linux(-source)?-${esc}(\\.\\d+)?$`).test(n))) {
    const found = at(`/usr/src/${name}`, 'unpacked tree');
    if (found && existsSync(`${found.path}/scripts/Makefile.build`)) return found;
  }
  return undefined;
}

/** What a user does to give a series a source, in one sentence (the hooks say it when they find none). */
export function howToGiveSource(series: string, release: string): string {
  return `install Linux ${series}'s source (Debian: apt install linux-source-${series}; or name one in /${KHPKG_CONF} as 'kbuild-source = /path/to/linux-${series}.tar.xz'), then run 'khpkg install --kernel ${release}'`;
}
