import assert from 'node:assert/strict';
import {existsSync, readdirSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {findBtf} from '../../src/btf/image.js';
import {CACHE} from '../helpers/cache.js';
import {debianKernelDeb} from '../helpers/kernel-packages.js';
import {REAL} from '../helpers/kheaders.js';
import {kbuildTestInputs} from '../helpers/module.js';
import {khpkg, mustRun, needInput, scratch} from '../helpers/run.js';

/**
 * The vmlinux ELF inside an x86 bzImage, taken out with the machine's own tools (the setup header's
 * payload_offset, then `zstd -d` or `xz -d`): what bpftool can read, khpkg's reader not involved.
 */
function vmlinuxOf(bzImage: string, out: string): string {
  const b = readFileSync(bzImage);
  const start = ((b[0x1f1] || 4) + 1) * 512 + b.readUInt32LE(0x248);
  const payload = b.subarray(start, start + b.readUInt32LE(0x24c));
  const zstd = payload.readUInt32LE(0) === 0xfd2fb528;
  writeFileSync(`${out}.payload`, payload.subarray(0, payload.length - 4));
  // The size trailer is not part of the stream; zstd and xz stop at the end of their frame.
  mustRun('sh', ['-c', `${zstd ? 'zstd -dc' : 'xz -dc'} '${out}.payload' > '${out}'`]);
  return out;
}

describe('btf dump: vmlinux.h without bpftool, the same bytes as bpftool 7.1 writes (#38)', function () {
  this.timeout(300_000);
  const s = scratch();
  after(() => s.cleanup());
  const dump = (args: string[], env: Record<string, string> = {}) => khpkg(['btf', 'dump', ...args], {env});
  const bpftoolC = (file: string) => mustRun('bpftool', ['btf', 'dump', 'file', file, 'format', 'c']);

  it("a Debian amd64 bzImage (zstd payload) and a kernel package: the same vmlinux.h bpftool writes from the kernel's vmlinux", () => {
    const {abi} = kbuildTestInputs();
    const dir = join(CACHE, `image-${abi}`, 'boot');
    const image = join(
      dir,
      readdirSync(dir).find((f) => f.startsWith('vmlinuz-'))!,
    );
    const expected = bpftoolC(vmlinuxOf(image, join(s.dir, 'vmlinux')));
    const out = join(s.dir, 'amd64.h');
    const r = dump([image, '-o', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^wrote .*amd64\.h: \d+ types from .* \(x86 bzImage \(zstd\)\)\n$/);
    assert.equal(readFileSync(out, 'latin1'), expected);
    // stdout, and --json beside -o.
    assert.equal(dump([image]).stdout, expected);
    const j = JSON.parse(dump([image, '-o', out, '--json']).stdout) as {from: string; release: string; types: number; bytes: number};
    assert.deepEqual([j.from, j.release, j.bytes], ['x86 bzImage (zstd)', abi, Buffer.byteLength(expected, 'latin1')]);
    // Debian's linux-image package of the bundled archive's kernel: its /boot/vmlinuz read out of the .deb.
    const deb = debianKernelDeb(REAL.release);
    needInput(deb, `no linux-image-${REAL.release} .deb in ${CACHE}/kernel-pkgs: 'npm run setup' fetches it`);
    const unpacked = join(s.dir, 'deb');
    mustRun('dpkg-deb', ['-x', deb!, unpacked]);
    const fromDeb = dump([deb!]);
    assert.equal(fromDeb.code, 0, fromDeb.stderr);
    assert.equal(fromDeb.stdout, bpftoolC(vmlinuxOf(join(unpacked, `boot/vmlinuz-${REAL.release}`), join(s.dir, 'vmlinux-deb'))));
  });

  it("an arm64 Image (no sections: BTF found by its header) and the running kernel's BTF, the default SOURCE", async () => {
    const image = readdirSync(CACHE).find((f) => /^vmlinuz-.*-arm64$/.test(f));
    needInput(image, `no arm64 vmlinuz in ${CACHE}: 'npm run setup' fetches one (bin/fetch-kbuild-test-debs.sh)`);
    const raw = join(s.dir, 'arm64.btf');
    writeFileSync(raw, (await findBtf(readFileSync(join(CACHE, image!)), image!)).btf);
    const r = dump([join(CACHE, image!)]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, bpftoolC(raw));
    // No SOURCE: /sys/kernel/btf/vmlinux (KHPKG_SYSFS_BTF stands in for it), raw BTF as the kernel serves it.
    assert.equal(dump([], {KHPKG_SYSFS_BTF: raw}).stdout, bpftoolC(raw));
    if (existsSync('/sys/kernel/btf/vmlinux')) {
      const own = bpftoolC('/sys/kernel/btf/vmlinux');
      assert.equal(dump([], {KHPKG_SYSFS_BTF: '/sys/kernel/btf/vmlinux'}).stdout, own, "this machine's own kernel");
      // Named as SOURCE too: sysfs says the file has 4096 bytes, whatever it holds.
      assert.equal(dump(['/sys/kernel/btf/vmlinux']).stdout, own, '/sys/kernel/btf/vmlinux as SOURCE');
    } else process.stdout.write("      (this machine's kernel has no /sys/kernel/btf/vmlinux: its own BTF is not compared)\n");
  });

  it('malformed BTF, a file without BTF, no running BTF, a bad -o: one line each, exit 1, no file written; --json without -o is a usage error', () => {
    const good = readFileSync(
      join(
        CACHE,
        readdirSync(CACHE).find((f) => /^vmlinuz-.*-arm64$/.test(f))!,
      ),
    );
    const cut = join(s.dir, 'cut.btf');
    // A BTF header whose type section runs past the end.
    const header = Buffer.alloc(24);
    header.writeUInt16LE(0xeb9f, 0);
    header[2] = 1;
    header.writeUInt32LE(24, 4);
    header.writeUInt32LE(4096, 12);
    writeFileSync(cut, Buffer.concat([header, good.subarray(0, 100)]));
    const notKernel = join(s.dir, 'notes.txt');
    writeFileSync(notKernel, 'not a kernel\n');
    const out = join(s.dir, 'never.h');
    const cases: [string[], Record<string, string>, RegExp][] = [
      [[cut, '-o', out], {}, /^khpkg: malformed BTF: type section \(offset 0, 4096 bytes\) past the end/],
      [[notKernel, '-o', out], {}, /^khpkg: .*notes\.txt is not a kernel image, a vmlinux or a BTF file/],
      [[join(s.dir, 'missing'), '-o', out], {}, /^khpkg: .*missing: no such file/],
      [['-o', out], {KHPKG_SYSFS_BTF: join(s.dir, 'no-sysfs')}, /^khpkg: .*no-sysfs: no such file: the running kernel has no BTF \(CONFIG_DEBUG_INFO_BTF\)/],
    ];
    for (const [args, env, re] of cases) {
      const r = dump(args, env);
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.equal(existsSync(out), false, 'nothing written');
    }
    assert.deepEqual(
      readdirSync(s.dir).filter((f) => f.includes('never')),
      [],
      'no temp file left',
    );
    const badOut = dump([cut.replace('cut.btf', 'arm64.btf'), '-o', join(s.dir, 'no/such/dir/x.h')]);
    assert.equal(badOut.code, 1);
    assert.match(badOut.stderr, /^khpkg: .*x\.h: its directory does not exist\n$/);
    const json = dump([cut, '--json']);
    assert.equal(json.code, 2, json.stderr);
    assert.match(json.stderr, /--json needs --out FILE/);
  });
});
