import assert from 'node:assert/strict';
import {readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {gzipSync} from 'node:zlib';
import {kheadersArchive, REAL} from '../helpers/kheaders.js';
import {khpkg, mustRun, scratch} from '../helpers/run.js';

function inspect(args: string[], opts: Parameters<typeof khpkg>[1] = {}): {release: string; sha256: string; files: number} {
  const r = khpkg(['inspect', ...args, '--json'], opts);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

/** An assembler file that embeds an archive the way kernel/kheaders.c does. */
function kheadersAsm(archive: string): string {
  return [
    '.section .rodata, "a"',
    'unrelated: .ascii "\\xfd7zXZ\\0 padding that looks like xz but is not"',
    '.global kernel_headers_data',
    'kernel_headers_data:',
    `.incbin "${archive}"`,
    '.global kernel_headers_data_end',
    'kernel_headers_data_end:',
    '.byte 1, 2, 3',
  ].join('\n');
}

describe('sources: file, stdin, kheaders.ko, the running kernel', () => {
  const s = scratch();
  after(() => s.cleanup());

  it('inspect reads release, version, arch, compiler, counts and sha256 from the real archive', () => {
    const info = inspect([REAL.archive]);
    assert.deepEqual(info, {
      release: REAL.release,
      version: '6.12.117',
      srcarch: 'x86',
      debArch: 'amd64',
      rpmArch: 'x86_64',
      compiler: 'x86_64-linux-gnu-gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40',
      files: 6686,
      bytes: 29036630,
      sha256: REAL.sha256,
      consumerCflags: [],
    });
  });

  it('stdin (-) gives the same answer', () => {
    assert.equal(inspect(['-'], {input: readFileSync(REAL.archive)}).sha256, REAL.sha256);
  });

  it('a kheaders.ko (found by its kernel_headers_data symbols) gives the same package as the archive', () => {
    const asm = join(s.dir, 'kheaders.S');
    writeFileSync(asm, kheadersAsm(REAL.archive));
    const ko = join(s.dir, 'kheaders.ko');
    mustRun('gcc', ['-c', asm, '-o', ko]);
    assert.equal(inspect([ko]).sha256, REAL.sha256, 'the extracted bytes are the archive, exactly');
    const build = (src: string, out: string): string => {
      const r = khpkg(['build', src, '--out', join(s.dir, out), '-z', 'zstd', '--json']);
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout).packages[0].sha256;
    };
    assert.equal(build(ko, 'from-ko'), build(REAL.archive, 'from-archive'));
  });

  it('a .ko.xz and a .ko.zst are read too, by content', () => {
    const ko = join(s.dir, 'kheaders.ko');
    mustRun('xz', ['-k', '-f', ko]);
    mustRun('zstd', ['-q', '-f', ko, '-o', `${ko}.zst`]);
    const renamed = join(s.dir, 'module-without-suffix');
    writeFileSync(renamed, readFileSync(`${ko}.xz`));
    for (const f of [`${ko}.xz`, `${ko}.zst`, renamed]) assert.equal(inspect([f]).sha256, REAL.sha256, f);
  });

  it('a module without symbols is searched by xz framing', async () => {
    const small = join(s.dir, 'small.tar.xz');
    const bytes = await kheadersArchive({release: '6.6.0-stripped'});
    writeFileSync(small, bytes);
    const obj = join(s.dir, 'empty.o');
    writeFileSync(join(s.dir, 'empty.c'), 'int x = 1;\n');
    mustRun('gcc', ['-c', join(s.dir, 'empty.c'), '-o', obj]);
    const ko = join(s.dir, 'stripped.ko');
    mustRun('objcopy', ['--add-section', `.rodata.kh=${small}`, obj, ko]);
    const info = inspect([ko]);
    assert.equal(info.release, '6.6.0-stripped');
    assert.equal(info.sha256, mustRun('sha256sum', [small]).split(' ')[0]);
  });

  it('a module whose embedded archive is cut short is an error', async () => {
    const bytes = await kheadersArchive();
    const cut = join(s.dir, 'cut.tar.xz');
    writeFileSync(cut, bytes.subarray(0, bytes.length - 100));
    writeFileSync(join(s.dir, 'cut.S'), kheadersAsm(cut));
    mustRun('gcc', ['-c', join(s.dir, 'cut.S'), '-o', join(s.dir, 'cut.ko')]);
    const r = khpkg(['inspect', join(s.dir, 'cut.ko')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^khpkg: xz data is (cut short|corrupt)/);
  });

  it('no SOURCE reads the running kernel (KHPKG_KHEADERS stands in for /sys/kernel/kheaders.tar.xz)', () => {
    assert.equal(inspect([], {env: {KHPKG_KHEADERS: REAL.archive}}).release, REAL.release);
  });

  it('a kernel without CONFIG_IKHEADERS gets a one-line error saying what to do', () => {
    const cfg = join(s.dir, 'config.gz');
    writeFileSync(cfg, gzipSync('CONFIG_SMP=y\n# CONFIG_IKHEADERS is not set\n'));
    const r = khpkg(['inspect'], {env: {KHPKG_KHEADERS: join(s.dir, 'nope'), KHPKG_PROC_CONFIG: cfg, KHPKG_RUNNING_RELEASE: '6.9.0-x'}});
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      "khpkg: the running kernel 6.9.0-x was built without CONFIG_IKHEADERS: pass an archive or a kheaders.ko, or install the distro's headers package\n",
    );
  });

  it("the running kernel's /proc/config.gz is added by default", () => {
    const r = khpkg(['build', '--out', join(s.dir, 'rk'), '-z', 'zstd', '--json'], {
      env: {KHPKG_KHEADERS: REAL.archive, KHPKG_PROC_CONFIG: join(s.dir, 'proc-config.gz')},
    });
    // No config file there: built without .config.
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(mustRun('dpkg-deb', ['--contents', JSON.parse(r.stdout).packages[0].path]), /\.config/);
    writeFileSync(join(s.dir, 'proc-config.gz'), gzipSync(readFileSync(REAL.config)));
    const r2 = khpkg(['build', '--out', join(s.dir, 'rk2'), '-z', 'zstd', '--json'], {
      env: {KHPKG_KHEADERS: REAL.archive, KHPKG_PROC_CONFIG: join(s.dir, 'proc-config.gz')},
    });
    assert.equal(r2.code, 0, r2.stderr);
    assert.match(mustRun('dpkg-deb', ['--contents', JSON.parse(r2.stdout).packages[0].path]), /\/\.config\n/);
  });

  it('a missing file and a directory without a kernel in it are one-line errors', () => {
    const r = khpkg(['inspect', join(s.dir, 'missing.tar.xz')]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `khpkg: ${join(s.dir, 'missing.tar.xz')}: no such file\n`);
    const d = khpkg(['inspect', s.dir]);
    assert.equal(d.stderr, `khpkg: ${s.dir}: a directory without an unpacked kernel (no lib/modules/<release>/ or boot/vmlinuz-<release>)\n`);
  });

  it('usage errors exit 2', () => {
    const r = khpkg(['build', REAL.archive, '--format', 'msi']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^khpkg: usage: /);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  });
});
