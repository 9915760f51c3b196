import assert from 'node:assert/strict';
import {mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {REAL} from '../helpers/kheaders.js';
import {dkmsBuildArgs, writeHello} from '../helpers/module.js';
import {bpfFlags} from '../helpers/bpf.js';
import {khpkg, mustRun, scratch, tool} from '../helpers/run.js';

const PROGRAM = `#include <linux/sched.h>
#include <linux/ptrace.h>
#define SEC(n) __attribute__((section(n), used))
static long (*bpf_probe_read_kernel)(void *dst, __u32 size, const void *src) = (void *)113;
static __u64 (*bpf_get_current_task)(void) = (void *)35;
SEC("kprobe/do_nanosleep") int probe(struct pt_regs *ctx) {
  struct task_struct *t = (struct task_struct *)bpf_get_current_task();
  pid_t tgid = 0; u64 start = 0;
  bpf_probe_read_kernel(&tgid, sizeof(tgid), &t->tgid);
  bpf_probe_read_kernel(&start, sizeof(start), &t->start_time);
  return tgid + (int)start; }
char _license[] SEC("license") = "GPL";
int off_tgid = __builtin_offsetof(struct task_struct, tgid);
_Static_assert(sizeof(struct task_struct) > 1000, "task_struct too small");
`;

const BCC = `import struct, sys
from bcc import BPF
b = BPF(text=r'''#include <linux/sched.h>
int probe(void *ctx) {
  struct task_struct *t = (struct task_struct *)bpf_get_current_task();
  return t->tgid;
}''')
insns = b.dump_func("probe")  # compiled, nothing loaded
print(" ".join(str(struct.unpack_from("<i", insns, i + 4)[0]) for i in range(0, len(insns), 8)))
`;

describe('consumers: clang, BCC and bpftrace compile against the installed headers', function () {
  const s = scratch();
  const root = join(s.dir, 'root');
  const kdir = join(root, `usr/src/linux-headers-${REAL.release}`);
  /** offsetof(struct task_struct, tgid) as the tree itself gives it (clang's IR). */
  let offset = 0;
  before(() => {
    mkdirSync(root);
    assert.equal(khpkg(['install', REAL.archive, '--config', REAL.config, '--root', root, '-q']).code, 0);
    writeFileSync(join(s.dir, 'task.bpf.c'), PROGRAM);
  });
  after(() => s.cleanup());

  it('host-target clang -emit-llvm then llc -march=bpf gives a kprobe object; the layout comes from the tree', () => {
    const bc = join(s.dir, 'task.bc');
    const obj = join(s.dir, 'task.bpf.o');
    mustRun('clang', ['-O2', '-emit-llvm', '-c', join(s.dir, 'task.bpf.c'), '-o', bc, ...bpfFlags(kdir)]);
    mustRun('llc', ['-march=bpf', '-filetype=obj', '-o', obj, bc]);
    assert.match(mustRun('llvm-objdump', ['-h', obj]), /kprobe\/do_nanosleep/);
    const ir = mustRun('clang', ['-O2', '-S', '-emit-llvm', '-o', '-', join(s.dir, 'task.bpf.c'), ...bpfFlags(kdir)]);
    offset = Number(/@off_tgid = [^\n]*i32 (\d+)/.exec(ir)?.[1]);
    assert.ok(offset > 1000 && offset < 8000, `offsetof(struct task_struct, tgid) = ${offset}`);
  });

  it('the source link leads to that tree (build to its headers-only dir), and the same compile fails without the tree (it really was used)', () => {
    // Under a --root the links are relative, so from the host they lead into the tree inside the root.
    assert.equal(mustRun('readlink', ['-f', join(root, 'lib/modules', REAL.release, 'source')]).trim(), kdir);
    assert.equal(mustRun('readlink', ['-f', join(root, 'lib/modules', REAL.release, 'build')]).trim(), join(kdir, 'headers-only'));
    const empty = join(s.dir, 'empty');
    mkdirSync(empty);
    const missing = tool('clang', ['-O2', '-S', '-emit-llvm', '-o', '/dev/null', join(s.dir, 'task.bpf.c'), ...bpfFlags(empty)]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /kconfig\.h' file not found/);
  });

  it("BCC (python3-bpfcc) compiles a map-less program from the tree alone: its bytecode holds the tree's offset", () => {
    assert.ok(offset > 0, 'the clang test ran first');
    const tmp = join(s.dir, 'bcc-tmp');
    mkdirSync(tmp);
    writeFileSync(join(s.dir, 'bcc_accept.py'), BCC);
    // An empty TMPDIR: BCC cannot fall back to a /tmp/kheaders-<release> cache of its own.
    const r = tool('/usr/bin/python3', [join(s.dir, 'bcc_accept.py')], {env: {BCC_KERNEL_SOURCE: kdir, TMPDIR: tmp}});
    assert.equal(r.code, 0, r.stderr.slice(-2000));
    const imms = r.stdout.trim().split('\n').pop()!.split(' ').map(Number);
    assert.ok(imms.includes(offset), `offset ${offset} in ${imms.join(',')}`);
  });

  it('bpftrace -d with BPFTRACE_KERNEL_SOURCE reads the same task_struct layout', () => {
    const r = tool('bpftrace', ['-d', '-e', '#include <linux/sched.h>\nBEGIN { $t = (struct task_struct *)curtask; printf("%d\\n", $t->tgid); exit(); }'], {
      env: {BPFTRACE_KERNEL_SOURCE: kdir},
    });
    assert.equal(r.code, 0, r.stderr.slice(-2000));
    assert.match(r.stdout, new RegExp(`get_cur_task, ${offset}\\b`));
  });

  it('BCC and bpftrace find the headers by themselves, as /lib/modules/$(uname -r)/{source,build} lead them (no BCC_KERNEL_SOURCE, no BPFTRACE_KERNEL_SOURCE)', () => {
    assert.ok(offset > 0, 'the clang test ran first');
    // The links as khpkg makes them on / (absolute), under this machine's release, in a private mount
    // namespace: /usr/lib gains modules/<uname -r> (an overlay) and /usr/src is the root's.
    const uname = mustRun('uname', ['-r']).trim();
    const extra = join(s.dir, 'overlay');
    mkdirSync(join(extra, 'modules', uname), {recursive: true});
    symlinkSync(`/usr/src/linux-headers-${REAL.release}/headers-only`, join(extra, 'modules', uname, 'build'));
    symlinkSync(`/usr/src/linux-headers-${REAL.release}`, join(extra, 'modules', uname, 'source'));
    const tmp = join(s.dir, 'bcc-tmp-2');
    mkdirSync(tmp);
    writeFileSync(join(s.dir, 'bcc_found.py'), BCC);
    const bpftrace = `bpftrace -d -e '#include <linux/sched.h>\nBEGIN { $t = (struct task_struct *)curtask; printf("%d\\n", $t->tgid); exit(); }'`;
    const script = [
      `mount --bind ${join(root, 'usr/src')} /usr/src`,
      `mount -t overlay overlay -o lowerdir=${extra}:/usr/lib /usr/lib`,
      `test ! -e /lib/modules/${uname}/build/include`,
      `cd / && TMPDIR=${tmp} /usr/bin/python3 ${join(s.dir, 'bcc_found.py')}`,
      `echo ==bpftrace; ${bpftrace}`,
    ].join(' && ');
    const r = tool('unshare', ['-m', '--propagation', 'private', 'env', '-u', 'BCC_KERNEL_SOURCE', '-u', 'BPFTRACE_KERNEL_SOURCE', 'sh', '-c', script]);
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    const [bcc, bt] = r.stdout.split('==bpftrace');
    const imms = bcc!.trim().split('\n').pop()!.split(' ').map(Number);
    assert.ok(imms.includes(offset), `BCC: offset ${offset} in ${imms.join(',')}`);
    assert.match(bt!, new RegExp(`get_cur_task, ${offset}\\b`), 'bpftrace');
    assert.equal(readdirSync(tmp).length, 0, 'BCC made no kheaders cache of its own');
  });

  it("kbuild and DKMS stop on the headers-only tree with khpkg's own explanation, not a make error", () => {
    const hello = writeHello(join(s.dir, 'hello'));
    const make = tool('make', ['-C', kdir, `M=${hello}`, 'modules']);
    assert.notEqual(make.code, 0);
    const explanation = `khpkg: /lib/modules/${REAL.release}/build is a headers-only tree (from kheaders) and cannot build modules; make a module-build tree with: khpkg install --kbuild <Linux 6.12 source dir or linux-*.tar.xz> --force`;
    assert.ok(make.stderr.includes(explanation), make.stderr);
    const dk = join(s.dir, 'dkms');
    writeHello(join(dk, 'src'), {dkms: true});
    const dkms = tool('dkms', dkmsBuildArgs(dk, REAL.release, kdir));
    assert.notEqual(dkms.code, 0);
    assert.match(dkms.stderr + dkms.stdout, /Consult .*make\.log/);
    assert.ok(readFileSync(join(dk, 'dkms/hello/1.0/build/make.log'), 'utf8').includes(explanation));
  });
});
