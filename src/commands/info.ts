import {Args} from '@oclif/core';
import {KhpkgCommand, rootFlags} from '../cli/base.js';
import {infoView} from '../cli/views.js';

export type {InfoJson} from '../cli/views.js';

export default class Info extends KhpkgCommand {
  static override summary = 'Show everything the registry knows about an installed header set.';
  static override examples = ['<%= config.bin %> info 6.12.117+deb12-amd64 --json'];
  static override args = {release: Args.string({description: 'kernel release', required: true})};
  static override flags = {...rootFlags};

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Info);
    this.show(infoView(flags.root, args.release, flags.json));
  }
}
