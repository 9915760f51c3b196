import type {Hook} from '@oclif/core';

/**
 * `khpkg instal foo`: one line naming the closest command, exit 2, on a terminal or not (oclif's
 * not-found plugin suggests only through an interactive prompt, and not at all in scripts).
 */
const hook: Hook<'command_not_found'> = async function (opts) {
  const words = opts.id.split(':');
  const ids = opts.config.commands.filter((c) => !c.hidden).map((c) => c.id.replace(/:/g, ' '));
  const typed = words.join(' ');
  // Compare with as many words as each command has: "hooks enabel" with "hooks enable", "instal" with "install".
  const scored = ids.map((id) => ({id, d: distance(words.slice(0, id.split(' ').length).join(' '), id)})).sort((a, b) => a.d - b.d);
  const best = scored[0];
  const hint = best && best.d <= Math.max(2, Math.floor(best.id.length / 3)) ? ` Did you mean '${opts.config.bin} ${best.id}'?` : '';
  process.stderr.write(`khpkg: '${typed}' is not a khpkg command.${hint} ('${opts.config.bin} help' lists them)\n`);
  process.exit(2);
};

/** Levenshtein distance. */
function distance(a: string, b: string): number {
  let prev = Array.from({length: b.length + 1}, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

export default hook;
