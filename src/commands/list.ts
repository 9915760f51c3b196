import {Flags} from '@oclif/core';
import {KhpkgCommand, rootFlags} from '../cli/base.js';
import {listed, readRegistry} from '../install/query.js';
import {resolveRoot} from '../install/paths.js';

export default class List extends KhpkgCommand {
  static override summary = 'List installed header sets (or, with --built, packages khpkg built).';
  static override examples = ['<%= config.bin %> list', '<%= config.bin %> list --json', '<%= config.bin %> list --built'];
  static override flags = {...rootFlags, built: Flags.boolean({description: 'list packages built by khpkg build instead'})};

  async run(): Promise<void> {
    const {flags} = await this.parse(List);
    const root = resolveRoot(flags.root);
    if (flags.built) {
      const built = readRegistry(root, (r) => r.artifacts(), []);
      if (flags.json) return this.printJson(built);
      for (const a of built) this.log(`${a.builtAt}  ${a.format}  ${a.release}  ${a.path}`);
      return;
    }
    const sets = readRegistry(root, (r) => r.installed().map(listed), []);
    if (flags.json) return this.printJson(sets);
    if (sets.length === 0) return this.log('no headers installed');
    for (const s of sets) this.log(`${s.running ? '*' : ' '} ${s.release.padEnd(32)} ${s.version.padEnd(10)} ${s.arch.padEnd(8)} ${s.path}`);
  }
}
