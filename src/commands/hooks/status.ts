import {KhpkgCommand, rootFlags} from '../../cli/base.js';
import {hooksStatus, type HooksStatus} from '../../lifecycle/hooks.js';

/** `hooks status --json`. */
export type HooksStatusJson = HooksStatus;

export default class HooksStatusCommand extends KhpkgCommand {
  static override summary = "Whether khpkg's kernel hooks and boot unit are enabled.";
  static override examples = ['<%= config.bin %> hooks status', '<%= config.bin %> hooks status --json'];
  static override flags = {...rootFlags};

  async run(): Promise<void> {
    const {flags} = await this.parse(HooksStatusCommand);
    const status = hooksStatus(flags.root);
    if (flags.json) return this.printJson<HooksStatusJson>(status);
    for (const h of status.hooks) this.log(`${h.enabled ? 'enabled ' : 'disabled'}  ${h.name.padEnd(15)} ${h.path}`);
    this.log(status.enabled ? 'kernels get their headers when installed and at boot' : "not enabled: 'khpkg hooks enable'");
  }
}
