import {crc32} from 'node:zlib';

/** A symbol's bytes: where they are in the file. */
export interface FileRange {
  start: number;
  end: number;
}

export interface ElfSection {
  name: string;
  type: number;
  addr: bigint;
  offset: number;
  size: number;
  link: number;
}

export interface ElfSymbol {
  name: string;
  value: bigint;
  /** Index of the section it is defined in. */
  shndx: number;
}

/** An ELF file's sections and symbols (32/64-bit, either endianness), every offset checked. */
export interface Elf {
  relocatable: boolean;
  littleEndian: boolean;
  is64: boolean;
  sections: ElfSection[];
  section(name: string): ElfSection | undefined;
  /** The bytes of a section that has bytes in the file. */
  data(section: ElfSection): Buffer | undefined;
  symbols(): ElfSymbol[];
}

const SHT_SYMTAB = 2;
const SHT_NOBITS = 8;
const ET_REL = 1;

/**
 * Reads an ELF file's section and symbol tables. Undefined for anything that is not a well-formed
 * ELF: a hostile file cannot point outside itself.
 */
export function parseElf(elf: Buffer): Elf | undefined {
  if (elf.length < 52 || elf.readUInt32BE(0) !== 0x7f454c46) return undefined;
  const is64 = elf[4] === 2;
  const le = elf[5] === 1;
  const u16 = (o: number): number => (le ? elf.readUInt16LE(o) : elf.readUInt16BE(o));
  const u32 = (o: number): number => (le ? elf.readUInt32LE(o) : elf.readUInt32BE(o));
  const addr = (o: number): bigint => (is64 ? (le ? elf.readBigUInt64LE(o) : elf.readBigUInt64BE(o)) : BigInt(u32(o)));
  const inFile = (o: number, n: number): boolean => o >= 0 && n >= 0 && o + n <= elf.length;
  const cstring = (start: number, limit: number): string => {
    const end = elf.indexOf(0, start);
    return elf.toString('latin1', start, end < 0 || end > limit ? limit : end);
  };
  try {
    const type = u16(16);
    const shoff = Number(addr(is64 ? 0x28 : 0x20));
    const shentsize = u16(is64 ? 0x3a : 0x2e);
    const shnum = u16(is64 ? 0x3c : 0x30);
    const shstrndx = u16(is64 ? 0x3e : 0x32);
    if (shentsize < (is64 ? 64 : 40) || !inFile(shoff, shnum * shentsize)) return undefined;
    const raw = Array.from({length: shnum}, (_, i) => {
      const o = shoff + i * shentsize;
      return is64
        ? {nameOff: u32(o), type: u32(o + 4), addr: addr(o + 16), offset: Number(addr(o + 24)), size: Number(addr(o + 32)), link: u32(o + 40)}
        : {nameOff: u32(o), type: u32(o + 4), addr: BigInt(u32(o + 12)), offset: u32(o + 16), size: u32(o + 20), link: u32(o + 24)};
    });
    const names = raw[shstrndx];
    const namesOk = names !== undefined && inFile(names.offset, names.size);
    const sections: ElfSection[] = raw.map((r) => ({
      name: namesOk && r.nameOff < names.size ? cstring(names.offset + r.nameOff, names.offset + names.size) : '',
      type: r.type,
      addr: r.addr,
      offset: r.offset,
      size: r.size,
      link: r.link,
    }));
    const data = (sec: ElfSection): Buffer | undefined =>
      sec.type !== SHT_NOBITS && inFile(sec.offset, sec.size) ? elf.subarray(sec.offset, sec.offset + sec.size) : undefined;
    const symbols = (): ElfSymbol[] => {
      const symtab = sections.find((x) => x.type === SHT_SYMTAB);
      const strtab = symtab ? sections[symtab.link] : undefined;
      if (!symtab || !strtab || !inFile(symtab.offset, symtab.size) || !inFile(strtab.offset, strtab.size)) return [];
      const symsize = is64 ? 24 : 16;
      const out: ElfSymbol[] = [];
      for (let o = symtab.offset; o + symsize <= symtab.offset + symtab.size; o += symsize) {
        const nameOff = u32(o);
        if (nameOff >= strtab.size) continue;
        const name = cstring(strtab.offset + nameOff, strtab.offset + strtab.size);
        out.push(is64 ? {name, value: addr(o + 8), shndx: u16(o + 6)} : {name, value: BigInt(u32(o + 4)), shndx: u16(o + 14)});
      }
      return out;
    };
    return {
      relocatable: type === ET_REL,
      littleEndian: le,
      is64,
      sections,
      section: (name) => sections.find((x) => x.name === name),
      data,
      symbols,
    };
  } catch {
    return undefined;
  }
}

/**
 * Finds the bytes between two symbols of an ELF file: the way the kernel embeds kheaders
 * (`kernel_headers_data` .. `kernel_headers_data_end`, kernel/kheaders.c). Undefined when the file
 * has no symbol table or not both symbols in one section with bytes.
 */
export function rangeBetweenSymbols(buf: Buffer, startName: string, endName: string): FileRange | undefined {
  const elf = parseElf(buf);
  if (!elf) return undefined;
  const found = new Map(
    elf
      .symbols()
      .filter((s) => s.name === startName || s.name === endName)
      .map((s) => [s.name, s]),
  );
  const a = found.get(startName);
  const b = found.get(endName);
  if (!a || !b || a.shndx !== b.shndx) return undefined;
  const sec = elf.sections[a.shndx];
  if (!sec || !elf.data(sec)) return undefined;
  // In a relocatable .ko a symbol's value is its offset in the section; in a linked image, an address.
  const base = elf.relocatable ? 0n : sec.addr;
  const start = Number(a.value - base);
  const end = Number(b.value - base);
  if (start < 0 || end < start || end > sec.size) return undefined;
  return {start: sec.offset + start, end: sec.offset + end};
}

const XZ_MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);

/**
 * Finds xz streams by their framing alone, for modules stripped of symbols: a stream header (magic,
 * flags, CRC32) and, 4-byte aligned after it, the first footer whose CRC32 and flags match.
 */
export function findXzStreams(buf: Buffer): FileRange[] {
  const out: FileRange[] = [];
  for (let at = buf.indexOf(XZ_MAGIC); at >= 0; at = buf.indexOf(XZ_MAGIC, at + 1)) {
    if (at + 12 > buf.length || crc32(buf.subarray(at + 6, at + 8)) !== buf.readUInt32LE(at + 8)) continue;
    const flags = buf.subarray(at + 6, at + 8);
    for (let yz = buf.indexOf('YZ', at + 24, 'latin1'); yz >= 0; yz = buf.indexOf('YZ', yz + 1, 'latin1')) {
      const end = yz + 2;
      if ((end - at) % 4 !== 0) continue;
      const footer = end - 12;
      if (!buf.subarray(footer + 8, footer + 10).equals(flags)) continue;
      if (crc32(buf.subarray(footer + 4, footer + 10)) !== buf.readUInt32LE(footer)) continue;
      out.push({start: at, end});
      at = end - 1;
      break;
    }
  }
  return out;
}

/** An ELF file's e_machine from its first 20 bytes (62 x86-64, 183 AArch64); undefined when it is no ELF file. */
export function elfMachine(head: Buffer): number | undefined {
  if (head.length < 20 || head.readUInt32BE(0) !== 0x7f454c46) return undefined;
  return head[5] === 2 ? head.readUInt16BE(18) : head.readUInt16LE(18);
}
