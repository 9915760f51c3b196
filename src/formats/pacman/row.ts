import {existsSync, readdirSync, readFileSync} from 'node:fs';
import {join} from 'node:path';
import {ensureDirInRoot, inRoot} from '../../root/paths.js';
import {pacmanOwnMeta, pacmanHeadersMeta} from './meta.js';
import {runManager, usrAliases, type ForeignOwner, type FormatRow} from '../family.js';
import {comparePacmanVersions} from './version.js';
import {pacmanPackager} from './pacman.js';
import {isPacmanPackage, PacmanReader} from './read.js';
import {pacmanFileName, pacmanRepo} from './repo.js';

const LOCAL_DB = 'var/lib/pacman/local';

/**
 * pacman under a root: its database and log there, and the root's own pacman.conf when it has one
 * (Arch's sets `LocalFileSigLevel = Optional`, so a package khpkg built installs unsigned).
 */
function pacmanArgs(root: string): string[] {
  if (root === '/') return [];
  const conf = inRoot(root, 'etc/pacman.conf');
  return [
    '--root',
    root,
    '--dbpath',
    inRoot(root, 'var/lib/pacman'),
    '--logfile',
    inRoot(root, 'var/log/pacman.log'),
    '--cachedir',
    inRoot(root, 'var/cache/pacman/pkg'),
    ...(existsSync(conf) ? ['--config', conf] : []),
  ];
}

/** pacman's owners from its local database (`local/<name>-<version>/files`, `%FILES%`): no pacman binary needed. */
function pacmanOwners(root: string, paths: readonly string[]): ForeignOwner[] {
  const local = inRoot(root, LOCAL_DB);
  let dirs: string[];
  try {
    dirs = readdirSync(local);
  } catch {
    return [];
  }
  const found: ForeignOwner[] = [];
  for (const dir of dirs) {
    let text: string;
    try {
      text = readFileSync(join(local, dir, 'files'), 'utf8');
    } catch {
      continue;
    }
    const listed = new Set(
      text
        .split('%FILES%\n')[1]
        ?.split('\n\n')[0]!
        .split('\n')
        .map((l) => l.replace(/\/$/, '')) ?? [],
    );
    const name = /^%NAME%\n(.+)$/m.exec(readDesc(join(local, dir)))?.[1] ?? dir.replace(/-[^-]+-[^-]+$/, '');
    for (const p of paths) {
      // A dir counts as owned when the package lists it or anything below it, as for dpkg; Arch lists /usr/lib, never /lib.
      const owns = usrAliases(p).some((a) => listed.has(a) || [...listed].some((l) => l.startsWith(`${a}/`)));
      if (owns) found.push({manager: 'pacman', package: name, path: p});
    }
  }
  return found;
}

function readDesc(dir: string): string {
  try {
    return readFileSync(join(dir, 'desc'), 'utf8');
  } catch {
    return '';
  }
}

/** Arch's, SteamOS's and Manjaro's family: .pkg.tar.zst, pacman, and Arch's linux-headers layout (the tree is the build link). */
export const pacmanRow = {
  format: 'pacman',
  packager: pacmanPackager,
  layout: 'arch',
  arch: (k) => k.rpmArch,
  headersMeta: pacmanHeadersMeta,
  ownMeta: pacmanOwnMeta,
  manager: {
    via: 'pacman',
    tool: 'pacman',
    present: (root) => existsSync(inRoot(root, LOCAL_DB)),
    database: LOCAL_DB,
    needsDatabase: false,
    install: (root, pkg, {force}) => {
      // pacman makes its local database on first use, but not the dirs it is told to keep things in.
      if (root !== '/') for (const d of [LOCAL_DB, 'var/log', 'var/cache/pacman/pkg']) ensureDirInRoot(root, d);
      return runManager('pacman', ['-U', '--noconfirm', ...pacmanArgs(root), ...(force ? ['--overwrite', '*'] : []), pkg]);
    },
    remove: (root, name) => runManager('pacman', ['-R', '--noconfirm', ...pacmanArgs(root), name]),
    installedName: (pkg) => pkg.name,
    owners: (root, paths) => pacmanOwners(root, paths),
    removeHint: (name) => `pacman -R ${name}`,
    reinstallHint: (name) => `pacman -S ${name}`,
    // A pacman package has no hooks of its own here; khpkg runs the header hooks itself.
    runsHeaderHooks: false,
  },
  // makepkg's PKGEXT default since pacman 5.2.
  defaultCompression: 'zstd',
  repo: pacmanRepo,
  fileName: pacmanFileName,
  compareVersions: comparePacmanVersions,
  probe: (head) => isPacmanPackage(head),
  async summary(source) {
    const {info, entries} = await (await PacmanReader.open(source)).metadata();
    return {name: info.get('pkgname')?.[0], description: info.get('pkgdesc')?.[0], files: entries.filter((e) => !e.dir).map((e) => e.path)};
  },
  payload: async (source) => (await PacmanReader.open(source)).payload(),
} as const satisfies FormatRow;
