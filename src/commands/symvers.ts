import {writeFile} from 'node:fs/promises';
import {Args, Flags} from '@oclif/core';
import {KhpkgCommand} from '../cli/base.js';
import {reconstructSymvers} from '../kbuild/symvers.js';

export default class Symvers extends KhpkgCommand {
  static override summary = "Rebuild a kernel's Module.symvers from its installed modules (their __versions and export tables).";
  static override description =
    'Covers every symbol a module exports and every vmlinux export some module uses. Without a System.map (or /proc/kallsyms) ' +
    'vmlinux exports are written as EXPORT_SYMBOL: modpost then cannot tell GPL-only ones, the kernel still does at load.';
  static override examples = [
    '<%= config.bin %> symvers /lib/modules/$(uname -r) -o Module.symvers',
    '<%= config.bin %> symvers /lib/modules/6.12.117+deb12-amd64 --system-map /boot/System.map-6.12.117+deb12-amd64 --json',
  ];
  static override args = {modules: Args.string({description: 'the kernel modules directory (/lib/modules/<release>)', required: true})};
  static override flags = {
    out: Flags.string({char: 'o', description: 'write Module.symvers here (default: stdout)'}),
    'system-map': Flags.string({description: 'System.map or kallsyms: which vmlinux exports are GPL-only'}),
  };

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Symvers);
    const r = await reconstructSymvers(args.modules, {systemMap: flags['system-map']});
    if (flags.out !== undefined) await writeFile(flags.out, r.text);
    const summary = {symbols: r.symbols, fromModules: r.fromModules, fromVmlinux: r.fromVmlinux, modules: r.modules, systemMap: r.systemMap};
    if (flags.json) return this.printJson(flags.out === undefined ? {...summary, text: r.text} : summary);
    if (flags.out === undefined) process.stdout.write(r.text);
    if (!flags.quiet) {
      process.stderr.write(
        `${r.symbols} symbols from ${r.modules} modules: ${r.fromModules} exported by modules, ${r.fromVmlinux} by vmlinux${r.systemMap ? '' : ' (GPL-only flags unknown: written as EXPORT_SYMBOL)'}\n`,
      );
    }
  }
}
