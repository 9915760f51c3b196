import {Args} from '@oclif/core';
import {KhpkgCommand, rootFlags} from '../cli/base.js';
import {ownsView} from '../cli/views.js';

export type {OwnsJson} from '../cli/views.js';

export default class Owns extends KhpkgCommand {
  static override summary = 'Which installed header set a path belongs to (like dpkg -S); exit 1 if none.';
  static override description = 'PATH may be relative, lead through the build link, or be a shell pattern (quote it): * matches across /, as in dpkg -S.';
  static override examples = [
    '<%= config.bin %> owns /usr/src/linux-headers-6.12.117+deb12-amd64/include/linux/kconfig.h',
    '<%= config.bin %> owns /lib/modules/$(uname -r)/build/include/linux/sched.h',
    "<%= config.bin %> owns '*/linux/sched.h'",
  ];
  static override args = {path: Args.string({description: 'a path (relative, absolute, or under --root) or a shell pattern', required: true})};
  static override flags = {...rootFlags};

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Owns);
    this.show(ownsView(flags.root, args.path, flags.json));
  }
}
