import {Args} from '@oclif/core';
import {KhpkgCommand, rootFlags} from '../cli/base.js';
import {notInstalled} from '../errors.js';
import {readRegistry} from '../install/query.js';
import {describeKbuild} from '../cli/kbuild.js';
import type {HeaderSet} from '../registry/types.js';

/** `info --json`: the registry's whole record of the set. */
export type InfoJson = HeaderSet;

export default class Info extends KhpkgCommand {
  static override summary = 'Show everything the registry knows about an installed header set.';
  static override examples = ['<%= config.bin %> info 6.12.117+deb12-amd64 --json'];
  static override args = {release: Args.string({description: 'kernel release', required: true})};
  static override flags = {...rootFlags};

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Info);
    const set = readRegistry(flags.root, (r) => r.get(args.release), undefined);
    if (!set) throw notInstalled(args.release);
    if (flags.json) return this.printJson<InfoJson>(set);
    const {kbuild, ...plain} = set;
    for (const [k, v] of Object.entries(plain)) this.log(`${k.padEnd(13)} ${v}`);
    if (kbuild) this.log(`${'kbuild'.padEnd(13)} ${describeKbuild(kbuild).replace(/^module-build tree: /, '')} (source ${kbuild.source})`);
  }
}
