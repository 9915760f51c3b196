import {existsSync, readdirSync, readFileSync} from 'node:fs';
import {join} from 'node:path';
import {debOwnMeta, debHeadersMeta} from './meta.js';
import {inRoot} from '../../root/paths.js';
import {runManager, usrAliases, type ForeignOwner, type FormatRow} from '../family.js';
import {compareDebVersions} from '../versions.js';
import {debPackager} from './deb.js';
import {DebReader} from './read.js';
import {debFileName, debRepo} from './repo.js';

/** Under another root dpkg must not chroot to run the postinst (which looks under $DPKG_ROOT itself). */
const dpkgRoot = (root: string): string[] => (root === '/' ? [] : [`--root=${root}`, '--force-script-chrootless']);

function dpkgAdminDir(root: string): string {
  if (root === '/' && process.env.DPKG_ADMINDIR) return process.env.DPKG_ADMINDIR;
  return inRoot(root, 'var/lib/dpkg');
}

/** dpkg's owners from its database files (`info/*.list`): no dpkg binary needed, and safe from inside dpkg's own run. */
function dpkgOwners(root: string, paths: readonly string[]): ForeignOwner[] {
  const info = join(dpkgAdminDir(root), 'info');
  let lists: string[];
  try {
    lists = readdirSync(info).filter((n) => n.endsWith('.list'));
  } catch {
    return [];
  }
  const wanted = paths.map((p) => ({path: p, needles: usrAliases(p).map((a) => `/${a}`)}));
  const found: ForeignOwner[] = [];
  for (const name of lists) {
    let text: string;
    try {
      text = readFileSync(join(info, name), 'latin1');
    } catch {
      continue;
    }
    for (const w of wanted) {
      // A cheap test first: most lists name none of these paths.
      if (!w.needles.some((n) => text.includes(n))) continue;
      const owns = text.split('\n').some((line) => w.needles.some((n) => line === n || line.startsWith(`${n}/`)));
      if (owns) found.push({manager: 'dpkg', package: name.slice(0, -'.list'.length).replace(/:[^:]*$/, ''), path: w.path});
    }
  }
  return found;
}

/** Debian's and Ubuntu's family: .deb, dpkg and apt, the builddeb layout. */
export const debRow = {
  format: 'deb',
  packager: debPackager,
  layout: 'debian',
  arch: (k) => k.debArch,
  headersMeta: debHeadersMeta,
  ownMeta: debOwnMeta,
  manager: {
    via: 'dpkg',
    tool: 'dpkg',
    present: (root) => existsSync(inRoot(root, 'var/lib/dpkg/status')),
    database: 'var/lib/dpkg/status',
    needsDatabase: true,
    install: (root, pkg, {force}) => runManager('dpkg', [...dpkgRoot(root), ...(force ? ['--force-overwrite'] : []), '-i', pkg]),
    remove: (root, name) => runManager('dpkg', [...dpkgRoot(root), '--purge', name]),
    installedName: (pkg) => pkg.name,
    owners: (root, paths) => dpkgOwners(root, paths),
    removeHint: (name) => `apt remove ${name}`,
    reinstallHint: (name) => `apt install --reinstall ${name}`,
    // The headers package's postinst runs /etc/kernel/header_postinst.d, as Debian's own do.
    runsHeaderHooks: true,
  },
  defaultCompression: 'xz',
  repo: debRepo,
  fileName: debFileName,
  compareVersions: compareDebVersions,
  probe: async (head) => head.toString('latin1', 0, 8) === '!<arch>\n',
  async summary(source, wanted = true) {
    const deb = await DebReader.open(source);
    const {control, files} = await deb.control();
    // md5sums is optional (dpkg-deb -b does not make one): then the payload's names, contents skipped.
    if (files.length === 0 && wanted) for await (const {entry} of deb.data()) files.push(entry.path);
    return {name: control.get('Package'), description: control.get('Description'), files};
  },
  payload: async (source) => (await DebReader.open(source)).data(),
} as const satisfies FormatRow;
