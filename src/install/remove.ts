import {notInstalled} from '../errors.js';
import {Registry} from '../registry/registry.js';
import {lockRoot} from './lock.js';
import {recover} from './recover.js';
import {removeRecordedFiles} from './remove-files.js';

export interface RemoveResult {
  release: string;
  path: string;
  removed: number;
  /** Files under the tree that khpkg did not install: kept, and reported. */
  kept: string[];
}

/** Removes a header set: the operation is recorded first, so a crash midway is finished next time. */
export function removeHeaders(root: string, release: string, waitSeconds: number): RemoveResult {
  const registry = Registry.open(root);
  if (!registry) throw notInstalled(release);
  const lock = lockRoot(root, waitSeconds);
  try {
    recover(root, registry);
    const set = registry.get(release);
    if (!set) throw notInstalled(release);
    const op = registry.beginOperation({kind: 'remove', release, phase: 'removing', treePath: set.path});
    registry.markRemoving(release);
    const {removed, kept} = removeRecordedFiles(root, set, registry.files(release));
    registry.forget(release, op);
    return {release, path: `/${set.path}`, removed, kept};
  } finally {
    registry.close();
    lock.release();
  }
}
