import {Registry} from '../registry/registry.js';
import type {HeaderSet} from '../registry/types.js';
import {runningRelease} from '../source/kernel.js';
import {tryLockRoot} from './lock.js';
import {hasLeftovers, recover} from './recover.js';

/** What `list --json` prints for each installed header set. */
export interface ListedSet {
  release: string;
  version: string;
  arch: string;
  path: string;
  files: number;
  bytes: number;
  installedAt: string;
  sourceSha256: string;
  running: boolean;
  /** Who installed it: khpkg, or dpkg/rpm (bridge mode). */
  via: 'khpkg' | 'dpkg' | 'rpm';
}

export function listed(set: HeaderSet): ListedSet {
  return {
    release: set.release,
    version: set.version,
    arch: set.debArch,
    path: `/${set.path}`,
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
  if (!registry) return none;
  try {
    if (registry.operations().length > 0 || hasLeftovers(root)) {
      const lock = tryLockRoot(root);
      if (lock) {
        try {
          recover(root, registry);
        } finally {
          lock.release();
        }
      }
    }
    return read(registry);
  } finally {
    registry.close();
  }
}
