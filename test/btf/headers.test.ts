import assert from 'node:assert/strict';
import {existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {parseBtf, type Btf} from '../../src/btf/btf.js';
import {findBtf} from '../../src/btf/image.js';
import {makeHeaderBtf} from '../../src/btf/headers/make.js';
import {percent, scoreLayouts} from '../../src/btf/score.js';
import {KhpkgError} from '../../src/errors.js';
import {coreProgram} from '../helpers/bpf.js';
import {CACHE} from '../helpers/debian-root.js';
import {REAL} from '../helpers/kheaders.js';
import {buildJson, khpkg, mustRun, needInput, scratch, tool} from '../helpers/run.js';

/** The structs the issue names: what CO-RE tools read most. Each must be there with the kernel's exact layout. */
const KEY_STRUCTS = [
  'task_struct',
  'mm_struct',
  'file',
  'inode',
  'dentry',
  'super_block',
  'sk_buff',
  'sock',
  'net_device',
  'cred',
  'pt_regs',
  'vm_area_struct',
];

/** The program: BPF_CORE_READ of task->tgid and task->mm->flags, against vmlinux.h alone. */
const CORE_PROG = coreProgram(`\tint tgid = BPF_CORE_READ(t, tgid);
\tunsigned long flags = BPF_CORE_READ(t, mm, flags);
\treturn tgid + (int)(flags & 1);
`);
/** The kernel's own BTF, from Debian's vmlinuz of the same build. */
async function realBtf(image: string): Promise<Btf> {
  return parseBtf((await findBtf(readFileSync(image), image)).btf);
}

/** The header-made BTF a package carries: its BTF-only vmlinux, read back as any ELF with .BTF. */
async function packagedBtf(deb: string, dir: string): Promise<{btf: Btf; tree: string}> {
  mustRun('dpkg-deb', ['-x', deb, dir]);
  const tree = join(dir, 'usr/src', readdirSync(join(dir, 'usr/src'))[0]!);
  const vmlinux = join(tree, 'vmlinux');
  return {btf: parseBtf((await findBtf(readFileSync(vmlinux), vmlinux)).btf), tree};
}

/** The score, printed for the record and checked against the floors measured when the test was written. */
function checkScore(real: Btf, made: Btf, what: string, floor: number): void {
  const s = scoreLayouts(real, made);
  console.log(
    `      ${what}: ${s.present} of ${s.real} named structs/unions present (${percent(s.present, s.real)}), ${s.exact} exact (${percent(s.exact, s.present)})`,
  );
  assert.ok(s.present / s.real >= floor, `${what}: coverage ${percent(s.present, s.real)} below ${percent(floor, 1)}`);
  assert.ok(
    s.exact / s.present >= 0.99,
    `${what}: only ${percent(s.exact, s.present)} of present types have the kernel's layout: ${s.differing.slice(0, 10).join(', ')}`,
  );
  const have = new Set<string>();
  for (let id = 1; id < made.count; id++) if (made.kind(id) === 'struct' && made.named(id)) have.add(made.name(id));
  for (const name of KEY_STRUCTS) {
    assert.ok(have.has(name), `${what}: struct ${name} is missing`);
    assert.ok(!s.differing.includes(`struct ${name}`), `${what}: struct ${name} is not laid out as the kernel's`);
  }
}

describe('BTF made from the headers, for kernels without BTF (#39)', function () {
  this.timeout(900_000);
  const s = scratch();
  after(() => s.cleanup());
  const VMLINUZ = join(CACHE, `vmlinuz-${REAL.release}`);

  it('unit: headers that do not compile are left out, the rest become BTF (real gcc and pahole on a small tree)', async () => {
    const tree = join(s.dir, 'tiny');
    mkdirSync(join(tree, 'include/linux'), {recursive: true});
    mkdirSync(join(tree, 'include/generated'), {recursive: true});
    writeFileSync(join(tree, 'include/generated/autoconf.h'), '#define CONFIG_X86_64 1\n');
    writeFileSync(join(tree, 'include/linux/a.h'), '#ifndef A_H\n#define A_H\nstruct a { int x; long y; };\n#endif\n');
    writeFileSync(join(tree, 'include/linux/b.h'), 'struct b { int x; ;; this is not C };\n');
    writeFileSync(join(tree, 'include/linux/c.h'), '#include <asm/not-in-the-set.h>\nstruct c { int x; };\n');
    writeFileSync(join(tree, 'include/linux/d.h'), '#include <linux/a.h>\nstruct d { struct a a; char tail[3]; };\n');
    writeFileSync(join(tree, 'include/linux/e.h'), 'struct e { struct not_declared_anywhere n; };\n');
    const made = await makeHeaderBtf(
      tree,
      {release: 'tiny', version: '6.12.0', sha256: '', srcarch: 'x86', debArch: 'amd64', rpmArch: 'x86_64'},
      readFileSync(join(tree, 'include/generated/autoconf.h'), 'utf8'),
    );
    assert.deepEqual([made.headers, made.tried], [2, 5]);
    const btf = parseBtf(made.blob);
    const structs = new Map<string, number>();
    for (let id = 1; id < btf.count; id++) if (btf.kind(id) === 'struct') structs.set(btf.name(id), btf.size(id));
    assert.deepEqual(Object.fromEntries(structs), {a: 16, d: 24});
  });

  it('unit: a kernel that randomizes struct layout is refused in one line', async () => {
    const tree = join(s.dir, 'randstruct');
    mkdirSync(join(tree, 'include/linux'), {recursive: true});
    await assert.rejects(
      makeHeaderBtf(
        tree,
        {release: 'r', version: '6.12.0', sha256: '', srcarch: 'x86', debArch: 'amd64', rpmArch: 'x86_64'},
        '#define CONFIG_RANDSTRUCT_FULL 1\n',
      ),
      (e: unknown) => e instanceof KhpkgError && /RANDSTRUCT/.test(e.message) && !e.message.includes('\n'),
    );
  });

  let amd64: {deb: string; rpm: string; btf: Btf; tree: string} | undefined;
  const amd64Build = async (): Promise<NonNullable<typeof amd64>> => {
    if (amd64) return amd64;
    const out = join(s.dir, 'amd64');
    const pkgs = buildJson([REAL.archive, '--config', REAL.config, '--btf', 'headers', '-f', 'deb', '-f', 'rpm', '-o', out]);
    const deb = pkgs.find((p) => p.format === 'deb')!.path;
    const rpm = pkgs.find((p) => p.format === 'rpm')!.path;
    return (amd64 = {deb, rpm, ...(await packagedBtf(deb, join(s.dir, 'amd64-x')))});
  };

  it("amd64: the bundled 6.12 archive's header-made BTF against Debian's real vmlinuz of that build: coverage, exact layouts, the key structs", async () => {
    needInput(existsSync(VMLINUZ), `no ${VMLINUZ}: 'npm run setup' keeps Debian's vmlinuz of ${REAL.release} (bin/fetch-kbuild-test-debs.sh)`);
    const {btf} = await amd64Build();
    // Measured: 53.3% (4,737 of 8,885), 99.9% exact. Only 53.8% of the kernel's named structs and
    // unions are defined in a header of the set at all, and 11.1% are trace events' (many of them
    // from drivers' own trace headers, which kheaders does not carry): the rest are .c files'.
    checkScore(await realBtf(VMLINUZ), btf, 'amd64', 0.52);
  });

  it('the .deb and the .rpm carry the header-made vmlinux.h and vmlinux; lintian has no error; rpm -K accepts it', async () => {
    const {deb, rpm, tree} = await amd64Build();
    assert.match(readFileSync(join(tree, 'vmlinux.h'), 'utf8'), /^struct task_struct \{$/m);
    const rel = REAL.release;
    assert.ok(mustRun('rpm', ['-qpl', rpm]).split('\n').includes(`/usr/src/kernels/${rel}/vmlinux`));
    assert.match(mustRun('rpm', ['-K', rpm]), /digests OK/);
    const lintian = tool('lintian', ['--tag-display-limit', '0', deb]);
    assert.deepEqual(
      lintian.stdout.split('\n').filter((l) => l.startsWith('E:')),
      [],
    );
  });

  it("a CO-RE program (BPF_CORE_READ of task->tgid and task->mm->flags) built against the header-made vmlinux.h relocates against the kernel's real BTF (bpftool gen min_core_btf)", async () => {
    needInput(existsSync(VMLINUZ), `no ${VMLINUZ}: 'npm run setup' keeps Debian's vmlinuz of ${REAL.release}`);
    const {tree} = await amd64Build();
    writeFileSync(join(s.dir, 'prog.bpf.c'), CORE_PROG);
    const obj = join(s.dir, 'prog.bpf.o');
    const cc = tool('clang', ['-g', '-O2', '-target', 'bpf', '-D__TARGET_ARCH_x86', '-I', tree, '-c', join(s.dir, 'prog.bpf.c'), '-o', obj]);
    assert.equal(cc.code, 0, cc.stderr);
    const real = join(s.dir, 'real.btf');
    writeFileSync(real, (await findBtf(readFileSync(VMLINUZ), VMLINUZ)).btf);
    const min = join(s.dir, 'min.btf');
    const gen = tool('bpftool', ['gen', 'min_core_btf', real, min, obj]);
    assert.equal(gen.code, 0, gen.stderr);
    const dump = mustRun('bpftool', ['btf', 'dump', 'file', min]);
    // The relocations found their fields in the kernel's BTF: exactly those members are kept.
    assert.match(dump, /STRUCT 'task_struct'[^\n]*\n(\t[^\n]*\n)*\t'tgid'/);
    // mm_struct's flags sit in its anonymous first member (6.12), which the kernel's BTF keeps as such.
    assert.match(dump, /STRUCT 'mm_struct'/);
    assert.match(dump, /^\t'flags' type_id=\d+ bits_offset=\d+$/m);
  });

  it('install --btf headers: the set records its BTF as made from the headers, the same BTF as the build made (reproducible), and info says the limits', async () => {
    const {btf} = await amd64Build();
    const root = join(s.dir, 'root');
    mkdirSync(root);
    const r = khpkg(['install', REAL.archive, '--config', REAL.config, '--btf', 'headers', '--root', root]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /made from the headers/);
    const info = JSON.parse(khpkg(['info', REAL.release, '--root', root, '--json']).stdout) as {btf: {source: string; types: number}; btfLimits: string};
    assert.equal(info.btf.source, 'headers');
    assert.equal(info.btf.types, btf.count - 1);
    assert.match(info.btfLimits, /fentry\/fexit, LSM, struct_ops and kfuncs need the kernel's own BTF/);
    const installed = readFileSync(join(root, `usr/src/linux-headers-${REAL.release}/vmlinux`));
    const packaged = readFileSync(join(amd64!.tree, 'vmlinux'));
    assert.ok(installed.equals(packaged), 'the installed vmlinux differs from the packaged one: header-made BTF is not reproducible');
    assert.match(khpkg(['info', REAL.release, '--root', root]).stdout, /^btf-limits +made from the headers: /m);
    assert.equal(khpkg(['verify', REAL.release, '--root', root]).code, 0);
  });

  it('a missing compiler or pahole is one line naming it, and the set is installed without BTF', () => {
    // A PATH with every program of /usr/bin but pahole.
    const bin = join(s.dir, 'no-pahole-bin');
    mkdirSync(bin);
    for (const f of readdirSync('/usr/bin')) if (f !== 'pahole') symlinkSync(join('/usr/bin', f), join(bin, f));
    for (const [env, named] of [
      [{KHPKG_BTF_CC: '/nonexistent/gcc'}, /\/nonexistent\/gcc is not installed/],
      [{PATH: `${bin}:/usr/sbin:/sbin`}, /pahole is not installed/],
    ] as const) {
      const root = join(s.dir, `without-${Object.keys(env)[0]}`);
      mkdirSync(root);
      const r = khpkg(['install', REAL.archive, '--config', REAL.config, '--btf', 'headers', '--root', root], {env});
      assert.equal(r.code, 0, r.stderr);
      const lines = (r.stdout + r.stderr).split('\n').filter((l) => named.test(l));
      assert.equal(lines.length, 1, r.stdout + r.stderr);
      assert.match(lines[0]!, /the set is made without BTF/);
      const info = JSON.parse(khpkg(['info', REAL.release, '--root', root, '--json']).stdout) as {btf?: unknown};
      assert.equal(info.btf, undefined);
      assert.ok(!existsSync(join(root, `usr/src/linux-headers-${REAL.release}/vmlinux.h`)));
      // inspect says the same, in its JSON.
      const inspect = khpkg(['inspect', REAL.archive, '--btf', 'headers', '--json'], {env});
      assert.equal(inspect.code, 0, inspect.stderr);
      assert.match((JSON.parse(inspect.stdout) as {btfNote: string}).btfNote, named);
    }
  });

  it("khpkg.conf's btf-from-headers = yes: a kernel without BTF takes the headers' way (install, the hooks, the boot unit), one with its image does not; a bad value is one line", () => {
    const root = join(s.dir, 'conf-root');
    mkdirSync(join(root, 'etc/khpkg'), {recursive: true});
    writeFileSync(join(root, 'etc/khpkg/khpkg.conf'), '# made by the test\nbtf-from-headers = yes\n');
    // The compiler is made missing so that taking the headers' way shows in one line, in no time.
    const env = {KHPKG_BTF_CC: '/nonexistent/gcc'};
    const without = khpkg(['install', REAL.archive, '--config', REAL.config, '--root', root], {env});
    assert.equal(without.code, 0, without.stderr);
    assert.match(without.stdout + without.stderr, /\/nonexistent\/gcc is not installed .*: the set is made without BTF/);
    // The boot unit of a running kernel without /sys/kernel/btf/vmlinux goes the same way.
    const boot = khpkg(['hooks', 'run', 'boot', '--root', root], {
      env: {...env, KHPKG_KHEADERS: REAL.archive, KHPKG_RUNNING_RELEASE: REAL.release, KHPKG_PROC_CONFIG: REAL.config},
    });
    assert.equal(boot.code, 0, boot.stderr);
    assert.match(boot.stdout + boot.stderr, /\/nonexistent\/gcc is not installed .*: the set is made without BTF/);
    if (existsSync(VMLINUZ)) {
      const withImage = khpkg(['install', REAL.archive, '--config', REAL.config, '--btf', VMLINUZ, '--root', root, '--force'], {env});
      assert.equal(withImage.code, 0, withImage.stderr);
      assert.doesNotMatch(withImage.stdout + withImage.stderr, /nonexistent/);
      assert.equal((JSON.parse(khpkg(['info', REAL.release, '--root', root, '--json']).stdout) as {btf: {source: string}}).btf.source, VMLINUZ);
    }
    writeFileSync(join(root, 'etc/khpkg/khpkg.conf'), 'btf-from-headers = maybe\n');
    const bad = khpkg(['install', REAL.archive, '--config', REAL.config, '--root', root, '--force']);
    assert.equal(bad.code, 2, 'a usage error');
    assert.match(bad.stderr, /khpkg\.conf:1: btf-from-headers is 'yes' or 'no', not 'maybe'/);
    assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
  });

  it('arm64: Debian 6.12 arm64 kheaders compiled with the cross compiler, against its real vmlinuz', async () => {
    const dir = readdirSync(CACHE).find((f) => /^arm64-kheaders-/.test(f));
    needInput(dir, `no arm64 kheaders in ${CACHE}: 'npm run setup' makes them (bin/fetch-kbuild-test-debs.sh)`);
    const release = dir!.slice('arm64-kheaders-'.length);
    const image = join(CACHE, `vmlinuz-${release}`);
    needInput(existsSync(image), `no ${image}: 'npm run setup' fetches Debian's arm64 vmlinuz`);
    const out = join(s.dir, 'arm64');
    const pkgs = buildJson([join(CACHE, dir!, 'kheaders.tar.xz'), '--config', join(CACHE, dir!, 'config'), '--btf', 'headers', '-f', 'deb', '-o', out]);
    const {btf} = await packagedBtf(pkgs[0]!.path, join(s.dir, 'arm64-x'));
    // Measured: 47.5% (4,783 of 10,059), 99.9% exact (47.2% are defined in a header, 10.2% trace events').
    checkScore(await realBtf(image), btf, 'arm64', 0.46);
  });
});
