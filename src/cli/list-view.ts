import {existsSync} from 'node:fs';
import {listed, readRegistry, type ListedSet} from '../install/query.js';
import type {BuiltArtifact} from '../registry/types.js';

/** A package khpkg built, and whether its file is still there (`prune --built` forgets those gone). */
export interface ListedArtifact extends BuiltArtifact {
  present: boolean;
}

/** What `khpkg list` prints, shared by the oclif command and the start-up fast path. */
export function listText(root: string, opts: {json: boolean; built: boolean; pattern?: string}): string {
  if (opts.built) {
    const built: ListedArtifact[] = readRegistry(root, (r) => r.artifacts(), []).map((a) => ({...a, present: existsSync(a.path)}));
    if (opts.json) return `${JSON.stringify(built, null, 2)}\n`;
    return built.map((a) => `${a.builtAt}  ${a.format}  ${a.release}  ${a.path}${a.present ? '' : '  (file gone)'}\n`).join('');
  }
  const match = opts.pattern === undefined ? () => true : releaseMatcher(opts.pattern);
  const sets: ListedSet[] = readRegistry(
    root,
    (r) =>
      r
        .installed()
        .filter((s) => match(s.release))
        .map((s) => listed(s, root)),
    [],
  );
  if (opts.json) return `${JSON.stringify(sets, null, 2)}\n`;
  if (sets.length === 0) return opts.pattern === undefined ? 'no headers installed\n' : `no installed headers match '${opts.pattern}'\n`;
  return sets.map((s) => `${s.running ? '*' : ' '} ${s.release.padEnd(32)} ${s.version.padEnd(10)} ${s.arch.padEnd(8)} ${s.path}\n`).join('');
}

/** `list PATTERN`: a shell pattern over releases (`6.1.*`), or a plain release. */
function releaseMatcher(pattern: string): (release: string) => boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
  return (release) => re.test(release);
}
