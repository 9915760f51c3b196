import {Args} from '@oclif/core';
import {KhpkgCommand, rootFlags} from '../cli/base.js';
import {readRegistry} from '../install/query.js';
import {verifyHeaders} from '../install/verify.js';
import type {Problem} from '../install/verify.js';

/** `verify --json`: every difference found; empty when clean. */
export type VerifyJson = Problem[];

export default class Verify extends KhpkgCommand {
  static override summary = 'Check installed headers against the registry (like rpm -V); exit 1 when anything differs.';
  static override examples = ['<%= config.bin %> verify', '<%= config.bin %> verify 6.12.117+deb12-amd64 --json'];
  static override args = {release: Args.string({description: 'kernel release (default: every installed set)'})};
  static override flags = {...rootFlags};

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Verify);
    const root = flags.root;
    const problems = readRegistry(root, (r) => verifyHeaders(root, r, args.release), []);
    if (flags.json) this.printJson<VerifyJson>(problems);
    else for (const p of problems) this.log(`${p.problem.padEnd(15)} ${p.path} (${p.detail})`);
    if (problems.length > 0) this.exit(1);
  }
}
