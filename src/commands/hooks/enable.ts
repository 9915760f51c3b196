import {KhpkgCommand, rootFlags} from '../../cli/base.js';
import {selfCommand} from '../../cli/self.js';
import {enableHooks} from '../../lifecycle/hooks.js';

/** `hooks enable --json`: the files written. */
export type HooksEnableJson = {written: string[]};

export default class HooksEnable extends KhpkgCommand {
  static override summary = 'Install headers when a kernel is installed or booted, remove them when it is removed.';
  static override description =
    'Writes Debian kernel hooks (/etc/kernel/postinst.d and postrm.d, before dkms), a kernel-install plugin ' +
    '(/etc/kernel/install.d, before 40-dkms.install) and khpkg.service (at boot, before dkms.service), and enables the unit.';
  static override examples = ['sudo <%= config.bin %> hooks enable', '<%= config.bin %> hooks enable --root /mnt/image'];
  static override flags = {...rootFlags};

  async run(): Promise<void> {
    const {flags} = await this.parse(HooksEnable);
    const result = await enableHooks(flags.root, selfCommand());
    if (flags.json) return this.printJson<HooksEnableJson>(result);
    if (!flags.quiet) for (const w of result.written) this.log(`wrote ${w}`);
  }
}
