import {KhpkgCommand, rootFlags} from '../../cli/base.js';
import {disableHooks} from '../../lifecycle/hooks.js';

/** `hooks disable --json`: the files removed. */
export type HooksDisableJson = {removed: string[]};

export default class HooksDisable extends KhpkgCommand {
  static override summary = "Remove khpkg's kernel hooks and boot unit (installed headers stay).";
  static override examples = ['sudo <%= config.bin %> hooks disable'];
  static override flags = {...rootFlags};

  async run(): Promise<void> {
    const {flags} = await this.parse(HooksDisable);
    const result = await disableHooks(flags.root);
    if (flags.json) return this.printJson<HooksDisableJson>(result);
    if (flags.quiet) return;
    if (result.removed.length === 0) this.log('no khpkg hooks were enabled');
    for (const r of result.removed) this.log(`removed ${r}`);
  }
}
