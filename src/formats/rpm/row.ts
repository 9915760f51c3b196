import {existsSync, lstatSync} from 'node:fs';
import {delimiter, join} from 'node:path';
import {rpmOwnMeta, rpmHeadersMeta} from './meta.js';
import {inRoot} from '../../root/paths.js';
import {runToolSync} from '../../tool.js';
import {runManager, type ForeignOwner, type FormatRow} from '../family.js';
import {compareRpmVersions} from '../versions.js';
import {RpmReader} from './read.js';
import {rpmPackager} from './rpm.js';
import {rpmFileName, rpmRepo} from './repo.js';
import {TAG} from './tags.js';

const rpmRoot = (root: string): string[] => (root === '/' ? [] : ['--root', root]);

function onPath(cmd: string): string | undefined {
  for (const d of (process.env.PATH ?? '').split(delimiter)) if (d !== '' && existsSync(join(d, cmd))) return join(d, cmd);
  return undefined;
}

/** Where an rpm database may be in a root: Fedora's, older ones', and where this machine's rpm keeps it (Debian's rpm: ~/.rpmdb). */
function rpmDatabases(root: string): string[] {
  const rpm = onPath('rpm');
  const dbpath = rpm ? runToolSync(rpm, ['--eval', '%{_dbpath}']).stdout.trim() : '';
  return ['var/lib/rpm', 'usr/lib/sysimage/rpm', ...(dbpath.startsWith('/') ? [dbpath.slice(1)] : [])];
}

/**
 * rpm's owners, asked with `rpm --root R -qf` where the root has an rpm database and an `rpm` binary
 * exists (never from a kernel hook: rpm may be the one running it, holding its database's lock; what
 * exists on disk is refused without --force anyway, which hooks never pass).
 */
function rpmOwners(root: string, paths: readonly string[]): ForeignOwner[] {
  const rpm = onPath('rpm');
  if (!rpm) return [];
  if (!rpmDatabases(root).some((d) => existsSync(inRoot(root, d)))) return [];
  // rpm -qf answers for paths that exist (a package's own dir is listed by it).
  const present = paths.filter((p) => lstatSync(inRoot(root, p), {throwIfNoEntry: false}));
  const found: ForeignOwner[] = [];
  for (const path of present) {
    const r = runToolSync(rpm, [...rpmRoot(root), '-qf', '--qf', '%{NAME}-%{VERSION}-%{RELEASE}.%{ARCH}\\n', `/${path}`]);
    if (r.code !== 0) continue; // "not owned by any package"
    const pkg = r.stdout.split('\n').find((l) => l.trim() !== '');
    if (pkg) found.push({manager: 'rpm', package: pkg.trim(), path});
  }
  return found;
}

/** Fedora's, RHEL's and SUSE's family: .rpm, rpm and dnf, kernel.spec's layout. */
export const rpmRow = {
  format: 'rpm',
  packager: rpmPackager,
  layout: 'kernels',
  arch: (k) => k.rpmArch,
  headersMeta: rpmHeadersMeta,
  ownMeta: rpmOwnMeta,
  manager: {
    via: 'rpm',
    tool: 'rpm',
    present: (root) => rpmDatabases(root).some((d) => existsSync(inRoot(root, d))),
    database: 'var/lib/rpm',
    needsDatabase: false,
    // -i, never -U: kernel-devel is install-only.
    install: (root, pkg, {force}) => runManager('rpm', [...rpmRoot(root), '-i', ...(force ? ['--replacepkgs', '--replacefiles'] : []), pkg]),
    remove: (root, name) => runManager('rpm', [...rpmRoot(root), '-e', name]),
    installedName: (pkg) => `${pkg.name}-${pkg.version}.${pkg.arch}`,
    owners: (root, paths, {askTool}) => (askTool ? rpmOwners(root, paths) : []),
    removeHint: (name) => `rpm -e ${name}`,
    reinstallHint: (name) => `dnf reinstall ${name}`,
    // kernel-devel has no scriptlets: khpkg runs the header hooks itself.
    runsHeaderHooks: false,
  },
  defaultCompression: 'xz',
  repo: rpmRepo,
  fileName: rpmFileName,
  compareVersions: compareRpmVersions,
  probe: async (head) => head.length >= 4 && head.readUInt32BE(0) === 0xedabeedb,
  async summary(source) {
    const rpm = await RpmReader.open(source);
    return {name: rpm.header.string(TAG.NAME), description: rpm.header.string(TAG.DESCRIPTION), files: rpm.files()};
  },
  payload: async (source) => (await RpmReader.open(source)).payload(),
} as const satisfies FormatRow;
