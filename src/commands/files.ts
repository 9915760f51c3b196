import {Args} from '@oclif/core';
import {KhpkgCommand, rootFlags} from '../cli/base.js';
import {notInstalled} from '../errors.js';
import {readRegistry} from '../install/query.js';
import type {FileRecord} from '../registry/types.js';

/** `files --json`: every entry the set owns, paths absolute in the root. */
export type FilesJson = FileRecord[];

export default class Files extends KhpkgCommand {
  static override summary = 'List the files of an installed header set (like dpkg -L).';
  static override examples = ['<%= config.bin %> files 6.12.117+deb12-amd64 | grep kconfig'];
  static override args = {release: Args.string({description: 'kernel release', required: true})};
  static override flags = {...rootFlags};

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Files);
    const files = readRegistry(flags.root, (r) => (r.get(args.release) ? r.files(args.release) : undefined), undefined);
    if (!files) throw notInstalled(args.release);
    if (flags.json) return this.printJson<FilesJson>(files.map((f) => ({...f, path: `/${f.path}`})));
    this.log(files.map((f) => `/${f.path}`).join('\n'));
  }
}
