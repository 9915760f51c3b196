import {Flags} from '@oclif/core';
import {KhpkgCommand, rootFlags, waitFlag} from '../cli/base.js';
import {resolveRoot} from '../install/paths.js';
import {prune} from '../install/prune.js';

export default class Prune extends KhpkgCommand {
  static override summary = 'Remove header sets whose kernel is gone (no /lib/modules/<release>/kernel or modules.dep).';
  static override examples = ['<%= config.bin %> prune --dry-run', 'sudo <%= config.bin %> prune'];
  static override flags = {...rootFlags, ...waitFlag, 'dry-run': Flags.boolean({description: 'only say what would be removed'})};

  async run(): Promise<void> {
    const {flags} = await this.parse(Prune);
    const pruned = await prune(resolveRoot(flags.root), flags.wait, flags['dry-run']);
    if (flags.json) return this.printJson(pruned.map((p) => ({release: p.release, removed: Boolean(p.removed), kept: p.removed?.kept ?? []})));
    if (flags.quiet) return;
    if (pruned.length === 0) return this.log('nothing to prune');
    for (const p of pruned) this.log(`${flags['dry-run'] ? 'would remove' : 'removed'} ${p.release}`);
  }
}
