import {createHash} from 'node:crypto';
import {existsSync, lstatSync, readFileSync, readlinkSync, realpathSync, statSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {notInstalled} from '../errors.js';
import type {Registry} from '../registry/registry.js';
import type {FileRecord} from '../registry/types.js';
import {inRoot} from '../root/paths.js';

export type ProblemKind = 'missing' | 'changed-content' | 'changed-mode' | 'changed-type' | 'changed-link' | 'broken-link';

export interface Problem {
  release: string;
  path: string;
  problem: ProblemKind;
  detail: string;
}

/**
 * The quick look an install of the same headers takes: types, modes, sizes and link targets of
 * every recorded entry, without reading any file (a full rehash is `verify`'s job).
 */
export function quickCheck(root: string, files: readonly FileRecord[]): number {
  return files.filter((f) => checkFile(root, f, false) !== undefined).length;
}

/** Like `rpm -V`/debsums: every recorded file against the disk. An empty list means clean. */
export function verifyHeaders(root: string, registry: Registry, releases: readonly string[] = []): Problem[] {
  const sets = releases.length === 0 ? registry.installed() : releases.map((r) => registry.get(r) ?? throwNotInstalled(r));
  const problems: Problem[] = [];
  for (const set of sets) {
    for (const f of registry.files(set!.release)) {
      const p = checkFile(root, f);
      if (p) problems.push({release: set!.release, path: inRoot(root, f.path), ...p});
    }
  }
  return problems;
}

function throwNotInstalled(release: string): never {
  throw notInstalled(release);
}

function checkFile(root: string, f: FileRecord, hash = true): Omit<Problem, 'release' | 'path'> | undefined {
  const abs = inRoot(root, f.path);
  const st = lstatSync(abs, {throwIfNoEntry: false});
  if (!st) return {problem: 'missing', detail: `${f.type} is missing`};
  const type = st.isSymbolicLink() ? 'symlink' : st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
  // A merged-/usr root has `lib -> usr/lib` where the set recorded the directory `lib`: the same place.
  if (f.type === 'dir' && type === 'symlink' && statSync(abs, {throwIfNoEntry: false})?.isDirectory()) return undefined;
  if (type !== f.type) return {problem: 'changed-type', detail: `was a ${f.type}, is a ${type}`};
  if (f.type === 'symlink') {
    const target = readlinkSync(abs);
    if (target !== f.linkTarget) return {problem: 'changed-link', detail: `points at ${target}, not ${f.linkTarget}`};
    // Absolute targets are inside the root; relative ones beside the link, where it really is.
    const resolved = target.startsWith('/') ? join(root, target) : join(realpathSync(dirname(abs)), target);
    if (!existsSync(resolved)) return {problem: 'broken-link', detail: `target ${target} does not exist`};
    return undefined;
  }
  if ((st.mode & 0o7777) !== f.mode) {
    return {problem: 'changed-mode', detail: `mode ${(st.mode & 0o7777).toString(8)}, expected ${f.mode.toString(8)}`};
  }
  if (f.type === 'file') {
    if (st.size !== f.size) return {problem: 'changed-content', detail: `size ${st.size}, expected ${f.size}`};
    if (!hash) return undefined;
    const sha = createHash('sha256').update(readFileSync(abs)).digest('hex');
    if (sha !== f.sha256) return {problem: 'changed-content', detail: 'sha256 differs'};
  }
  return undefined;
}
