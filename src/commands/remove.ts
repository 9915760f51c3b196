import {Args, Flags} from '@oclif/core';
import {KhpkgCommand, rootFlags, waitFlag} from '../cli/base.js';
import {removeHeaders, removalPlan, type RemoveResult} from '../install/remove.js';

/** `remove --json`: one entry per release asked for, in order. */
export type RemoveJson = (RemoveResult & {status: 'removed' | 'would-remove' | 'not-installed'})[];

export default class Remove extends KhpkgCommand {
  static override summary = 'Remove installed header sets: exactly the files khpkg installed. Absent ones: a warning, exit 0 (like apt remove).';
  static override examples = [
    'sudo <%= config.bin %> remove 6.12.117+deb12-amd64',
    '<%= config.bin %> remove 6.1.0-13-amd64 6.1.0-15-amd64 --dry-run',
    '<%= config.bin %> remove 6.1.0-test --root /tmp/sysroot --json',
  ];
  static override strict = false;
  static override args = {release: Args.string({description: 'kernel release(s) (uname -r)', required: true})};
  static override flags = {...rootFlags, ...waitFlag, 'dry-run': Flags.boolean({description: 'only say what would be removed'})};

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(Remove);
    const results: RemoveJson = [];
    for (const release of argv as string[]) {
      const plan = removalPlan(flags.root, release);
      if (!plan) {
        // Removing what is not there is done already: apt and dpkg say so and succeed, and scripts rely on it.
        process.stderr.write(`khpkg: warning: headers for ${release} are not installed; nothing to remove\n`);
        results.push({release, path: '', removed: 0, kept: [], status: 'not-installed'});
      } else if (flags['dry-run']) results.push({...plan, status: 'would-remove'});
      else results.push({...(await removeHeaders(flags.root, release, flags.wait)), status: 'removed'});
    }
    if (flags.json) return this.printJson<RemoveJson>(results);
    if (flags.quiet) return;
    for (const r of results) {
      if (r.status === 'not-installed') continue;
      if (r.ownedBy) this.log(`${r.release}: ${r.path} now belongs to the ${r.ownedBy}; khpkg forgot the set and deleted nothing`);
      else this.log(`${r.status === 'would-remove' ? 'would remove' : 'removed'} ${r.release} from ${r.path} (${r.removed} entries)`);
      if (r.kept.length > 0) {
        this.log(`${r.status === 'would-remove' ? 'would keep' : 'kept'} ${r.kept.length} file(s) khpkg did not install:`);
        for (const k of r.kept) this.log(`  /${k}`);
      }
    }
  }
}
