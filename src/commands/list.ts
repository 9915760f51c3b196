import {Args, Flags} from '@oclif/core';
import {KhpkgCommand, rootFlags} from '../cli/base.js';
import {listText} from '../cli/list-view.js';

export default class List extends KhpkgCommand {
  static override summary = 'List installed header sets (or, with --built, packages khpkg built).';
  static override examples = ['<%= config.bin %> list', '<%= config.bin %> list --json', "<%= config.bin %> list '6.1.*'", '<%= config.bin %> list --built'];
  static override args = {pattern: Args.string({description: "only releases matching this shell pattern ('6.1.*')"})};
  static override flags = {...rootFlags, built: Flags.boolean({description: 'list packages built by khpkg build instead'})};

  async run(): Promise<void> {
    const {args, flags} = await this.parse(List);
    process.stdout.write(listText(flags.root, {json: flags.json, built: flags.built, pattern: args.pattern}));
  }
}
