import {lstatSync, readdirSync, rmdirSync, unlinkSync} from 'node:fs';
import {join} from 'node:path';
import {SHARED_DIRS} from '../content/headers.js';
import type {FileRecord, HeaderSet} from '../registry/types.js';
import {inRoot, linkLeadsInto} from '../root/paths.js';

/**
 * Removes exactly what the registry lists: files and links, then directories left empty, deepest
 * first. The links in /lib/modules/<rel> go only if they still lead into this set's tree. Idempotent, so a remove
 * cut short by a crash is finished by running it again. Returns what was kept: files under the tree
 * that khpkg did not install.
 */
export function removeRecordedFiles(root: string, set: HeaderSet, files: FileRecord[]): {removed: number; kept: string[]} {
  let removed = 0;
  for (const f of files) {
    if (f.type === 'dir') continue;
    const abs = inRoot(root, f.path);
    const st = lstatSync(abs, {throwIfNoEntry: false});
    if (!st) continue;
    if (f.type === 'symlink' && !f.path.startsWith(`${set.path}/`)) {
      // A link in /lib/modules/<rel>: someone may have pointed it at other headers since.
      if (!linkLeadsInto(root, f.path, set.path)) continue;
    }
    if (st.isDirectory()) continue;
    unlinkSync(abs);
    removed++;
  }
  const kept = leftovers(root, set.path);
  // Shared system dirs are never a set's, even where an old registry listed them.
  const dirs = files
    .filter((f) => f.type === 'dir' && !SHARED_DIRS.has(f.path))
    .sort((a, b) => b.path.split('/').length - a.path.split('/').length || (a.path < b.path ? 1 : -1));
  for (const d of dirs) {
    try {
      rmdirSync(inRoot(root, d.path));
      removed++;
    } catch {
      // not empty (shared with others, or holding a user's files) or already gone: keep it
    }
  }
  return {removed, kept};
}

/** Files under the tree (after our files went: a user's, to be kept and reported). */
export function leftovers(root: string, treeRel: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    let names: string[];
    try {
      names = readdirSync(inRoot(root, rel));
    } catch {
      return;
    }
    for (const n of names.sort()) {
      const child = `${rel}/${n}`;
      const st = lstatSync(join(root, child));
      if (st.isDirectory()) walk(child);
      else out.push(child);
    }
  };
  walk(treeRel);
  return out;
}
