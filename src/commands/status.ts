import {KhpkgCommand, rootFlags} from '../cli/base.js';
import {kernelStatus} from '../install/status.js';
import type {KernelStatus} from '../install/status.js';

/** `status --json`: the running kernel and its headers. */
export type StatusJson = KernelStatus;

export default class Status extends KhpkgCommand {
  static override summary = 'The running kernel: does it carry kheaders, are its headers installed and current, what to run if not.';
  static override examples = ['<%= config.bin %> status', '<%= config.bin %> status --json'];
  static override flags = {...rootFlags};

  async run(): Promise<void> {
    const {flags} = await this.parse(Status);
    const s = kernelStatus(flags.root);
    if (flags.json) return this.printJson<StatusJson>(s);
    this.log(`running kernel  ${s.release}`);
    this.log(`kheaders        ${s.kheaders}`);
    this.log(`config          ${s.config ? 'present' : 'absent'}`);
    this.log(
      `headers         ${s.installed ? (s.current === null ? 'installed' : s.current ? 'installed, current' : 'installed, OUT OF DATE') : 'not installed'}`,
    );
    this.log(s.advice);
  }
}
