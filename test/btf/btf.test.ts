import assert from 'node:assert/strict';
import {readdirSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {gzipSync} from 'node:zlib';
import {btfFacts, parseBtf} from '../../src/btf/btf.js';
import {findBtf} from '../../src/btf/image.js';
import {writeVmlinuxH} from '../../src/btf/c-dump.js';
import {KhpkgError} from '../../src/errors.js';
import {btfFiles, type KernelBtf} from '../../src/source/btf.js';
import {CACHE} from '../helpers/debian-root.js';
import {kbuildTestInputs} from '../helpers/module.js';
import {mustRun, needInput, scratch} from '../helpers/run.js';

/** A small BTF blob made by hand: int, a struct with a pointer to itself, a typedef, an enum. */
function smallBtf(patch: (types: number[], strings: string[]) => void = () => {}, littleEndian = true): Buffer {
  const strings = ['', 'int', 'node', 'next', 'value', 'node_t', 'color', 'RED'];
  const off = (s: string): number => strings.slice(0, strings.indexOf(s)).reduce((n, x) => n + x.length + 1, 0);
  // [1] int, [2] struct node {struct node *next; int value;}, [3] ptr -> 2, [4] typedef node_t -> 2, [5] enum color {RED}
  const types = [
    ...[off('int'), 1 << 24, 4, (1 << 24) | 32],
    ...[off('node'), (4 << 24) | 2, 16, off('next'), 3, 0, off('value'), 1, 64],
    ...[0, 2 << 24, 2],
    ...[off('node_t'), 8 << 24, 2],
    ...[off('color'), (6 << 24) | 1, 4, off('RED'), 0],
  ];
  patch(types, strings);
  const typeBytes = Buffer.alloc(types.length * 4);
  const u32 = (b: Buffer, v: number, at: number): number => (littleEndian ? b.writeUInt32LE(v >>> 0, at) : b.writeUInt32BE(v >>> 0, at));
  types.forEach((v, i) => u32(typeBytes, v, i * 4));
  const str = Buffer.from(strings.map((s) => `${s}\0`).join(''), 'latin1');
  const header = Buffer.alloc(24);
  if (littleEndian) header.writeUInt16LE(0xeb9f, 0);
  else header.writeUInt16BE(0xeb9f, 0);
  header[2] = 1;
  u32(header, 24, 4);
  u32(header, 0, 8);
  u32(header, typeBytes.length, 12);
  u32(header, typeBytes.length, 16);
  u32(header, str.length, 20);
  return Buffer.concat([header, typeBytes, str]);
}

/** bpftool's own count of each kind, from `bpftool btf dump file F` (`[id] KIND 'name' ...`). */
function bpftoolKinds(file: string): Record<string, number> {
  const kinds: Record<string, number> = {};
  for (const m of mustRun('bpftool', ['btf', 'dump', 'file', file]).matchAll(/^\[\d+\] (\w+) /gm)) {
    const k = m[1]!.toLowerCase();
    kinds[k] = (kinds[k] ?? 0) + 1;
  }
  return kinds;
}

describe('BTF: parsed with bounds, found in kernel images (#25)', function () {
  this.timeout(120_000);
  const s = scratch();
  after(() => s.cleanup());

  it("Debian's vmlinuz: the BTF in its zstd payload, every type bpftool sees, of the same kinds, and the banner's release", async () => {
    const {abi} = kbuildTestInputs();
    const dir = join(CACHE, `image-${abi}`, 'boot');
    const vmlinuz = join(
      dir,
      readdirSync(dir).find((f) => f.startsWith('vmlinuz-'))!,
    );
    const found = await findBtf(readFileSync(vmlinuz), vmlinuz);
    assert.match(found.from, /^x86 bzImage \((zstd|xz|gzip|lzma|bzip2)\)$/);
    assert.equal(found.release, abi);
    assert.ok(found.btfIds && found.btfIds.length > 0, 'vmlinux has .BTF_ids');
    const facts = btfFacts(parseBtf(found.btf));
    assert.ok(facts.types > 50_000, `${facts.types} types`);
    const raw = join(s.dir, 'vmlinux.btf');
    writeFileSync(raw, found.btf);
    assert.deepEqual(facts.kinds, bpftoolKinds(raw));
  });

  it("Debian's arm64 vmlinuz (an Image with an EFI stub, no sections): its BTF found by header, vmlinux.h equal to bpftool's", async function () {
    const image = readdirSync(CACHE).find((f) => /^vmlinuz-.*-arm64$/.test(f));
    needInput(image, `no arm64 vmlinuz in ${CACHE}: 'npm run setup' fetches one (bin/fetch-kbuild-test-debs.sh)`);
    const found = await findBtf(readFileSync(join(CACHE, image!)), image!);
    assert.deepEqual([found.from, found.release], ['arm64 Image', image!.slice('vmlinuz-'.length)]);
    const raw = join(s.dir, 'arm64.btf');
    writeFileSync(raw, found.btf);
    const ours = writeVmlinuxH(parseBtf(found.btf)).toString('latin1');
    assert.equal(ours, mustRun('bpftool', ['btf', 'dump', 'file', raw, 'format', 'c']));
    assert.match(ours, /^struct user_pt_regs \{$/m, "arm64's own types");
  });

  it('a vmlinux ELF, a raw BTF file, an arm64 Image (plain, gzip, EFI zboot) and an lzma payload are told by content', async () => {
    const btf = smallBtf();
    const raw = await findBtf(btf, 'raw');
    assert.deepEqual([raw.from, raw.release], ['raw BTF', undefined]);
    writeFileSync(join(s.dir, 'empty.c'), 'const char linux_banner[] = "Linux version 6.1.0-elf (me@here) #1";\n');
    mustRun('gcc', ['-c', join(s.dir, 'empty.c'), '-o', join(s.dir, 'empty.o')]);
    writeFileSync(join(s.dir, 'small.btf'), btf);
    mustRun('objcopy', ['--add-section', `.BTF=${join(s.dir, 'small.btf')}`, join(s.dir, 'empty.o'), join(s.dir, 'vmlinux')]);
    const elf = await findBtf(readFileSync(join(s.dir, 'vmlinux')), 'vmlinux');
    assert.deepEqual([elf.from, elf.release, elf.btf.equals(btf)], ['vmlinux ELF', '6.1.0-elf', true]);
    // arm64's Image: a flat binary, 'ARM\x64' at 0x38, BTF somewhere inside, the banner too.
    const image = Buffer.alloc(0x1000);
    image.write('ARM\x64', 0x38, 'latin1');
    image.write('Linux version 6.6.0-arm64 (builder@ci) #1 SMP\0', 0x200, 'latin1');
    const flat = Buffer.concat([image, Buffer.from([0x9f, 0xeb, 0x01]), Buffer.alloc(13), btf, Buffer.alloc(64)]);
    const plain = await findBtf(flat, 'Image');
    assert.deepEqual([plain.from, plain.release, plain.btf.equals(btf)], ['arm64 Image', '6.6.0-arm64', true]);
    const gz = await findBtf(gzipSync(flat), 'Image.gz');
    assert.deepEqual([gz.from, gz.btf.equals(btf)], ['arm64 Image (gzip)', true]);
    // EFI zboot (drivers/firmware/efi/libstub/zboot-header.S): MZ, 'zimg', payload offset and size, the method's name.
    const payload = Buffer.concat([gzipSync(flat), Buffer.alloc(4)]);
    const zboot = Buffer.alloc(0x200);
    zboot.write('MZ', 0, 'latin1');
    zboot.write('zimg', 4, 'latin1');
    zboot.writeUInt32LE(0x200, 8);
    zboot.writeUInt32LE(payload.length, 12);
    zboot.write('gzip', 24, 'latin1');
    const efi = await findBtf(Buffer.concat([zboot, payload]), 'vmlinuz.efi');
    assert.deepEqual([efi.from, efi.release], ['arm64 EFI zboot (gzip)', '6.6.0-arm64']);
    writeFileSync(join(s.dir, 'Image'), flat);
    mustRun('xz', ['--format=lzma', '-k', join(s.dir, 'Image')]);
    assert.equal((await findBtf(readFileSync(join(s.dir, 'Image.lzma')), 'Image.lzma')).from, 'arm64 Image (lzma)');
  });

  it('a kernel without BTF, and files that are no kernel, get one line', async () => {
    writeFileSync(join(s.dir, 'nobtf.c'), 'int x;\n');
    mustRun('gcc', ['-c', join(s.dir, 'nobtf.c'), '-o', join(s.dir, 'nobtf.o')]);
    await assert.rejects(
      findBtf(readFileSync(join(s.dir, 'nobtf.o')), 'nobtf.o'),
      /^KhpkgError: nobtf\.o has no \.BTF section: the kernel was built without CONFIG_DEBUG_INFO_BTF$/,
    );
    const image = Buffer.alloc(0x1000);
    image.write('ARM\x64', 0x38, 'latin1');
    await assert.rejects(findBtf(image, 'Image'), /carries no BTF/);
    await assert.rejects(findBtf(Buffer.from('hello world, not a kernel'), 'notes.txt'), /notes\.txt is not a kernel image, a vmlinux or a BTF file/);
  });

  it("the BTF-only vmlinux is an ELF of the kernel's own machine, word size and byte order: a big-endian ppc64 BTF gets a big-endian ELF that readelf and bpftool read; an unknown arch or the other byte order is an error (#37)", async () => {
    const kernelBtf = (blob: Buffer): KernelBtf => {
      const btf = parseBtf(blob);
      return {origin: 'made.btf', from: 'raw BTF', btf, blob, sha256: '', types: btf.count, given: true};
    };
    const vmlinux = (blob: Buffer, rpmArch: string, debArch = rpmArch): Buffer =>
      btfFiles(kernelBtf(blob), {srcarch: 'x', debArch, rpmArch}).find((f) => f.path === 'vmlinux')!.data;
    const cases: [string, string, Buffer, RegExp][] = [
      ['ppc64', 'ppc64', smallBtf(undefined, false), /Data:\s+2's complement, big endian[\s\S]*Machine:\s+PowerPC64/],
      ['s390x', 's390x', smallBtf(undefined, false), /Class:\s+ELF64[\s\S]*big endian[\s\S]*Machine:\s+IBM S\/390/],
      ['ppc64le', 'ppc64el', smallBtf(), /Class:\s+ELF64[\s\S]*little endian[\s\S]*Machine:\s+PowerPC64/],
      ['armv7hl', 'armhf', smallBtf(), /Class:\s+ELF32[\s\S]*little endian[\s\S]*Machine:\s+ARM/],
      ['aarch64', 'arm64', smallBtf(), /Class:\s+ELF64[\s\S]*little endian[\s\S]*Machine:\s+AArch64/],
    ];
    for (const [rpmArch, debArch, blob, header] of cases) {
      const file = join(s.dir, `vmlinux-${rpmArch}`);
      writeFileSync(file, vmlinux(blob, rpmArch, debArch));
      assert.match(mustRun('readelf', ['-h', file]), header, rpmArch);
      // libbpf reads BTF of either byte order; the types are the same five in every one.
      assert.deepEqual(bpftoolKinds(file), {int: 1, struct: 1, ptr: 1, typedef: 1, enum: 1}, rpmArch);
      // khpkg's own reader finds the .BTF in it, byte for byte.
      assert.deepEqual((await findBtf(readFileSync(file), file)).btf, blob, rpmArch);
    }
    assert.throws(() => vmlinux(smallBtf(), 'hexagon'), /^KhpkgError: architecture 'hexagon' is not one khpkg knows/);
    assert.throws(() => vmlinux(smallBtf(), 'ppc64'), /^KhpkgError: made\.btf holds little-endian BTF, but the headers are ppc64's \(big-endian\)$/);
  });

  it('malformed BTF: one line naming the problem, for every way it can lie', () => {
    const cases: [string, Buffer, RegExp][] = [
      ['short', smallBtf().subarray(0, 10), /shorter than its 24-byte header/],
      ['magic', Buffer.concat([Buffer.from([0, 0]), smallBtf().subarray(2)]), /magic 0x0, not 0xeb9f/],
      ['types past the end', smallBtf().subarray(0, 60), /type section .* past the end/],
      [
        'string past the end',
        smallBtf((t) => {
          t[0] = 9999;
        }),
        /type \[1\] name: string offset 9999 past the string section/,
      ],
      [
        'unknown kind',
        smallBtf((t) => {
          t[1] = 25 << 24;
        }),
        /BTF type \[1\] has kind 25, which khpkg does not know \(known: int, ptr,/,
      ],
      [
        'dangling id',
        smallBtf((t) => {
          t[15] = 77;
        }),
        /type \[3\] \(ptr \) itself refers to type \[77\], past the last type \[5\]/,
      ],
      [
        'loop',
        smallBtf((t) => {
          t[18] = 4;
        }),
        /a loop of types through \[4\] \(typedef node_t\)/,
      ],
      [
        'absurd vlen',
        smallBtf((t) => {
          t[5] = (4 << 24) | 0xffff;
        }),
        /type \[2\] \(struct of 65535 members\) cut short/,
      ],
    ];
    for (const [what, bytes, re] of cases) {
      assert.throws(
        () => parseBtf(bytes),
        (e: unknown) => e instanceof KhpkgError && re.test(e.message) && !e.message.includes('\n'),
        what,
      );
    }
    const good = parseBtf(smallBtf());
    assert.deepEqual(
      Array.from({length: good.count}, (_, id) => [good.kind(id), good.name(id)]),
      [
        ['unkn', ''],
        ['int', 'int'],
        ['struct', 'node'],
        ['ptr', ''],
        ['typedef', 'node_t'],
        ['enum', 'color'],
      ],
    );
    assert.deepEqual(
      good.type(2).members.map((m) => [m.name, m.type, m.offset]),
      [
        ['next', 3, 0],
        ['value', 1, 64],
      ],
    );
  });
});
