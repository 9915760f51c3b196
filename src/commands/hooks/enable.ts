import {Flags} from '@oclif/core';
import {KhpkgCommand, rootFlags} from '../../cli/base.js';
import {selfCommand} from '../../cli/self.js';
import {enableHooks} from '../../lifecycle/hooks.js';

/** `hooks enable --json`: the files written; `adminDisabled` when --unless-admin-disabled found the admin's 'hooks disable'. */
export type HooksEnableJson = {written: string[]; adminDisabled?: boolean};

export default class HooksEnable extends KhpkgCommand {
  static override summary = 'Install headers when a kernel is installed or booted, remove them when it is removed.';
  static override description =
    'Writes Debian kernel hooks (/etc/kernel/postinst.d and postrm.d: a module-build tree before dkms, a headers-only one after it), ' +
    'kernel-install plugins (/etc/kernel/install.d, around 40-dkms.install) and khpkg.service (at boot, before dkms.service), and enables the unit.';
  static override examples = ['sudo <%= config.bin %> hooks enable', '<%= config.bin %> hooks enable --root /mnt/image'];
  static override flags = {
    ...rootFlags,
    // What khpkg's own package runs on every install, reinstall and upgrade: an admin's 'hooks disable' holds.
    'unless-admin-disabled': Flags.boolean({hidden: true, description: "do nothing if the admin ran 'khpkg hooks disable'"}),
  };

  async run(): Promise<void> {
    const {flags} = await this.parse(HooksEnable);
    const result = await enableHooks(flags.root, selfCommand(), {unlessAdminDisabled: flags['unless-admin-disabled']});
    if (flags.json) return this.printJson<HooksEnableJson>(result);
    if (flags.quiet) return;
    if (result.adminDisabled) this.log("khpkg: the kernel hooks stay off, as 'khpkg hooks disable' left them ('khpkg hooks enable' turns them on)");
    for (const w of result.written) this.log(`wrote ${w}`);
  }
}
