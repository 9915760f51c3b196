import {Args} from '@oclif/core';
import {KhpkgCommand, rootFlags, waitFlag} from '../cli/base.js';
import {removeHeaders} from '../install/remove.js';
import type {RemoveResult} from '../install/remove.js';

/** `remove --json`: what was removed, and what was kept. */
export type RemoveJson = RemoveResult;

export default class Remove extends KhpkgCommand {
  static override summary = 'Remove an installed header set: exactly the files khpkg installed.';
  static override examples = ['sudo <%= config.bin %> remove 6.12.117+deb12-amd64', '<%= config.bin %> remove 6.1.0-test --root /tmp/sysroot --json'];
  static override args = {release: Args.string({description: 'kernel release (uname -r)', required: true})};
  static override flags = {...rootFlags, ...waitFlag};

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Remove);
    const result = await removeHeaders(flags.root, args.release, flags.wait);
    if (flags.json) return this.printJson<RemoveJson>(result);
    if (flags.quiet) return;
    if (result.ownedBy) return this.log(`${result.release}: ${result.path} now belongs to the ${result.ownedBy}; khpkg forgot the set and deleted nothing`);
    this.log(`removed ${result.release} from ${result.path} (${result.removed} entries)`);
    if (result.kept.length > 0) {
      this.log(`kept ${result.kept.length} file(s) khpkg did not install:`);
      for (const k of result.kept) this.log(`  /${k}`);
    }
  }
}
