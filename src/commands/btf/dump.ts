import {Args, Flags} from '@oclif/core';
import {KhpkgCommand, limitFlags, limitsFrom} from '../../cli/base.js';
import {runBtfDump} from '../../cli/btf-dump.js';
import {KhpkgError} from '../../errors.js';

/** `btf dump --json` (with `-o`): what was read and written. */
export interface BtfDumpJson {
  source: string;
  from: string;
  release?: string;
  types: number;
  sha256: string;
  out: string;
  bytes: number;
}

export default class BtfDump extends KhpkgCommand {
  static override summary = "Write a kernel's vmlinux.h from its BTF, as `bpftool btf dump file F format c` does (the same bytes).";
  static override description =
    'SOURCE: a kernel image (bzImage, arm64 Image, EFI zboot, compressed whole), a vmlinux, raw BTF, or a kernel package ' +
    "(its image); default the running kernel's /sys/kernel/btf/vmlinux. For machines with no bpftool.";
  static override examples = [
    '<%= config.bin %> btf dump > vmlinux.h',
    '<%= config.bin %> btf dump /boot/vmlinuz-6.12.0-1-arm64 -o vmlinux.h',
    '<%= config.bin %> btf dump linux-image-6.12.0-1-amd64_6.12.5-1_amd64.deb -o vmlinux.h --json',
  ];
  static override args = {source: Args.string({description: "kernel image, vmlinux, raw BTF or kernel package (default: the running kernel's BTF)"})};
  static override flags = {
    ...limitFlags,
    out: Flags.string({char: 'o', description: 'write vmlinux.h here (default: stdout)'}),
  };

  async run(): Promise<void> {
    const {args, flags} = await this.parse(BtfDump);
    if (flags.json && flags.out === undefined) throw new KhpkgError('usage', '--json needs --out FILE: without it vmlinux.h itself goes to stdout');
    const r = await runBtfDump(args.source, flags.out, limitsFrom(flags));
    if (flags.out === undefined) return;
    if (flags.json) return this.printJson<BtfDumpJson>({...r.facts, out: flags.out, bytes: r.bytes});
    if (!flags.quiet) this.log(r.said);
  }
}
