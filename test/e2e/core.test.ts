import assert from 'node:assert/strict';
import {copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {coreProgram} from '../helpers/bpf.js';
import {CACHE} from '../helpers/debian-root.js';
import {REAL} from '../helpers/kheaders.js';
import {kbuildTestInputs, writeHello} from '../helpers/module.js';
import {dpkgRoot, installedKernelRoot} from '../helpers/roots.js';
import {buildJson, khpkg, mustRun, needInput, scratch, tool} from '../helpers/run.js';

const REL = REAL.release;
/** Debian's own image of the bundled archive's kernel (bin/fetch-kbuild-test-debs.sh keeps its vmlinuz). */
const VMLINUZ = join(CACHE, `vmlinuz-${REL}`);

/** A CO-RE program reading a field and asking whether another exists. */
const CORE_PROG = coreProgram(`\tint tgid = BPF_CORE_READ(t, tgid);
\tif (bpf_core_field_exists(t->start_time))
\t\ttgid += 1;
\treturn tgid;
`);
describe('CO-RE: vmlinux.h and the BTF-only vmlinux in every header set (#25)', function () {
  this.timeout(300_000);
  const s = scratch();
  after(() => s.cleanup());
  const root = join(s.dir, 'root');
  const tree = join(root, `usr/src/linux-headers-${REL}`);

  before(function () {
    needInput(existsSync(VMLINUZ), `no ${VMLINUZ}: 'npm run setup' keeps Debian's vmlinuz of ${REL} (bin/fetch-kbuild-test-debs.sh)`);
    mkdirSync(root);
    const r = khpkg(['install', REAL.archive, '--config', REAL.config, '--btf', VMLINUZ, '--root', root]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^vmlinux\.h and a BTF-only vmlinux from .*vmlinuz-6\.12\.117\+deb12-amd64 \(\d+ BTF types\)$/m);
  });

  it('vmlinux.h is byte for byte what bpftool writes from the same BTF; the set records the BTF and verify checks its files', () => {
    const h = readFileSync(join(tree, 'vmlinux.h'));
    assert.ok(
      h.equals(Buffer.from(mustRun('bpftool', ['btf', 'dump', 'file', join(tree, 'vmlinux'), 'format', 'c']), 'latin1')),
      'vmlinux.h differs from bpftool',
    );
    assert.match(mustRun('readelf', ['-S', join(tree, 'vmlinux')]), /\.BTF_ids/);
    const info = JSON.parse(khpkg(['info', REL, '--root', root, '--json']).stdout) as {btf: {source: string; sha256: string; types: number}};
    assert.equal(info.btf.source, VMLINUZ);
    assert.ok(info.btf.types > 100_000, String(info.btf.types));
    assert.match(info.btf.sha256, /^[0-9a-f]{64}$/);
    const files = JSON.parse(khpkg(['files', REL, '--root', root, '--json']).stdout) as {rel: string}[];
    assert.ok(files.some((f) => f.rel.endsWith('/vmlinux.h')) && files.some((f) => f.rel.endsWith('/vmlinux')));
    assert.equal(khpkg(['verify', REL, '--root', root]).code, 0);
    writeFileSync(join(tree, 'vmlinux.h'), Buffer.concat([h, Buffer.from('/* edited */\n')]));
    const v = khpkg(['verify', REL, '--root', root]);
    assert.equal(v.code, 1);
    assert.match(v.stdout, /vmlinux\.h/);
    writeFileSync(join(tree, 'vmlinux.h'), h);
  });

  it('a CO-RE program (BPF_CORE_READ, bpf_core_field_exists) compiles with clang against the installed vmlinux.h alone, and bpftool gen min_core_btf relocates it offline', () => {
    writeFileSync(join(s.dir, 'prog.bpf.c'), CORE_PROG);
    const obj = join(s.dir, 'prog.bpf.o');
    const cc = tool('clang', ['-g', '-O2', '-target', 'bpf', '-D__TARGET_ARCH_x86', '-I', tree, '-c', join(s.dir, 'prog.bpf.c'), '-o', obj]);
    assert.equal(cc.code, 0, cc.stderr);
    assert.match(mustRun('llvm-objdump', ['-h', obj]), /\.BTF\.ext/, 'CO-RE relocations are recorded');
    const min = join(s.dir, 'min.btf');
    const gen = tool('bpftool', ['gen', 'min_core_btf', join(tree, 'vmlinux'), min, obj]);
    assert.equal(gen.code, 0, gen.stderr);
    assert.match(mustRun('bpftool', ['btf', 'dump', 'file', min]), /STRUCT 'task_struct'/);
  });

  it('the .deb and the .rpm carry vmlinux.h and vmlinux; lintian, dpkg and rpm accept them', () => {
    const out = join(s.dir, 'pkgs');
    const pkgs = buildJson([REAL.archive, '--config', REAL.config, '--btf', VMLINUZ, '-f', 'deb', '-f', 'rpm', '-z', 'gzip', '-o', out]);
    const deb = pkgs.find((p) => p.path.endsWith('.deb'))!.path;
    const rpm = pkgs.find((p) => p.path.endsWith('.rpm'))!.path;
    const listing = mustRun('dpkg-deb', ['-c', deb]);
    assert.match(listing, new RegExp(`\\./usr/src/linux-headers-${REL.replace(/\+/g, '\\+')}/vmlinux\\.h\\n`));
    assert.match(listing, new RegExp(`\\./usr/src/linux-headers-${REL.replace(/\+/g, '\\+')}/vmlinux\\n`));
    assert.ok(mustRun('rpm', ['-qpl', rpm]).split('\n').includes(`/usr/src/kernels/${REL}/vmlinux.h`));
    assert.match(mustRun('rpm', ['-K', rpm]), /digests OK/);
    const lintian = tool('lintian', ['--tag-display-limit', '0', deb]);
    assert.deepEqual(
      lintian.stdout.split('\n').filter((l) => l.startsWith('E:')),
      [],
      'the BTF-only vmlinux is an object with no code, not a statically linked binary',
    );
    const droot = join(s.dir, 'dpkg-root');
    dpkgRoot(droot);
    mustRun('dpkg', [`--root=${droot}`, '--force-script-chrootless', '-i', deb]);
    assert.ok(readFileSync(join(droot, `usr/src/linux-headers-${REL}/vmlinux.h`)).equals(readFileSync(join(tree, 'vmlinux.h'))));
  });

  it("an installed kernel brings its own BTF (/boot/vmlinuz-<rel>); another kernel's image is refused in one line; raw BTF is taken with a note", () => {
    const kroot = join(s.dir, 'kernel');
    installedKernelRoot(s.dir, kroot);
    copyFileSync(VMLINUZ, join(kroot, 'boot', `vmlinuz-${REL}`));
    const r = khpkg(['install', '--kernel', REL, '--root', kroot, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as {btf: {source: string}}).btf.source, `/boot/vmlinuz-${REL}`);
    assert.ok(existsSync(join(kroot, `usr/src/linux-headers-${REL}/vmlinux.h`)));

    const other = join(CACHE, `image-${readFileSync(join(CACHE, 'abi'), 'utf8').trim()}`, 'boot');
    const otherImage = join(
      other,
      readdirSync(other).find((f) => f.startsWith('vmlinuz-'))!,
    );
    const empty = join(s.dir, 'mismatch');
    mkdirSync(empty);
    const refused = khpkg(['install', REAL.archive, '--config', REAL.config, '--btf', otherImage, '--root', empty]);
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /^khpkg: .*vmlinuz-\S+ is the kernel image of \S+, but the headers are 6\.12\.117\+deb12-amd64's: give .* image with --btf\n$/,
    );
    assert.deepEqual(readdirSync(empty), [], 'nothing was written');

    // The running kernel's /sys/kernel/btf/vmlinux is raw BTF: taken, with one line saying it names no release.
    const raw = join(s.dir, 'sysfs-btf');
    mustRun('objcopy', ['--dump-section', `.BTF=${raw}`, join(tree, 'vmlinux'), join(s.dir, 'scratch.o')]);
    const running = join(s.dir, 'running');
    mkdirSync(running);
    const env = {KHPKG_KHEADERS: REAL.archive, KHPKG_PROC_CONFIG: REAL.config, KHPKG_RUNNING_RELEASE: REL, KHPKG_SYSFS_BTF: raw};
    const got = khpkg(['install', '--root', running], {env});
    assert.equal(got.code, 0, got.stderr);
    assert.match(got.stdout, /^note: .*sysfs-btf is raw BTF, which names no release: taken as 6\.12\.117\+deb12-amd64's$/m);
    assert.ok(readFileSync(join(running, `usr/src/linux-headers-${REL}/vmlinux.h`)).equals(readFileSync(join(tree, 'vmlinux.h'))));
  });

  it("a module-build tree with the kernel's BTF gives modules BTF (pahole, resolve_btfids); without pahole they build without, and are told so", function () {
    this.timeout(600_000);
    const inputs = kbuildTestInputs();
    const kroot = join(s.dir, 'kbuild');
    mkdirSync(kroot);
    const r = khpkg([
      'install',
      REAL.archive,
      '--config',
      REAL.config,
      '--btf',
      VMLINUZ,
      '--kbuild',
      inputs.source,
      '--symvers-from',
      inputs.modules,
      '--root',
      kroot,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const build = join(kroot, 'lib/modules', REL, 'build');
    const hello = writeHello(join(s.dir, 'hello-btf'));
    const made = tool('make', ['-C', build, `M=${hello}`, 'modules']);
    assert.equal(made.code, 0, made.stderr.slice(-3000));
    assert.doesNotMatch(made.stdout + made.stderr, /Skipping BTF generation/);
    assert.match(mustRun('readelf', ['-S', join(hello, 'hello.ko')]), /\.BTF /);
    // The module's BTF is split BTF on top of the tree's vmlinux: bpftool reads it with that base.
    assert.match(mustRun('bpftool', ['-B', join(build, 'vmlinux'), 'btf', 'dump', 'file', join(hello, 'hello.ko')]), /FUNC 'hello_init'/);

    // A machine without pahole: PATH without it (links to everything else).
    const bin = join(s.dir, 'no-pahole');
    mkdirSync(bin);
    for (const dir of ['/usr/bin', '/usr/sbin'])
      for (const n of readdirSync(dir)) if (n !== 'pahole' && !existsSync(join(bin, n))) symlinkSync(join(dir, n), join(bin, n));
    const plain = writeHello(join(s.dir, 'hello-no-pahole'));
    const without = tool('make', ['-C', build, `M=${plain}`, 'modules'], {env: {PATH: bin}});
    assert.equal(without.code, 0, without.stderr.slice(-3000));
    assert.match(without.stderr, /khpkg: pahole is not installed: modules built here get no BTF/);
    assert.doesNotMatch(mustRun('readelf', ['-S', join(plain, 'hello.ko')]), /\.BTF /);
  });

  it('malformed BTF given with --btf: one line, nothing written', () => {
    const bad = join(s.dir, 'bad.btf');
    mustRun('objcopy', ['--dump-section', `.BTF=${join(s.dir, 'good.btf')}`, join(tree, 'vmlinux'), join(s.dir, 'scratch.o')]);
    const blob = readFileSync(join(s.dir, 'good.btf'));
    // A type section that claims more than there is.
    const lie = Buffer.from(blob);
    lie.writeUInt32LE(blob.length * 2, 12);
    writeFileSync(bad, lie);
    const empty = join(s.dir, 'bad-root');
    mkdirSync(empty);
    const r = khpkg(['install', REAL.archive, '--config', REAL.config, '--btf', bad, '--root', empty]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^khpkg: malformed BTF: type section .* past the end .*\n$/);
    assert.deepEqual(readdirSync(empty), []);
  });
});
