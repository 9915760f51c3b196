import {KhpkgError} from '../errors.js';
import {FORMAT_TABLE, rowForManager} from '../formats/table.js';
import type {ForeignOwner} from '../formats/family.js';

export type {ForeignOwner};

/**
 * Who among the root's package managers (every family's: dpkg, rpm, pacman) owns each of `paths`
 * (root-relative) in `root`: a dir counts as owned when the package lists it or anything below it.
 * Each family's row knows how to ask its manager (formats/<family>/row.ts): dpkg's and pacman's
 * databases are read as files, so no binary is needed; rpm is asked with `rpm -qf`, but not from a
 * kernel hook (`askTool: false`: rpm may be the one running it, holding its database's lock; what
 * exists on disk is refused without --force anyway, which hooks never pass).
 */
export function foreignOwners(root: string, paths: readonly string[], opts: {askRpm?: boolean} = {}): ForeignOwner[] {
  return Object.values(FORMAT_TABLE).flatMap((row) => row.manager.owners(root, paths, {askTool: opts.askRpm !== false}));
}

/** The one sentence every refusal uses: who owns it, and the ways forward. */
export function ownedError(owner: ForeignOwner, action: string): KhpkgError {
  const remove = rowForManager(owner.manager).manager.removeHint(owner.package);
  return new KhpkgError(
    'owned-by-package',
    `/${owner.path} belongs to the ${owner.manager} package ${owner.package}: khpkg will not ${action} it, --force or not. Remove that package first (${remove}), or let ${owner.manager} install the headers: khpkg install --via ${owner.manager}`,
  );
}
