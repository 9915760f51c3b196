import {listed, readRegistry, type ListedSet} from '../install/query.js';
import type {BuiltArtifact} from '../registry/types.js';

/** What `khpkg list` prints, shared by the oclif command and the start-up fast path. */
export function listText(root: string, opts: {json: boolean; built: boolean}): string {
  if (opts.built) {
    const built: BuiltArtifact[] = readRegistry(root, (r) => r.artifacts(), []);
    if (opts.json) return `${JSON.stringify(built, null, 2)}\n`;
    return built.map((a) => `${a.builtAt}  ${a.format}  ${a.release}  ${a.path}\n`).join('');
  }
  const sets: ListedSet[] = readRegistry(root, (r) => r.installed().map(listed), []);
  if (opts.json) return `${JSON.stringify(sets, null, 2)}\n`;
  if (sets.length === 0) return 'no headers installed\n';
  return sets.map((s) => `${s.running ? '*' : ' '} ${s.release.padEnd(32)} ${s.version.padEnd(10)} ${s.arch.padEnd(8)} ${s.path}\n`).join('');
}
