import {KhpkgCommand, rootFlags} from '../cli/base.js';
import {resolveRoot} from '../install/paths.js';
import {kernelStatus} from '../install/status.js';

export default class Status extends KhpkgCommand {
  static override summary = "The running kernel: does it carry kheaders, are its headers installed and current, what to run if not.";
  static override examples = ['<%= config.bin %> status', '<%= config.bin %> status --json'];
  static override flags = {...rootFlags};

  async run(): Promise<void> {
    const {flags} = await this.parse(Status);
    const s = kernelStatus(resolveRoot(flags.root));
    if (flags.json) return this.printJson(s);
    this.log(`running kernel  ${s.release}`);
    this.log(`kheaders        ${s.kheaders}`);
    this.log(`config          ${s.config ? 'present' : 'absent'}`);
    this.log(`headers         ${s.installed ? (s.current === null ? 'installed' : s.current ? 'installed, current' : 'installed, OUT OF DATE') : 'not installed'}`);
    this.log(s.advice);
  }
}
