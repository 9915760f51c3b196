import {KhpkgCommand, rootFlags} from '../cli/base.js';
import {statusView} from '../cli/views.js';

export type {StatusJson} from '../cli/views.js';

export default class Status extends KhpkgCommand {
  static override summary = 'The running kernel: does it carry kheaders, are its headers installed and current, what to run if not.';
  static override examples = ['<%= config.bin %> status', '<%= config.bin %> status --json'];
  static override flags = {...rootFlags};

  async run(): Promise<void> {
    const {flags} = await this.parse(Status);
    this.show(statusView(flags.root, flags.json));
  }
}
