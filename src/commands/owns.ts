import {Args} from '@oclif/core';
import {KhpkgCommand, rootFlags} from '../cli/base.js';
import {KhpkgError} from '../errors.js';
import {readRegistry} from '../install/query.js';
import {rootRelative} from '../install/verify.js';
import type {EntryType} from '../archive/entry.js';

/** `owns --json`: each set that lists the path. */
export type OwnsJson = {release: string; path: string; type: EntryType}[];

export default class Owns extends KhpkgCommand {
  static override summary = 'Which installed header set a path belongs to (like dpkg -S); exit 1 if none.';
  static override examples = ['<%= config.bin %> owns /usr/src/linux-headers-6.12.117+deb12-amd64/include/linux/kconfig.h'];
  static override args = {path: Args.string({description: 'a path, absolute (or under --root)', required: true})};
  static override flags = {...rootFlags};

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Owns);
    const root = flags.root;
    const rel = rootRelative(root, args.path);
    const owners = readRegistry(root, (r) => r.owners(rel), []);
    if (flags.json) this.printJson<OwnsJson>(owners.map((o) => ({release: o.release, path: `/${o.file.path}`, type: o.file.type})));
    else for (const o of owners) this.log(`${o.release}: /${o.file.path}`);
    if (owners.length === 0) throw new KhpkgError('not-owned', `/${rel} belongs to no installed header set`);
  }
}
