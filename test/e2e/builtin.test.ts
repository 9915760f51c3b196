import assert from 'node:assert/strict';
import {copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {findBtf} from '../../src/btf/image.js';
import {CACHE} from '../helpers/cache.js';
import {REAL} from '../helpers/kheaders.js';
import {kernelDeb} from '../helpers/kernel-packages.js';
import {installedKernelRoot} from '../helpers/roots.js';
import {khpkg, mustRun, needInput, scratch, tool} from '../helpers/run.js';
import {treeDigest} from '../helpers/tree.js';

/** The real CONFIG_IKHEADERS=y kernels bin/make-ikheaders-kernels.sh made: tinyconfig 6.1, one vmlinux, three payload compressions. */
const IKH = join(CACHE, 'ikheaders-y-6.1');
const IMAGES = ['zstd', 'lz4', 'lzo'] as const;

/** An error khpkg reports as users see it: one line, `khpkg: ...`, no stack trace. */
function oneLine(r: {code: number; stderr: string}, re: RegExp): void {
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^khpkg: [^\n]+\n$/, 'one line');
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  assert.match(r.stderr, re);
}

describe('CONFIG_IKHEADERS=y: the headers inside the kernel image (#34)', function () {
  this.timeout(600_000);
  const s = scratch();
  after(() => s.cleanup());
  let release: string;
  /** kbuild's own kernel/kheaders_data.tar.xz, the one each image embeds: the ground truth. */
  let truth: Map<string, string>;
  let truthSha: string;
  const image = (c: string): string => join(IKH, `bzImage-${c}`);

  before(() => {
    needInput(existsSync(join(IKH, 'bzImage-lzo')), `no IKHEADERS=y kernels in ${IKH}: 'npm run setup' makes them (bin/make-ikheaders-kernels.sh)`);
    release = readFileSync(join(IKH, 'release'), 'utf8').trim();
    mkdirSync(join(s.dir, 'truth'));
    mustRun('tar', ['-xJf', join(IKH, 'kheaders_data.tar.xz'), '-C', join(s.dir, 'truth')]);
    truth = treeDigest(join(s.dir, 'truth'));
    truthSha = mustRun('sha256sum', [join(IKH, 'kheaders_data.tar.xz')]).split(' ')[0]!;
  });

  it('inspect of each bzImage (zstd, lz4 and lzo payloads) names the release, and finds the very archive kbuild embedded', () => {
    for (const c of IMAGES) {
      const r = khpkg(['inspect', image(c), '--json']);
      assert.equal(r.code, 0, r.stderr);
      const info = JSON.parse(r.stdout) as {release: string; sha256: string; srcarch: string; btf?: unknown};
      assert.deepEqual([info.release, info.srcarch, info.sha256], [release, 'x86', truthSha], c);
      assert.equal(info.btf, undefined, 'tinyconfig has no BTF: none is claimed');
    }
  });

  it("build from the zstd image: a .deb dpkg-deb and lintian accept, whose tree holds every file of kbuild's archive byte for byte", () => {
    const out = join(s.dir, 'deb');
    const r = khpkg(['build', image('zstd'), '--config', join(IKH, 'config'), '-o', out, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const [deb] = (JSON.parse(r.stdout) as {packages: {path: string}[]}).packages;
    mustRun('dpkg-deb', ['--info', deb!.path]);
    assert.doesNotMatch(tool('lintian', ['--no-tag-display-limit', deb!.path]).stdout, /^E: /m);
    const root = join(s.dir, 'deb-root');
    mkdirSync(root);
    mustRun('dpkg-deb', ['-x', deb!.path, root]);
    const tree = treeDigest(join(root, `usr/src/linux-headers-${release}`));
    for (const [path, what] of truth) assert.equal(tree.get(path), what, path);
  });

  it('install --kernel with only the lz4 image in /boot: the headers come from the image, equal to kbuild’s archive; the kernel hook does the same', () => {
    const root = join(s.dir, 'image-only');
    mkdirSync(join(root, 'boot'), {recursive: true});
    mkdirSync(join(root, 'lib/modules', release), {recursive: true});
    writeFileSync(join(root, 'lib/modules', release, 'modules.builtin'), 'kernel/kernel/kheaders.ko\n');
    copyFileSync(image('lz4'), join(root, 'boot', `vmlinuz-${release}`));
    copyFileSync(join(IKH, 'config'), join(root, 'boot', `config-${release}`));
    const r = khpkg(['install', '--kernel', release, '--root', root, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const info = JSON.parse(khpkg(['info', release, '--root', root, '--json']).stdout) as {sourceKind: string; sourcePath: string; sourceSha256: string};
    assert.deepEqual([info.sourceKind, info.sourcePath, info.sourceSha256], ['kernel-image', join(root, 'boot', `vmlinuz-${release}`), truthSha]);
    const tree = treeDigest(join(root, `usr/src/linux-headers-${release}`));
    for (const [path, what] of truth) assert.equal(tree.get(path), what, path);
    assert.equal(khpkg(['verify', '--root', root]).code, 0);
    // The kernel's postinst hook: no longer "at its first boot", the headers now.
    assert.equal(khpkg(['remove', release, '--root', root, '-q']).code, 0);
    assert.equal(khpkg(['hooks', 'enable', '--root', root]).code, 0);
    const hook = tool('run-parts', [`--arg=${release}`, `--arg=/boot/vmlinuz-${release}`, join(root, 'etc/kernel/postinst.d')], {env: {DPKG_ROOT: root}});
    assert.equal(hook.code, 0, hook.stderr);
    assert.match(hook.stdout, new RegExp(`khpkg: installed headers for ${release.replace(/\./g, '\\.')} at `));
    assert.equal(khpkg(['verify', release, '--root', root]).code, 0);
  });

  it('a kernel package whose image holds the headers (=y, no kheaders.ko, as Bottlerocket’s): build makes the set from its image', () => {
    const pkg = kernelDeb(s.dir, `linux-image-${release}`, release, {
      [`boot/vmlinuz-${release}`]: {from: image('lzo')},
      [`boot/config-${release}`]: {from: join(IKH, 'config')},
      [`lib/modules/${release}/modules.builtin`]: {text: 'kernel/kernel/kheaders.ko\n'},
    });
    const r = khpkg(['build', pkg, '-o', join(s.dir, 'kpkg'), '-z', 'zstd', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const kernels = (JSON.parse(r.stdout) as {kernels: {release: string; ok: boolean}[]}).kernels;
    assert.deepEqual(
      kernels.map((k) => [k.release, k.ok]),
      [[release, true]],
    );
    const listed = mustRun('dpkg-deb', ['-c', (JSON.parse(r.stdout) as {packages: {path: string}[]}).packages[0]!.path]);
    assert.match(listed, /include\/linux\/kconfig\.h/);
  });

  it('bad images: a payload that decodes to garbage, an xz stream that is no kheaders tar, a payload over the bounds: one line each, nothing written', () => {
    const good = readFileSync(image('zstd'));
    const setupSects = good[0x1f1]!;
    const payloadAt = (setupSects + 1) * 512 + good.readUInt32LE(0x248);
    const length = good.readUInt32LE(0x24c);
    // A payload whose zstd frames are damaged midway.
    const garbage = Buffer.from(good);
    for (let i = payloadAt + 1000; i < payloadAt + length - 8; i += 997) garbage[i] ^= 0xa5;
    // A payload that is a zstd bomb: 300 MiB of zeros in a few KB, in place of the kernel.
    writeFileSync(join(s.dir, 'zeros'), Buffer.alloc(300 << 20));
    const bomb = mustRun('sh', ['-c', `zstd -19 -q -c '${join(s.dir, 'zeros')}' | base64 -w0`]);
    const bombBytes = Buffer.from(bomb, 'base64');
    const size = Buffer.alloc(4);
    size.writeUInt32LE(300 << 20);
    const bombed = Buffer.concat([good.subarray(0, payloadAt), bombBytes, size]);
    bombed.writeUInt32LE(bombBytes.length + 4, 0x24c);
    // A vmlinux (an executable ELF) holding an xz stream of a tar that is not the kernel's headers.
    mkdirSync(join(s.dir, 'other/etc'), {recursive: true});
    writeFileSync(join(s.dir, 'other/etc/motd'), 'not headers\n');
    mustRun('tar', ['-C', join(s.dir, 'other'), '-cJf', join(s.dir, 'other.tar.xz'), '.']);
    writeFileSync(join(s.dir, 'main.c'), 'int main(void) { return 0; }\n');
    mustRun('gcc', ['-no-pie', '-o', join(s.dir, 'exe'), join(s.dir, 'main.c')]);
    mustRun('objcopy', ['--add-section', `.rodata.other=${join(s.dir, 'other.tar.xz')}`, join(s.dir, 'exe'), join(s.dir, 'vmlinux-other')]);
    const cases: [string, Buffer, RegExp][] = [
      ['garbage', garbage, /its zstd payload does not decompress/],
      ['bomb', bombed, /its zstd payload does not decompress \(decompresses past 268435456 bytes\)/],
      ['other-xz', readFileSync(join(s.dir, 'vmlinux-other')), /holds no kheaders archive: the kernel was built without CONFIG_IKHEADERS=y/],
      ['empty-payload', Buffer.concat([good.subarray(0, payloadAt)]), /a bzImage whose payload .* is past its end/],
    ];
    for (const [name, bytes, re] of cases) {
      const file = join(s.dir, `bad-${name}`);
      writeFileSync(file, bytes);
      for (const args of [
        ['inspect', file],
        ['build', file, '-o', join(s.dir, `out-${name}`)],
        ['install', file, '--root', join(s.dir, `root-${name}`)],
      ]) {
        if (args[0] === 'install') mkdirSync(join(s.dir, `root-${name}`));
        oneLine(khpkg(args), re);
      }
      assert.equal(existsSync(join(s.dir, `out-${name}`)), false, `${name}: no package dir`);
      assert.deepEqual(readdirSync(join(s.dir, `root-${name}`)), [], `${name}: nothing installed`);
    }
  });
});

describe('an extra never costs the headers; the running kernel’s BTF is the running kernel’s (#34)', function () {
  this.timeout(300_000);
  const s = scratch();
  after(() => s.cleanup());
  const REL = REAL.release;

  it('an installed kernel whose /boot/vmlinuz is empty, cut short or of a kind khpkg cannot read: install --kernel and the hook install the headers, with one line about the image; info says no BTF', () => {
    const debianImage = join(CACHE, `vmlinuz-${REL}`);
    needInput(existsSync(debianImage), `no ${debianImage}: 'npm run setup' keeps Debian's vmlinuz of ${REL} (bin/fetch-kbuild-test-debs.sh)`);
    const images: [string, Buffer, RegExp][] = [
      ['empty', Buffer.alloc(0), /is not a kernel image, a vmlinux or a BTF file \(told by content\): the set is made without BTF/],
      ['cut-short', readFileSync(debianImage).subarray(0, 1 << 20), /a bzImage whose payload .* is past its end: the set is made without BTF/],
      [
        'unknown',
        Buffer.from('MZ this is no kernel khpkg knows'.repeat(4096)),
        /is not a kernel image, a vmlinux or a BTF file \(told by content\): the set is made without BTF/,
      ],
    ];
    for (const [name, bytes, re] of images) {
      const root = join(s.dir, name);
      installedKernelRoot(s.dir, root);
      writeFileSync(join(root, 'boot', `vmlinuz-${REL}`), bytes);
      const r = khpkg(['install', '--kernel', REL, '--root', root, '--kbuild', 'none']);
      assert.equal(r.code, 0, `${name}: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^note: /boot/vmlinuz-${REL.replace(/\+/g, '\\+')}.*`, 'm'));
      assert.match(r.stdout, re, name);
      assert.match(khpkg(['info', REL, '--root', root]).stdout, /^btf +none: /m);
      assert.equal(existsSync(join(root, `usr/src/linux-headers-${REL}/vmlinux.h`)), false);
      // The hook after a kernel install says the same in its one line, and installs all the same.
      assert.equal(khpkg(['remove', REL, '--root', root, '-q']).code, 0);
      assert.equal(khpkg(['hooks', 'enable', '--root', root]).code, 0);
      const hook = tool('run-parts', [`--arg=${REL}`, `--arg=/boot/vmlinuz-${REL}`, join(root, 'etc/kernel/postinst.d')], {env: {DPKG_ROOT: root}});
      assert.equal(hook.code, 0, hook.stderr);
      assert.match(
        hook.stdout,
        new RegExp(`^khpkg: installed headers for ${REL.replace(/\+/g, '\\+')} at .*\\(headers-only\\); /boot/vmlinuz-.*the set is made without BTF$`, 'm'),
      );
      assert.equal(khpkg(['verify', REL, '--root', root]).code, 0);
    }
  });

  it('--btf with the running kernel’s BTF for another release: one line, nothing written; found by itself for another release, it is left out with a note', async () => {
    const debianImage = join(CACHE, `vmlinuz-${REL}`);
    needInput(existsSync(debianImage), `no ${debianImage}: 'npm run setup' keeps Debian's vmlinuz of ${REL} (bin/fetch-kbuild-test-debs.sh)`);
    // A stand-in for /sys/kernel/btf/vmlinux (raw BTF), as KHPKG_SYSFS_BTF lets chroots and tests place it; and the machine's own where it has one.
    const sysfs = join(s.dir, 'sysfs-vmlinux');
    writeFileSync(sysfs, (await findBtf(readFileSync(debianImage), debianImage)).btf);
    const running = '6.18.0-khpkg-running';
    const env = {KHPKG_SYSFS_BTF: sysfs, KHPKG_RUNNING_RELEASE: running};
    for (const btf of [sysfs, ...(existsSync('/sys/kernel/btf/vmlinux') ? ['/sys/kernel/btf/vmlinux'] : [])]) {
      const out = join(s.dir, `out-${btf.length}`);
      const r = khpkg(['build', REAL.archive, '--btf', btf, '-o', out], {env});
      oneLine(
        r,
        new RegExp(
          `is the running kernel's BTF \\(${running}\\), but the headers are ${REL.replace(/\+/g, '\\+')}'s: give ${REL.replace(/\+/g, '\\+')}'s image with --btf`,
        ),
      );
      assert.equal(existsSync(out), false, 'nothing written');
    }
    // The running kernel's own sysfs BTF when its release is not the archive's (a chroot whose /sys is another kernel's).
    const root = join(s.dir, 'running');
    mkdirSync(root);
    const r = khpkg(['install', '--root', root], {env: {...env, KHPKG_KHEADERS: REAL.archive, KHPKG_PROC_CONFIG: REAL.config}});
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^note: .*sysfs-vmlinux is the running kernel's BTF \(6\.18\.0-khpkg-running\), but the headers are .*'s: the set is made without BTF$/m,
    );
    assert.match(khpkg(['info', REL, '--root', root]).stdout, /^btf +none: /m);
  });
});
