import {Args} from '@oclif/core';
import {KhpkgCommand, rootFlags, waitFlag} from '../cli/base.js';
import {resolveRoot} from '../install/paths.js';
import {removeHeaders} from '../install/remove.js';

export default class Remove extends KhpkgCommand {
  static override summary = 'Remove an installed header set: exactly the files khpkg installed.';
  static override examples = ['sudo <%= config.bin %> remove 6.12.117+deb12-amd64', '<%= config.bin %> remove 6.1.0-test --root /tmp/sysroot --json'];
  static override args = {release: Args.string({description: 'kernel release (uname -r)', required: true})};
  static override flags = {...rootFlags, ...waitFlag};

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Remove);
    const result = await removeHeaders(resolveRoot(flags.root), args.release, flags.wait);
    if (flags.json) return this.printJson(result);
    if (flags.quiet) return;
    this.log(`removed ${result.release} from ${result.path} (${result.removed} entries)`);
    if (result.kept.length > 0) {
      this.log(`kept ${result.kept.length} file(s) khpkg did not install:`);
      for (const k of result.kept) this.log(`  /${k}`);
    }
  }
}
