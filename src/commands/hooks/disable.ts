import {Flags} from '@oclif/core';
import {KhpkgCommand, rootFlags} from '../../cli/base.js';
import {readRegistry} from '../../install/query.js';
import {disableHooks} from '../../lifecycle/hooks.js';

/** `hooks disable --json`: the files removed. */
export type HooksDisableJson = {removed: string[]};

export default class HooksDisable extends KhpkgCommand {
  static override summary = "Remove khpkg's kernel hooks and boot unit (installed headers stay); remembered until 'hooks enable'.";
  static override examples = ['sudo <%= config.bin %> hooks disable'];
  static override flags = {
    ...rootFlags,
    // What khpkg's own package runs when it is removed: not the admin's choice, so not remembered.
    'package-removal': Flags.boolean({hidden: true, description: "khpkg's package is being removed: do not remember this as the admin's choice"}),
  };

  async run(): Promise<void> {
    const {flags} = await this.parse(HooksDisable);
    const packageRemoval = flags['package-removal'];
    const setsKhpkgInstalled = packageRemoval
      ? readRegistry(flags.root, (r) => r.installed().filter((s) => (s.via ?? 'khpkg') === 'khpkg'), []).map((s) => s.release)
      : undefined;
    const result = await disableHooks(flags.root, {packageRemoval, setsKhpkgInstalled});
    if (flags.json) return this.printJson<HooksDisableJson>(result);
    if (flags.quiet) return;
    if (result.removed.length === 0) this.log('no khpkg hooks were enabled');
    for (const r of result.removed) this.log(`removed ${r}`);
  }
}
