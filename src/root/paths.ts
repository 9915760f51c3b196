import {constants, existsSync, lstatSync, mkdirSync, readlinkSync, realpathSync, rmdirSync, statSync} from 'node:fs';
import {access} from 'node:fs/promises';
import {dirname, isAbsolute, join, relative, resolve, sep} from 'node:path';
import {KhpkgError} from '../errors.js';

/** `--root`, absolute and with its own symlinks resolved: everything khpkg writes stays below it. */
export function resolveRoot(root: string): string {
  const abs = resolve(root);
  if (!existsSync(abs)) throw new KhpkgError('not-found', `--root ${root}: no such directory`);
  if (!statSync(abs).isDirectory()) throw new KhpkgError('usage', `--root ${root}: not a directory`);
  return realpathSync(abs);
}

/** A path inside the root; `rel` is khpkg's own (validated) POSIX path, never `..`. */
export function inRoot(root: string, rel: string): string {
  if (isAbsolute(rel) || rel.split('/').includes('..')) throw new KhpkgError('internal', `unsafe path '${rel}'`);
  return rel === '' ? root : join(root, rel);
}

/** Whether the real path `real` is `root` or under it (every path is under `/`: a merged-/usr host's `lib -> usr/lib`). */
export function isWithin(root: string, real: string): boolean {
  return root === '/' || real === root || real.startsWith(root + sep);
}

/**
 * mkdir -p inside the root, refusing to follow a symlink that leads out of it (a root's own
 * `lib -> usr/lib` is fine; `usr/src -> /etc` is not).
 */
export function ensureDirInRoot(root: string, rel: string, mode = 0o755, made: string[] = []): string {
  let current = root;
  for (const part of rel.split('/').filter(Boolean)) {
    current = join(current, part);
    let st = lstatSync(current, {throwIfNoEntry: false});
    if (!st) {
      try {
        mkdirSync(current, {mode});
        made.push(current);
      } catch (e) {
        // Another khpkg on the same root made it meanwhile (scan dirs are made before the lock).
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      st = lstatSync(current);
    }
    if (st.isSymbolicLink()) {
      const real = realpathSync(current);
      if (!isWithin(root, real)) {
        throw new KhpkgError('unsafe-root', `${current} is a symlink out of the root (to ${real})`);
      }
      if (!statSync(real).isDirectory()) throw new KhpkgError('unsafe-root', `${current} is not a directory`);
    } else if (!st.isDirectory()) {
      throw new KhpkgError('conflict', `${current} is in the way: it is not a directory`);
    }
  }
  return current;
}

/**
 * `rel` as it really is in the root, for reading or opening: every symlink on the way that exists
 * is resolved by the kernel as khpkg's syscalls will resolve it, and must stay inside the root (an
 * absolute link in a root would lead to the host's file system). Returns the absolute path.
 */
export function checkedInRoot(root: string, rel: string): string {
  const abs = inRoot(root, rel);
  let p = abs;
  while (!existsSync(p) && p !== root && p !== dirname(p)) p = dirname(p);
  let real: string;
  try {
    real = realpathSync(p);
  } catch {
    return abs; // a dangling link on the way: opening fails with ENOENT, inside the root
  }
  if (!isWithin(root, real)) {
    throw new KhpkgError('unsafe-root', `${p} is a symlink out of the root (to ${real})`);
  }
  return abs;
}

/** ensureDirInRoot, returning the dirs it made (for removeEmptyDirs when the work fails). */
export function makeDirsInRoot(root: string, rel: string): string[] {
  const made: string[] = [];
  ensureDirInRoot(root, rel, 0o755, made);
  return made;
}

/** Removes dirs that makeDirsInRoot made, deepest first, where they are still empty. */
export function removeEmptyDirs(made: string[]): void {
  for (const dir of [...made].reverse()) {
    try {
      rmdirSync(dir);
    } catch {
      return; // not empty (another install is using it) or gone: leave the rest
    }
  }
}

/**
 * Refuses before any work when the root cannot be written: the nearest existing ancestor of the
 * directories khpkg writes must be writable by this user.
 */
export async function checkWritable(root: string, rels: string[]): Promise<void> {
  for (const rel of rels) {
    let p = inRoot(root, rel);
    while (!existsSync(p) && p !== dirname(p)) p = dirname(p);
    try {
      await access(p, constants.W_OK);
    } catch {
      const who = process.getuid?.() === 0 ? '' : ' (not root: run with sudo, or pass --root DIR that you own)';
      throw new KhpkgError('permission', `${p} is not writable${who}`);
    }
  }
}

/**
 * The build link's target. On `/` it is absolute, as Debian's and Fedora's packages ship it. Under
 * another root an absolute link would lead out of it, to the host's /usr/src: there it is relative,
 * computed from where `lib/modules/<rel>` really is (through a merged-/usr `lib -> usr/lib` too),
 * so `make -C <root>/lib/modules/<rel>/build` works from the host and inside a chroot alike.
 */
export function buildLinkTarget(root: string, linkRel: string, treeRel: string): string {
  if (root === '/') return `/${treeRel}`;
  const parent = realpathSync(join(root, dirname(linkRel)));
  return relative(parent, join(realpathSync(root), treeRel))
    .split(sep)
    .join('/');
}

/** Whether the link at `linkRel` (in the root) leads to `treeRel`, written either way. */
export function linkPointsAt(root: string, linkRel: string, treeRel: string): boolean {
  const abs = join(root, linkRel);
  const st = lstatSync(abs, {throwIfNoEntry: false});
  if (!st?.isSymbolicLink()) return false;
  const target = readlinkSync(abs);
  if (target === `/${treeRel}`) return true;
  if (isAbsolute(target)) return false;
  try {
    return resolve(realpathSync(dirname(abs)), target) === join(realpathSync(root), treeRel);
  } catch {
    return false;
  }
}

/** Whether the link at `linkRel` (in the root) leads to `treeRel` or somewhere inside it (a headers-only tree's `build`). */
export function linkLeadsInto(root: string, linkRel: string, treeRel: string): boolean {
  const abs = join(root, linkRel);
  const st = lstatSync(abs, {throwIfNoEntry: false});
  if (!st?.isSymbolicLink()) return false;
  const target = readlinkSync(abs);
  if (target === `/${treeRel}` || target.startsWith(`/${treeRel}/`)) return true;
  if (isAbsolute(target)) return false;
  try {
    const tree = join(realpathSync(root), treeRel);
    const to = resolve(realpathSync(dirname(abs)), target);
    return to === tree || to.startsWith(`${tree}${sep}`);
  } catch {
    return false;
  }
}
