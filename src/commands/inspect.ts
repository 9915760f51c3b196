import {Args} from '@oclif/core';
import {KhpkgCommand, limitFlags, limitsFrom, rootFlags, sourceArg} from '../cli/base.js';
import {progressBar} from '../cli/progress.js';
import {inspectArchive, type BtfInfo} from '../pipeline/inspect.js';
import {archiveSource, kernelFlag} from '../cli/source.js';
import type {KheadersInfo} from '../archive/info.js';

/** `inspect --json`: what the archive is, and its BTF's facts when it has some (`--btf`, the running kernel's). */
export type InspectJson = KheadersInfo & {btf?: BtfInfo; btfNote?: string};

export default class Inspect extends KhpkgCommand {
  static override summary = 'Validate a kheaders archive and show which kernel it belongs to.';
  static override examples = [
    '<%= config.bin %> inspect',
    '<%= config.bin %> inspect kheaders.tar.xz --json',
    'cat /sys/kernel/kheaders.tar.xz | <%= config.bin %> inspect -',
    '<%= config.bin %> inspect /lib/modules/6.12.0/kernel/kernel/kheaders.ko.xz',
    '<%= config.bin %> inspect --kernel 6.12.0-1-amd64',
    '<%= config.bin %> inspect kheaders.tar.xz --btf /boot/vmlinuz-6.12.0-1-amd64',
  ];
  static override args = {source: Args.string({...sourceArg, description: `${sourceArg.description}; several: one kernel's packages`})};
  /** SOURCE...: one kernel's packages. */
  static override strict = false;
  static override flags = {...limitFlags, ...kernelFlag, ...rootFlags};

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(Inspect);
    const limits = limitsFrom(flags);
    const source = await archiveSource(argv as string[], flags, flags.root, limits);
    const progress = progressBar(!flags.json && !flags.quiet);
    const info = await inspectArchive(source, limits, progress.onProgress).finally(progress.done);
    if (flags.json) return this.printJson<InspectJson>(info);
    if (flags.quiet) return;
    const rows: [string, string][] = [
      ['release', info.release],
      ['version', info.version],
      ['srcarch', info.srcarch],
      ['debArch', info.debArch],
      ['rpmArch', info.rpmArch],
      ['compiler', info.compiler ?? '(not recorded)'],
      ['files', String(info.files)],
      ['bytes', String(info.bytes)],
      ['sha256', info.sha256],
      ['cflags', info.consumerCflags.length > 0 ? info.consumerCflags.join(' ') : '(none beyond include paths)'],
    ];
    const {btf} = info;
    if (btf) rows.push(['btf', `${btf.types} types, ${btf.bytes} bytes, from ${btf.source} (${btf.from}), sha256 ${btf.sha256}`]);
    for (const [k, v] of rows) this.log(`${k.padEnd(9)} ${v}`);
    if (btf?.note) this.log(`note: ${btf.note}`);
    if (info.btfNote) this.log(`note: ${info.btfNote}`);
  }
}
