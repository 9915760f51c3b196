import {existsSync, lstatSync, readdirSync, readFileSync} from 'node:fs';
import {delimiter, join} from 'node:path';
import {KhpkgError} from '../errors.js';
import {inRoot} from '../root/paths.js';
import {runToolSync} from '../tool.js';

/** A path that the root's own package manager owns: khpkg never writes or deletes it. */
export interface ForeignOwner {
  manager: 'dpkg' | 'rpm';
  package: string;
  /** Root-relative, as asked. */
  path: string;
}

/**
 * Who among dpkg and rpm owns each of `paths` (root-relative) in `root`: a dir counts as owned when
 * the package lists it or anything below it. dpkg is read from its database files, so no dpkg
 * binary is needed (`<root>/var/lib/dpkg/info/*.list`, or `$DPKG_ADMINDIR` on `/`); rpm is asked
 * with `rpm --root R -qf` where the root has an rpm database and an `rpm` binary exists (not from a
 * kernel hook, `askRpm: false`: rpm may be the one running it, holding its database's lock; what
 * exists on disk is refused without --force anyway, which hooks never pass).
 */
export function foreignOwners(root: string, paths: readonly string[], opts: {askRpm?: boolean} = {}): ForeignOwner[] {
  return [...dpkgOwners(root, paths), ...(opts.askRpm === false ? [] : rpmOwners(root, paths))];
}

/** The one sentence every refusal uses: who owns it, and the ways forward. */
export function ownedError(owner: ForeignOwner, action: string): KhpkgError {
  const remove = owner.manager === 'dpkg' ? `apt remove ${owner.package}` : `rpm -e ${owner.package}`;
  return new KhpkgError(
    'owned-by-package',
    `/${owner.path} belongs to the ${owner.manager} package ${owner.package}: khpkg will not ${action} it, --force or not. Remove that package first (${remove}), or let ${owner.manager} install the headers: khpkg install --via ${owner.manager}`,
  );
}

/** The same path as merged-/usr spells it: dpkg may list `/lib/modules/...` or `/usr/lib/modules/...`. */
function aliases(rel: string): string[] {
  if (/^(lib|bin|sbin|lib32|lib64|libx32)\//.test(rel)) return [rel, `usr/${rel}`];
  if (/^usr\/(lib|bin|sbin|lib32|lib64|libx32)\//.test(rel)) return [rel, rel.slice(4)];
  return [rel];
}

function dpkgAdminDir(root: string): string {
  if (root === '/' && process.env.DPKG_ADMINDIR) return process.env.DPKG_ADMINDIR;
  return inRoot(root, 'var/lib/dpkg');
}

function dpkgOwners(root: string, paths: readonly string[]): ForeignOwner[] {
  const info = join(dpkgAdminDir(root), 'info');
  let lists: string[];
  try {
    lists = readdirSync(info).filter((n) => n.endsWith('.list'));
  } catch {
    return [];
  }
  const wanted = paths.map((p) => ({path: p, needles: aliases(p).map((a) => `/${a}`)}));
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

function rpmOwners(root: string, paths: readonly string[]): ForeignOwner[] {
  const rpm = onPath('rpm');
  if (!rpm) return [];
  // Where this rpm keeps its database (Fedora: /usr/lib/sysimage/rpm; Debian's rpm: ~/.rpmdb), in the root.
  const dbpath = runToolSync(rpm, ['--eval', '%{_dbpath}']).stdout.trim();
  const places = ['var/lib/rpm', 'usr/lib/sysimage/rpm', ...(dbpath?.startsWith('/') ? [dbpath.slice(1)] : [])];
  if (!places.some((d) => existsSync(inRoot(root, d)))) return [];
  // rpm -qf answers for paths that exist (a package's own dir is listed by it).
  const present = paths.filter((p) => lstatSync(inRoot(root, p), {throwIfNoEntry: false}));
  const found: ForeignOwner[] = [];
  for (const path of present) {
    const args = [...(root === '/' ? [] : ['--root', root]), '-qf', '--qf', '%{NAME}-%{VERSION}-%{RELEASE}.%{ARCH}\\n', `/${path}`];
    const r = runToolSync(rpm, args);
    if (r.code !== 0) continue; // "not owned by any package"
    const pkg = r.stdout.split('\n').find((l) => l.trim() !== '');
    if (pkg) found.push({manager: 'rpm', package: pkg.trim(), path});
  }
  return found;
}

function onPath(cmd: string): string | undefined {
  for (const d of (process.env.PATH ?? '').split(delimiter)) {
    if (d !== '' && existsSync(join(d, cmd))) return join(d, cmd);
  }
  return undefined;
}
