import assert from 'node:assert/strict';
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {REAL72} from '../helpers/kheaders.js';
import {dkmsBuildArgs, kbuildSource72, writeHello} from '../helpers/module.js';
import {dpkgRoot, rpmRoot} from '../helpers/roots.js';
import {bpfFlags} from '../helpers/bpf.js';
import {buildJson, khpkg, mustRun, scratch, tool} from '../helpers/run.js';
import {addedByKhpkg, treeDigest} from '../helpers/tree.js';

const REL = REAL72.release;

/** linux/fs.h is where 7.x headers need -fms-extensions (struct filename's anonymous tagged member). */
const PROGRAM = '#include <linux/sched.h>\n#include <linux/fs.h>\nint off_tgid = __builtin_offsetof(struct task_struct, tgid);\n';

const BCC = (cflags: string[]) => `import struct
from bcc import BPF
b = BPF(text=r'''#include <linux/sched.h>
#include <linux/fs.h>
int probe(void *ctx) {
  struct task_struct *t = (struct task_struct *)bpf_get_current_task();
  return t->tgid;
}''', cflags=${JSON.stringify(cflags)})
insns = b.dump_func("probe")
print(" ".join(str(struct.unpack_from("<i", insns, i + 4)[0]) for i in range(0, len(insns), 8)))
`;

