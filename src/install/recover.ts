import {randomBytes} from 'node:crypto';
import {existsSync, lstatSync, readdirSync, readlinkSync, renameSync, rmSync, symlinkSync, unlinkSync} from 'node:fs';
import {join} from 'node:path';
import type {Registry} from '../registry/registry.js';
import {inRoot, linkLeadsInto} from '../root/paths.js';
import {LAYOUTS} from '../content/headers.js';
import type {FileRecord} from '../registry/types.js';
import {removeRecordedFiles} from './remove-files.js';

/** Where staging and old trees live: beside the trees, on the same file system. */
export const TREE_PARENTS = [...new Set(Object.values(LAYOUTS).map((l) => l.stageIn))];
const LEFTOVER = /^\.khpkg-(stage|old)-/;
/** A tree an install writes while it reads the archive, before it takes the lock: `.khpkg-scan-<pid>-<random>`. */
const SCANNING = /^\.khpkg-scan-(\d+)-/;

/** The name of a new scan dir for this process (see SCANNING). */
export function scanDirName(): string {
  return `.khpkg-scan-${process.pid}-${randomBytes(6).toString('hex')}`;
}

/**
 * Is this entry of a tree parent a leftover? Staging and old trees are, under the lock, when no
 * operation owns them. A scan dir is written without the lock, so it is one only once its process
 * has gone (a process in another PID namespace looks gone: its install then fails, never corrupts).
 */
function isLeftover(name: string): boolean {
  if (LEFTOVER.test(name)) return true;
  const scanning = SCANNING.exec(name);
  return scanning !== null && !processAlive(Number(scanning[1]));
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Deletes leftover staging, old and scan trees (under the root lock); returns what it did. */
export function sweepLeftovers(root: string): string[] {
  const done: string[] = [];
  for (const parent of TREE_PARENTS) {
    const dir = inRoot(root, parent);
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) {
      if (!isLeftover(name)) continue;
      rmSync(join(dir, name), {recursive: true, force: true});
      done.push(`removed leftover ${parent}/${name}`);
    }
  }
  return done;
}

/**
 * Brings a root back to a consistent state after a crash, under the root lock. An install that did
 * not commit is undone (the old tree, if any, goes back); a remove that did not finish is finished.
 * Then staging and old trees no operation owns any more are deleted. Returns what was done.
 */
export function recover(root: string, registry: Registry): string[] {
  const done: string[] = [];
  for (const op of registry.operations()) {
    if (op.kind === 'install') {
      undoInstall(root, registry, op.release, op.phase, op.treePath, op.stagePath, op.oldPath);
      done.push(`undid an unfinished install of ${op.release}`);
    } else {
      const set = registry.get(op.release);
      if (set) removeRecordedFiles(root, set, registry.files(op.release));
      done.push(`finished an interrupted remove of ${op.release}`);
    }
    if (op.kind === 'install') registry.endOperation(op.id);
    else registry.forget(op.release, op.id);
  }
  done.push(...sweepLeftovers(root));
  for (const set of registry.installed()) {
    if (set.state === 'removing') {
      removeRecordedFiles(root, set, registry.files(set.release));
      registry.forget(set.release);
      done.push(`finished an interrupted remove of ${set.release}`);
    }
  }
  return done;
}

function undoInstall(root: string, registry: Registry, release: string, phase: string, treeRel: string, stage?: string, old?: string): void {
  const set = registry.get(release);
  if (stage) rmSync(inRoot(root, stage), {recursive: true, force: true});
  const treeAbs = inRoot(root, treeRel);
  const oldAbs = old === undefined ? undefined : inRoot(root, old);
  if (oldAbs && existsSync(oldAbs)) {
    // The old tree was moved aside: whatever is at its place now is the uncommitted new one.
    rmSync(treeAbs, {recursive: true, force: true});
    renameSync(oldAbs, treeAbs);
  } else if (phase === 'swapping' && !set && existsSync(treeAbs)) {
    // A first install renamed into place but never committed.
    rmSync(treeAbs, {recursive: true, force: true});
  }
  restoreLinks(root, release, treeRel, set ? registry.files(release) : []);
}

/**
 * The links in /lib/modules/<rel> back as the committed set recorded them (none, if no set is):
 * an install cut short may have swapped some (a headers-only tree's `build` leads elsewhere than a
 * module-build tree's) or made one the set has not. Links that lead elsewhere are someone else's.
 */
function restoreLinks(root: string, release: string, treeRel: string, records: readonly FileRecord[]): void {
  const dirRel = `lib/modules/${release}`;
  const dir = inRoot(root, dirRel);
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    if (/\.khpkg-tmp-\d+$/.test(name)) unlinkSync(join(dir, name));
  }
  const recorded = records.filter((r) => r.type === 'symlink' && r.path.startsWith(`${dirRel}/`));
  for (const name of readdirSync(dir)) {
    const rel = `${dirRel}/${name}`;
    // Dot names are khpkg's own for a while (the build link DKMS must not see, lifecycle/dkms.ts).
    if (name.startsWith('.') || !linkLeadsInto(root, rel, treeRel)) continue;
    const r = recorded.find((x) => x.path === rel);
    if (!r) unlinkSync(join(dir, name));
    else if (readlinkSync(join(dir, name)) !== r.linkTarget) {
      unlinkSync(join(dir, name));
      symlinkSync(r.linkTarget!, join(dir, name));
    }
  }
  for (const r of recorded) if (!lstatSync(inRoot(root, r.path), {throwIfNoEntry: false})) symlinkSync(r.linkTarget!, inRoot(root, r.path));
}

/** Are there staging or old trees lying around (a crash), without taking the lock? */
export function hasLeftovers(root: string): boolean {
  return TREE_PARENTS.some((parent) => {
    try {
      return readdirSync(inRoot(root, parent)).some(isLeftover);
    } catch {
      return false;
    }
  });
}
