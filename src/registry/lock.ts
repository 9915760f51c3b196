import {createRequire} from 'node:module';
import {join} from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import {KhpkgError} from '../errors.js';
import {makeRegistryDir} from './registry.js';

/** Held while a command changes a root; released by `release()` or by the process dying. */
export interface RootLock {
  release(): void;
}

/**
 * One writer per root: an exclusive SQLite transaction on a lock file beside the registry. SQLite's
 * locks are fcntl locks, so the kernel drops them when the holder dies (even by SIGKILL): a crash
 * never leaves a stale lock. Waiters poll for up to `waitSeconds`, then fail with "busy".
 */
export function lockRoot(root: string, waitSeconds: number): RootLock {
  const dir = makeRegistryDir(root);
  return lockFile(join(dir, 'lock'), waitSeconds, root);
}

/** The same lock on any file: `what` names what it guards in the "busy" message. */
export function lockFile(file: string, waitSeconds: number, what: string): RootLock {
  const Database = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
  const db = new Database(file);
  try {
    db.pragma(`busy_timeout = ${Math.round(waitSeconds * 1000)}`);
    db.exec('BEGIN EXCLUSIVE');
  } catch (e) {
    db.close();
    if ((e as {code?: string}).code === 'SQLITE_BUSY') {
      throw new KhpkgError('busy', `another khpkg is changing ${what} (waited ${waitSeconds}s): try again, or wait longer with --wait`);
    }
    throw e;
  }
  return {
    release: () => {
      if (!db.open) return;
      db.exec('ROLLBACK');
      db.close();
    },
  };
}

/** The lock if nobody holds it now, else undefined: read commands use it to tidy up when idle. */
export function tryLockRoot(root: string): RootLock | undefined {
  try {
    return lockRoot(root, 0);
  } catch (e) {
    if (e instanceof KhpkgError && e.code === 'busy') return undefined;
    throw e;
  }
}
