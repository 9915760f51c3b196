import type {Architecture} from '../archive/arch.js';

/**
 * A BTF-only `vmlinux`, as Debian's headers packages ship one: an ELF file whose only sections are
 * `.BTF` (and `.BTF_ids` when the kernel has it), no code, no symbols. kbuild's Makefile.modfinal
 * gives it to pahole (`--btf_base vmlinux`) and resolve_btfids (`-b vmlinux`) so that out-of-tree
 * modules get BTF of their own, and bpftool and libbpf read it like any vmlinux.
 */

const SHT_PROGBITS = 1;
const SHT_STRTAB = 3;

/**
 * The ELF of the kernel's own architecture: its machine number, word size and byte order (pahole and
 * libbpf read .BTF in the ELF's byte order, so a big-endian kernel's BTF needs a big-endian ELF).
 */
export function btfOnlyElf(arch: Architecture, btf: Buffer, btfIds?: Buffer): Buffer {
  const is64 = arch.bits === 64;
  const le = arch.littleEndian;
  const sections: {name: string; type: number; data: Buffer; align: number}[] = [
    {name: '.BTF', type: SHT_PROGBITS, data: btf, align: 4},
    ...(btfIds ? [{name: '.BTF_ids', type: SHT_PROGBITS, data: btfIds, align: 4}] : []),
  ];
  const shstrtab = Buffer.from(`\0${sections.map((s) => `${s.name}\0`).join('')}.shstrtab\0`, 'latin1');
  const ehsize = is64 ? 64 : 52;
  const shentsize = is64 ? 64 : 40;
  // Header, then each section's bytes (aligned), then the section header table (8-aligned).
  const offsets: number[] = [];
  let at = ehsize;
  for (const s of [...sections.map((x) => x.data), shstrtab]) {
    at = Math.ceil(at / 4) * 4;
    offsets.push(at);
    at += s.length;
  }
  const shoff = Math.ceil(at / 8) * 8;
  const shnum = sections.length + 2;
  const out = Buffer.alloc(shoff + shnum * shentsize);
  const u16 = (v: number, o: number): number => (le ? out.writeUInt16LE(v, o) : out.writeUInt16BE(v, o));
  const u32 = (v: number, o: number): number => (le ? out.writeUInt32LE(v, o) : out.writeUInt32BE(v, o));
  const word = (v: number, o: number): number => (is64 ? (le ? out.writeBigUInt64LE(BigInt(v), o) : out.writeBigUInt64BE(BigInt(v), o)) : u32(v, o));
  out.write('\x7fELF', 0, 'latin1');
  out[4] = is64 ? 2 : 1;
  out[5] = le ? 1 : 2;
  out[6] = 1; // EV_CURRENT
  u16(1, 16); // ET_REL: an object with no code (an executable without program headers is one lintian calls statically linked)
  u16(arch.elfMachine, 18);
  u32(1, 20);
  word(shoff, is64 ? 0x28 : 0x20);
  u16(ehsize, is64 ? 0x34 : 0x28);
  u16(shentsize, is64 ? 0x3a : 0x2e);
  u16(shnum, is64 ? 0x3c : 0x30);
  u16(shnum - 1, is64 ? 0x3e : 0x32); // .shstrtab is the last section
  const all = [...sections, {name: '.shstrtab', type: SHT_STRTAB, data: shstrtab, align: 1}];
  all.forEach((s, i) => {
    s.data.copy(out, offsets[i]!);
    const h = shoff + (i + 1) * shentsize;
    u32(shstrtab.indexOf(`${s.name}\0`, 0, 'latin1'), h);
    u32(s.type, h + 4);
    if (is64) {
      word(offsets[i]!, h + 24);
      word(s.data.length, h + 32);
      word(s.align, h + 48);
    } else {
      u32(offsets[i]!, h + 16);
      u32(s.data.length, h + 20);
      u32(s.align, h + 32);
    }
  });
  return out;
}
