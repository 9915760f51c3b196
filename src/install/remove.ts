import {notInstalled} from '../errors.js';
import {Registry} from '../registry/registry.js';
import type {HeaderSet} from '../registry/types.js';
import {removeVia} from './bridge.js';
import {lockRoot} from '../registry/lock.js';
import {recover} from './recover.js';
import {leftovers, removeRecordedFiles} from './remove-files.js';
import {inRoot} from '../root/paths.js';
import {foreignOwners} from './owners.js';
import {kernelLinks} from '../content/headers.js';

export interface RemoveResult {
  release: string;
  path: string;
  removed: number;
  /** Files under the tree that khpkg did not install: kept, and reported. */
  kept: string[];
  /** Set when dpkg or rpm has since taken the tree or link over: the files are theirs, only the record went. */
  ownedBy?: string;
}

/** What removing `release` would do, without doing it; undefined when it is not installed. */
export function removalPlan(root: string, release: string): RemoveResult | undefined {
  const registry = Registry.open(root);
  if (!registry) return undefined;
  try {
    const set = registry.get(release);
    if (!set) return undefined;
    const owner = (set.via ?? 'khpkg') === 'khpkg' ? foreignOwners(root, [set.path, ...setLinks(set)])[0] : undefined;
    if (owner) return {release, path: inRoot(root, set.path), removed: 0, kept: [], ownedBy: `${owner.manager} package ${owner.package}`};
    const ours = new Set(registry.files(release).map((f) => f.path));
    return {release, path: inRoot(root, set.path), removed: ours.size, kept: leftovers(root, set.path).filter((p) => !ours.has(p))};
  } finally {
    registry.close();
  }
}

/**
 * Removes a header set: the operation is recorded first, so a crash midway is finished next time.
 * A set installed through dpkg or rpm (bridge mode) is removed by them.
 */
export async function removeHeaders(root: string, release: string, waitSeconds: number): Promise<RemoveResult> {
  const registry = Registry.open(root);
  if (!registry) throw notInstalled(release);
  const lock = lockRoot(root, waitSeconds);
  try {
    recover(root, registry);
    const set = registry.get(release);
    if (!set) throw notInstalled(release);
    if (set.via && set.via !== 'khpkg') {
      await removeVia(root, set);
      registry.forget(release);
      return {release, path: inRoot(root, set.path), removed: set.files, kept: []};
    }
    // dpkg or rpm installed a package over the set since: the files are theirs now, not ours to delete.
    const owner = foreignOwners(root, [set.path, ...setLinks(set)])[0];
    if (owner) {
      registry.forget(release);
      return {release, path: inRoot(root, set.path), removed: 0, kept: [], ownedBy: `${owner.manager} package ${owner.package}`};
    }
    const op = registry.beginOperation({kind: 'remove', release, phase: 'removing', treePath: set.path});
    registry.markRemoving(release);
    const {removed, kept} = removeRecordedFiles(root, set, registry.files(release));
    registry.forget(release, op);
    return {release, path: inRoot(root, set.path), removed, kept};
  } finally {
    registry.close();
    lock.release();
  }
}

/** The links a set makes in /lib/modules/<rel>, whichever tier it is: both are asked about. */
function setLinks(set: HeaderSet): string[] {
  return [...new Set([...kernelLinks(set.layout, set.release, 'headers'), ...kernelLinks(set.layout, set.release, 'kbuild')].map((l) => l.path))];
}