describe('the newest kernels: a real 7.2 archive end to end', function () {
  this.timeout(900_000);
  const s = scratch();
  after(() => s.cleanup());
  const raw = join(s.dir, 'raw');

  before(() => {
    mkdirSync(raw);
    mustRun('tar', ['-xJf', REAL72.archive, '-C', raw]);
  });

  it('inspect reads it, and says what consumers need beyond include paths', () => {
    const info = JSON.parse(khpkg(['inspect', REAL72.archive, '--json']).stdout);
    assert.equal(info.release, REL);
    assert.equal(info.version, '7.2.13');
    assert.equal(info.sha256, REAL72.sha256);
    assert.deepEqual(info.consumerCflags, ['-fms-extensions', '-Wno-microsoft-anon-tag']);
  });

  it('its .deb and .rpm are accepted by dpkg, lintian and rpm, and install the archive’s tree exactly', () => {
    const pkgs = buildJson([REAL72.archive, '--config', REAL72.config, '-f', 'deb', '-f', 'rpm', '-o', join(s.dir, 'pkgs')]);
    const deb = pkgs.find((p) => p.format === 'deb')!.path;
    const rpm = pkgs.find((p) => p.format === 'rpm')!.path;
    mustRun('dpkg-deb', ['--info', deb]);
    const lint = tool('lintian', ['--fail-on', 'error', deb]);
    assert.equal(lint.code, 0, lint.stdout + lint.stderr);
    const droot = join(s.dir, 'dpkg-root');
    dpkgRoot(droot);
    mustRun('dpkg', [`--root=${droot}`, '--force-script-chrootless', '-i', deb]);
    const expected = treeDigest(raw);
    assert.deepEqual(treeDigest(join(droot, `usr/src/linux-headers-${REL}`), addedByKhpkg), expected);
    assert.match(mustRun('rpm', ['-K', rpm]), /digests OK/);
    const rroot = join(s.dir, 'rpm-root');
    mustRun('rpm', [...rpmRoot(rroot), '-i', '--nodeps', rpm]);
    assert.deepEqual(treeDigest(join(rroot, `usr/src/kernels/${REL}`), addedByKhpkg), expected);
  });

  it('clang and BCC with consumerCflags read the same task_struct layout from the installed tree as from the raw archive', () => {
    const root = join(s.dir, 'consumers');
    mkdirSync(root);
    assert.equal(khpkg(['install', REAL72.archive, '--config', REAL72.config, '--root', root, '-q']).code, 0);
    const kdir = join(root, `usr/src/linux-headers-${REL}`);
    const cflags = JSON.parse(khpkg(['info', REL, '--root', root, '--json']).stdout).consumerCflags as string[];
    assert.deepEqual(cflags, ['-fms-extensions', '-Wno-microsoft-anon-tag']);
    writeFileSync(join(s.dir, 'task.c'), PROGRAM);
    const offsetOf = (dir: string, extra: string[]): number =>
      Number(
        /@off_tgid = [^\n]*i32 (\d+)/.exec(mustRun('clang', ['-O2', '-S', '-emit-llvm', '-o', '-', join(s.dir, 'task.c'), ...bpfFlags(dir), ...extra]))?.[1],
      );
    const installed = offsetOf(kdir, cflags);
    assert.ok(installed > 1000 && installed < 8000, `offsetof(task_struct, tgid) = ${installed}`);
    assert.equal(offsetOf(raw, cflags), installed, 'the raw archive gives the same layout');
    const without = tool('clang', ['-O2', '-S', '-emit-llvm', '-o', '/dev/null', join(s.dir, 'task.c'), ...bpfFlags(kdir)]);
    assert.notEqual(without.code, 0, 'without consumerCflags 7.x headers do not compile');
    assert.match(without.stderr, /static_assert|static assertion/);

    const tmp = join(s.dir, 'bcc-tmp');
    mkdirSync(tmp);
    writeFileSync(join(s.dir, 'bcc72.py'), BCC(cflags));
    const r = tool('/usr/bin/python3', [join(s.dir, 'bcc72.py')], {env: {BCC_KERNEL_SOURCE: kdir, TMPDIR: tmp}});
    assert.equal(r.code, 0, r.stderr.slice(-2000));
    assert.ok(r.stdout.trim().split('\n').pop()!.split(' ').map(Number).includes(installed), `BCC's bytecode holds offset ${installed}`);
  });

  describe('module-build tier on 7.2 (Debian sid linux-source-7.2, CONFIG_MODVERSIONS off)', () => {
    const root = join(s.dir, 'kbuild');
    const build = join(root, 'lib/modules', REL, 'build');
    before(function () {
      this.timeout(900_000);
      mkdirSync(root);
      const r = khpkg(['install', REAL72.archive, '--config', REAL72.config, '--kbuild', kbuildSource72(), '--root', root, '--json']);
      assert.equal(r.code, 0, r.stderr);
    });

    it('the tree has what Kconfig writes from the config (rustc_cfg) and info says no CRCs are needed', () => {
      const rustc = readFileSync(join(build, 'include/generated/rustc_cfg'), 'utf8');
      assert.match(rustc, /^--cfg=CONFIG_X86_64$/m);
      assert.match(rustc, /^--cfg=CONFIG_X86_64="y"$/m);
      assert.match(rustc, /^--cfg=CONFIG_LOCALVERSION=""$/m);
      const info = JSON.parse(khpkg(['info', REL, '--root', root, '--json']).stdout);
      assert.equal(info.kbuild.modversions, false);
      assert.match(khpkg(['info', REL, '--root', root]).stdout, /no symbol CRCs needed: the kernel is built without CONFIG_MODVERSIONS/);
    });

    it('make -C .../build M=... builds a hello module with the 7.2 vermagic', () => {
      const hello = writeHello(join(s.dir, 'hello72'));
      const r = tool('make', ['-C', build, `M=${hello}`, 'modules']);
      assert.equal(r.code, 0, r.stderr.slice(-3000));
      assert.ok(mustRun('modinfo', ['-F', 'vermagic', join(hello, 'hello.ko')]).startsWith(`${REL} SMP `));
    });

    it('dkms build succeeds against the 7.2 tree', () => {
      const dk = join(s.dir, 'dkms72');
      writeHello(join(dk, 'src'), {dkms: true});
      const r = tool('dkms', dkmsBuildArgs(dk, REL, build));
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const ko = join(dk, 'dkms/hello/1.0', REL, 'x86_64/module/hello.ko');
      assert.ok(mustRun('modinfo', ['-F', 'vermagic', ko]).startsWith(`${REL} `));
    });
  });
});
