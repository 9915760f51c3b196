import {Args} from '@oclif/core';
import {KhpkgCommand, rootFlags} from '../cli/base.js';
import {verifyView} from '../cli/views.js';

export type {VerifyJson} from '../cli/views.js';

export default class Verify extends KhpkgCommand {
  static override summary = 'Check installed headers against the registry (like rpm -V); exit 1 when anything differs.';
  static override examples = ['<%= config.bin %> verify', '<%= config.bin %> verify 6.12.117+deb12-amd64 6.1.0-13-amd64 --json'];
  static override strict = false;
  static override args = {release: Args.string({description: 'kernel release(s) (default: every installed set)'})};
  static override flags = {...rootFlags};

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(Verify);
    this.show(verifyView(flags.root, argv as string[], flags.json));
  }
}
