import {Flags} from '@oclif/core';
import {KhpkgCommand, rootFlags, waitFlag} from '../cli/base.js';
import {confirm} from '../cli/confirm.js';
import {KhpkgError} from '../errors.js';
import {prune, pruneBuilt, pruneCandidates} from '../install/prune.js';

/** `prune --json`: each set whose kernel is gone, and whether it was removed (not with --dry-run). */
export type PruneJson = {release: string; removed: boolean; kept: string[]}[];
/** `prune --built --json`: each built package whose file is gone. */
export type PruneBuiltJson = {path: string; forgotten: boolean}[];

export default class Prune extends KhpkgCommand {
  static override summary = 'Remove header sets whose kernel is gone (no /lib/modules/<release>/kernel or modules.dep).';
  static override examples = ['<%= config.bin %> prune --dry-run', 'sudo <%= config.bin %> prune', '<%= config.bin %> prune --built'];
  static override flags = {
    ...rootFlags,
    ...waitFlag,
    'dry-run': Flags.boolean({description: 'only say what would be removed'}),
    yes: Flags.boolean({char: 'y', description: 'remove several sets, or every set, without asking'}),
    built: Flags.boolean({description: 'forget built packages whose files are gone (see list --built)'}),
  };

  async run(): Promise<void> {
    const {flags} = await this.parse(Prune);
    const root = flags.root;
    const dryRun = flags['dry-run'];
    if (flags.built) {
      const gone = pruneBuilt(root, flags.wait, dryRun);
      if (flags.json) return this.printJson<PruneBuiltJson>(gone.map((path) => ({path, forgotten: !dryRun})));
      if (!flags.quiet) this.log(gone.length === 0 ? 'nothing to forget' : gone.map((p) => `${dryRun ? 'would forget' : 'forgot'} ${p}`).join('\n'));
      return;
    }
    const {candidates, installed} = pruneCandidates(root);
    // A root without modules (a sysroot, a container) makes every set look stale: never all at once unasked.
    if (!dryRun && !flags.yes && (candidates.length > 1 || (candidates.length > 0 && candidates.length === installed))) {
      const what = `${candidates.length} header set(s)${candidates.length === installed ? ', every one installed' : ''} (${candidates.join(', ')})`;
      if (!(await confirm(`Remove ${what}?`))) throw new KhpkgError('usage', `prune would remove ${what}: pass --yes to confirm, or --dry-run to list them`);
    }
    const pruned = await prune(root, candidates, flags.wait, dryRun);
    if (flags.json) return this.printJson<PruneJson>(pruned.map((p) => ({release: p.release, removed: Boolean(p.removed), kept: p.removed?.kept ?? []})));
    if (flags.quiet) return;
    if (pruned.length === 0) return this.log('nothing to prune');
    for (const p of pruned) this.log(`${dryRun ? 'would remove' : 'removed'} ${p.release}`);
  }
}
