import {mustRun} from './run.js';

/** The include flags BCC and samples/bpf use (research/clients.md), against a headers tree. */
export function bpfFlags(kdir: string, arch = 'x86'): string[] {
  return [
    '-nostdinc',
    '-isystem',
    mustRun('clang', ['-print-file-name=include']).trim(),
    ...[
      `arch/${arch}/include`,
      `arch/${arch}/include/generated`,
      'include',
      `arch/${arch}/include/uapi`,
      `arch/${arch}/include/generated/uapi`,
      'include/uapi',
      'include/generated/uapi',
    ].map((d) => `-I${kdir}/${d}`),
    '-include',
    `${kdir}/include/linux/kconfig.h`,
    '-D__KERNEL__',
    '-D__BPF_TRACING__',
    '-fno-stack-protector',
    '-Wno-unused-value',
    '-Wno-pointer-sign',
    '-Wno-gnu-variable-sized-type-not-at-end',
    '-Wno-address-of-packed-member',
    '-Wno-compare-distinct-pointer-types',
    '-Wno-tautological-compare',
    '-Wno-unknown-warning-option',
  ];
}

/**
 * A CO-RE kprobe as libbpf-tools write them: vmlinux.h alone for the kernel's types, libbpf's
 * headers for the rest; `body` is the probe's, given the current task as `t`.
 */
export function coreProgram(body: string): string {
  return `#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
char LICENSE[] SEC("license") = "GPL";
SEC("kprobe/do_nanosleep")
int probe(void *ctx)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
${body}}
`;
}
