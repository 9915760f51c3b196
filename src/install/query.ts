import type {Via} from '../formats/table.js';
import {Registry} from '../registry/registry.js';
import {inRoot} from '../root/paths.js';
import type {HeaderSet} from '../registry/types.js';
import {runningRelease} from '../source/kernel.js';
import {tryLockRoot} from '../registry/lock.js';
import {hasLeftovers, recover, sweepLeftovers} from './recover.js';

/** What `list --json` prints for each installed header set. */
export interface ListedSet {
  release: string;
  version: string;
  arch: string;
  /** Where the tree is (under --root); `rel`: relative to the root. */
  path: string;
  rel: string;
  files: number;
  bytes: number;
  installedAt: string;
  sourceSha256: string;
  running: boolean;
  /** Who installed it: khpkg, or dpkg/rpm (bridge mode). */
  via: Via;
}

export function listed(set: HeaderSet, root: string): ListedSet {
  return {
    release: set.release,
    version: set.version,
    arch: set.debArch,
    path: inRoot(root, set.path),
    rel: set.path,
    files: set.files,
    bytes: set.bytes,
    installedAt: set.installedAt,
    sourceSha256: set.sourceSha256,
    running: set.release === runningRelease(),
    via: set.via ?? 'khpkg',
  };
}

/**
 * Opens a root's registry for reading. When no other khpkg holds the root, leftovers of a crash are
 * cleaned first, so what is read agrees with the disk. No registry: nothing is installed.
 */
export function readRegistry<T>(root: string, read: (r: Registry) => T, none: T): T {
  const registry = Registry.open(root);
  if (!registry) {
    // A first install killed while reading its archive leaves a scan dir and no registry yet.
    if (hasLeftovers(root)) withLock(root, () => sweepLeftovers(root));
    return none;
  }
  try {
    if (registry.operations().length > 0 || hasLeftovers(root)) {
      withLock(root, () => recover(root, registry));
    }
    return read(registry);
  } finally {
    registry.close();
  }
}

/** Runs `fn` under the root lock if no other khpkg holds it; skips it otherwise. */
function withLock(root: string, fn: () => unknown): void {
  const lock = tryLockRoot(root);
  if (!lock) return;
  try {
    fn();
  } finally {
    lock.release();
  }
}
