import {existsSync} from 'node:fs';
import {listed, readRegistry, type ListedSet} from '../install/query.js';
import type {BuiltArtifact} from '../registry/types.js';

/** A package khpkg built, and whether its file is still there (`prune --built` forgets those gone). */
export interface ListedArtifact extends BuiltArtifact {
  present: boolean;
}

/** What `khpkg list` prints, shared by the oclif command and the start-up fast path. */
export function listText(root: string, opts: {json: boolean; built: boolean}): string {
  if (opts.built) {
    const built: ListedArtifact[] = readRegistry(root, (r) => r.artifacts(), []).map((a) => ({...a, present: existsSync(a.path)}));
    if (opts.json) return `${JSON.stringify(built, null, 2)}\n`;
    return built.map((a) => `${a.builtAt}  ${a.format}  ${a.release}  ${a.path}${a.present ? '' : '  (file gone)'}\n`).join('');
  }
  const sets: ListedSet[] = readRegistry(root, (r) => r.installed().map(listed), []);
  if (opts.json) return `${JSON.stringify(sets, null, 2)}\n`;
  if (sets.length === 0) return 'no headers installed\n';
  return sets.map((s) => `${s.running ? '*' : ' '} ${s.release.padEnd(32)} ${s.version.padEnd(10)} ${s.arch.padEnd(8)} ${s.path}\n`).join('');
}
