import {Args} from '@oclif/core';
import {KhpkgCommand, rootFlags} from '../cli/base.js';
import {filesView} from '../cli/views.js';

export type {FilesJson} from '../cli/views.js';

export default class Files extends KhpkgCommand {
  static override summary = 'List the files of an installed header set (like dpkg -L).';
  static override examples = ['<%= config.bin %> files 6.12.117+deb12-amd64 | grep kconfig'];
  static override args = {release: Args.string({description: 'kernel release', required: true})};
  static override flags = {...rootFlags};

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Files);
    this.show(filesView(flags.root, args.release, flags.json));
  }
}
