import {KhpkgError} from '../errors.js';

/**
 * The kernel's BTF (BPF Type Format, include/uapi/linux/btf.h): a header, a type section and a
 * string section. Parsed with every offset, length and count checked against the bytes before it
 * is used, as everything else khpkg reads: BTF comes from files a user names (`--btf`) and from
 * kernel images, and one bad length must give one line, not a crash or a loop.
 */
export const BTF_MAGIC = 0xeb9f;

/** Every kind BTF has today (libbpf 1.1, kernels to 7.x); anything else is refused by name. */
export const BTF_KINDS = [
  'unkn',
  'int',
  'ptr',
  'array',
  'struct',
  'union',
  'enum',
  'fwd',
  'typedef',
  'volatile',
  'const',
  'restrict',
  'func',
  'func_proto',
  'var',
  'datasec',
  'float',
  'decl_tag',
  'type_tag',
  'enum64',
] as const;
export type BtfKind = (typeof BTF_KINDS)[number];

export interface BtfMember {
  name: string;
  type: number;
  /** struct/union: the member's offset in bits; enum: the value; func_proto: unused (0). */
  offset: number;
  /** struct/union with kind_flag: the bitfield's size in bits (0: not a bitfield). */
  bitfieldSize: number;
}

/** One type, as `Btf.type(id)` spells it out on demand (nothing keeps it). Id 0 is `void`. */
export interface BtfType {
  id: number;
  kind: BtfKind;
  name: string;
  vlen: number;
  kindFlag: boolean;
  /** int, enum, struct, union, float, datasec, enum64: size in bytes. */
  size: number;
  /** ptr, typedef, modifiers, func, var, decl_tag, type_tag, func_proto (return): the type referred to. */
  type: number;
  /** int: encoding bits (signed 1, char 2, bool 4), bit offset, bits. */
  int?: {encoding: number; offset: number; bits: number};
  array?: {type: number; indexType: number; nelems: number};
  /** struct/union members, func_proto params (offset 0), enum values (in offset; enum64 as bigint in values). */
  members: BtfMember[];
  /** enum64's values, exact. */
  values?: bigint[];
  /** var: linkage; decl_tag: component index. */
  extra?: number;
}

const KIND = {
  int: 1,
  ptr: 2,
  array: 3,
  struct: 4,
  union: 5,
  enum: 6,
  fwd: 7,
  typedef: 8,
  func_proto: 13,
  var: 14,
  datasec: 15,
  decl_tag: 17,
  enum64: 19,
} as const;
/** Kinds whose third word is a size (the others' is a type id). */
const SIZED = new Uint8Array(BTF_KINDS.length);
for (const k of ['int', 'enum', 'struct', 'union', 'float', 'datasec', 'enum64'] as const) SIZED[BTF_KINDS.indexOf(k)] = 1;
/** Words each member of a kind's vlen takes after the 3-word header. */
const MEMBER_WORDS = new Uint8Array(BTF_KINDS.length);
for (const [k, n] of [
  ['struct', 3],
  ['union', 3],
  ['enum', 2],
  ['enum64', 3],
  ['func_proto', 2],
  ['datasec', 3],
] as const)
  MEMBER_WORDS[BTF_KINDS.indexOf(k)] = n;
/** Words of a kind's single extra record. */
const EXTRA_WORDS = new Uint8Array(BTF_KINDS.length);
for (const [k, n] of [
  ['int', 1],
  ['array', 3],
  ['var', 1],
  ['decl_tag', 1],
] as const)
  EXTRA_WORDS[BTF_KINDS.indexOf(k)] = n;

/**
 * A kernel's BTF, held as its own type section (one Uint32Array, host byte order) with each type's
 * start and kind: ~5 MB for vmlinux's ~110k types, where one object per type and member took ~80 MB
 * of heap. Names are decoded when asked for, each string once.
 */
export class Btf {
  /** Types, `void` (id 0) included. */
  readonly count: number;
  /** Bytes of the whole BTF blob, as found. */
  readonly bytes: number;
  /** BTF's endianness: little for every kernel khpkg packages today, checked by the magic. */
  readonly littleEndian: boolean;
  /** Type names, decoded once each: the C dumper asks for them again and again. */
  private readonly names: (string | undefined)[];

  constructor(
    private readonly words: Uint32Array,
    private readonly start: Uint32Array,
    private readonly kinds: Uint8Array,
    private readonly strings: Buffer,
    bytes: number,
    littleEndian: boolean,
  ) {
    this.count = kinds.length;
    this.names = new Array<string | undefined>(kinds.length);
    this.bytes = bytes;
    this.littleEndian = littleEndian;
  }

  kind(id: number): BtfKind {
    return BTF_KINDS[this.kinds[id]!]!;
  }

  /** Whether the type has a name, without decoding it. */
  named(id: number): boolean {
    return id !== 0 && this.words[this.start[id]!] !== 0;
  }

  name(id: number): string {
    if (id === 0) return '';
    return (this.names[id] ??= this.str(this.words[this.start[id]!]!));
  }

  vlen(id: number): number {
    return id === 0 ? 0 : this.words[this.start[id]! + 1]! & 0xffff;
  }

  kindFlag(id: number): boolean {
    return id !== 0 && this.words[this.start[id]! + 1]! >>> 31 === 1;
  }

  /** int, enum, struct, union, float, datasec, enum64: size in bytes; 0 for the others. */
  size(id: number): number {
    return id !== 0 && SIZED[this.kinds[id]!] ? this.words[this.start[id]! + 2]! : 0;
  }

  /** What a ptr, typedef, modifier, func, var, decl_tag, type_tag or func_proto (its return) refers to; 0 for the others. */
  ref(id: number): number {
    return id !== 0 && !SIZED[this.kinds[id]!] ? this.words[this.start[id]! + 2]! : 0;
  }

  /** An array's element type, index type and element count. */
  arrayType(id: number): number {
    return this.words[this.start[id]! + 3]!;
  }
  arrayIndexType(id: number): number {
    return this.words[this.start[id]! + 4]!;
  }
  arrayElems(id: number): number {
    return this.words[this.start[id]! + 5]!;
  }

  /** Member `i`'s type (struct, union, func_proto, datasec). */
  memberType(id: number, i: number): number {
    const k = this.kinds[id]!;
    return k === KIND.enum || k === KIND.enum64 ? 0 : this.words[this.start[id]! + 3 + i * MEMBER_WORDS[k]! + (k === KIND.datasec ? 0 : 1)]!;
  }

  memberName(id: number, i: number): string {
    const k = this.kinds[id]!;
    return k === KIND.datasec ? '' : this.str(this.words[this.start[id]! + 3 + i * MEMBER_WORDS[k]!]!);
  }

  /** struct/union: the member's offset in bits; enum: its value; datasec: the var's offset. */
  memberOffset(id: number, i: number): number {
    const k = this.kinds[id]!;
    const at = this.start[id]! + 3 + i * MEMBER_WORDS[k]!;
    if (k === KIND.struct || k === KIND.union) return this.kindFlag(id) ? this.words[at + 2]! & 0xffffff : this.words[at + 2]!;
    if (k === KIND.enum) return this.kindFlag(id) ? this.words[at + 1]! | 0 : this.words[at + 1]!;
    if (k === KIND.datasec) return this.words[at + 1]!;
    return 0;
  }

  /** struct/union with kind_flag: the bitfield's size in bits (0: not a bitfield); datasec: the var's size. */
  memberBitfield(id: number, i: number): number {
    const k = this.kinds[id]!;
    const at = this.start[id]! + 3 + i * MEMBER_WORDS[k]!;
    if (k === KIND.struct || k === KIND.union) return this.kindFlag(id) ? this.words[at + 2]! >>> 24 : 0;
    if (k === KIND.datasec) return this.words[at + 2]!;
    return 0;
  }

  /** enum64 value `i`, exact (signed with kind_flag). */
  enum64Value(id: number, i: number): bigint {
    const at = this.start[id]! + 3 + i * 3;
    const v = (BigInt(this.words[at + 2]!) << 32n) | BigInt(this.words[at + 1]!);
    return this.kindFlag(id) ? BigInt.asIntN(64, v) : v;
  }

  /** The type spelled out as an object, for whoever wants all of it (tests, one type at a time). */
  type(id: number): BtfType {
    const kind = this.kind(id);
    const t: BtfType = {id, kind, name: this.name(id), vlen: this.vlen(id), kindFlag: this.kindFlag(id), size: this.size(id), type: this.ref(id), members: []};
    const at = this.start[id]! + 3;
    if (kind === 'int') {
      const v = this.words[at]!;
      t.int = {encoding: (v >>> 24) & 0x0f, offset: (v >>> 16) & 0xff, bits: v & 0xff};
    } else if (kind === 'array') t.array = {type: this.arrayType(id), indexType: this.arrayIndexType(id), nelems: this.arrayElems(id)};
    else if (kind === 'var' || kind === 'decl_tag') t.extra = this.words[at]!;
    if (MEMBER_WORDS[this.kinds[id]!])
      for (let i = 0; i < t.vlen; i++)
        t.members.push({
          name: this.memberName(id, i),
          type: this.memberType(id, i),
          offset: this.memberOffset(id, i),
          bitfieldSize: this.memberBitfield(id, i),
        });
    if (kind === 'enum64') t.values = t.members.map((_, i) => this.enum64Value(id, i));
    return t;
  }

  private str(off: number): string {
    return off === 0 ? '' : this.strings.toString('latin1', off, this.strings.indexOf(0, off));
  }
}

const HEADER_LEN = 24;
/** No kernel has more: vmlinux has ~130k types, ~5 MB of BTF. Bounds what hostile input can make khpkg allocate. */
export const MAX_BTF_BYTES = 256 * 1024 * 1024;

function bad(what: string): KhpkgError {
  return new KhpkgError('bad-input', `malformed BTF: ${what}`);
}

/** Whether `bytes` at `at` start a BTF header (either byte order). */
export function isBtfHeader(bytes: Buffer, at = 0): boolean {
  if (bytes.length < at + HEADER_LEN) return false;
  const le = bytes.readUInt16LE(at) === BTF_MAGIC;
  const be = bytes.readUInt16BE(at) === BTF_MAGIC;
  if (!le && !be) return false;
  const u32 = (o: number): number => (le ? bytes.readUInt32LE(at + o) : bytes.readUInt32BE(at + o));
  return bytes[at + 2] === 1 && u32(4) === HEADER_LEN;
}

/** The length of the BTF blob at `at` from its header alone (header + both sections), or undefined if it does not fit. */
export function btfLength(bytes: Buffer, at = 0): number | undefined {
  if (!isBtfHeader(bytes, at)) return undefined;
  const le = bytes.readUInt16LE(at) === BTF_MAGIC;
  const u32 = (o: number): number => (le ? bytes.readUInt32LE(at + o) : bytes.readUInt32BE(at + o));
  const end = Math.max(u32(8) + u32(12), u32(16) + u32(20));
  const total = HEADER_LEN + end;
  return total <= bytes.length - at && total <= MAX_BTF_BYTES ? total : undefined;
}

/**
 * Parses a BTF blob. Refused in one line: a header that is not BTF's, sections past the end or
 * overlapping, a kind khpkg does not know (named), a record cut short, a string offset out of range
 * or a string without its NUL, a type id past the last type, absurd counts, and reference loops
 * (a typedef or modifier chain that comes back to itself without a struct, union or pointer between).
 */
export function parseBtf(bytes: Buffer): Btf {
  if (bytes.length < HEADER_LEN) throw bad(`${bytes.length} bytes, shorter than its ${HEADER_LEN}-byte header`);
  if (bytes.length > MAX_BTF_BYTES) throw bad(`${bytes.length} bytes, more than any kernel's`);
  const le = bytes.readUInt16LE(0) === BTF_MAGIC;
  if (!le && bytes.readUInt16BE(0) !== BTF_MAGIC) throw bad(`magic 0x${bytes.readUInt16LE(0).toString(16)}, not 0xeb9f`);
  const u32 = (o: number): number => (le ? bytes.readUInt32LE(o) : bytes.readUInt32BE(o));
  if (bytes[2] !== 1) throw bad(`version ${bytes[2]}, not 1`);
  const hdrLen = u32(4);
  if (hdrLen < HEADER_LEN || hdrLen > bytes.length) throw bad(`header length ${hdrLen}`);
  const [typeOff, typeLen, strOff, strLen] = [u32(8), u32(12), u32(16), u32(20)];
  const data = hdrLen;
  const within = (off: number, len: number): boolean => off + len >= off && data + off + len <= bytes.length;
  if (!within(typeOff, typeLen)) throw bad(`type section (offset ${typeOff}, ${typeLen} bytes) past the end (${bytes.length - data} bytes after the header)`);
  if (!within(strOff, strLen)) throw bad(`string section (offset ${strOff}, ${strLen} bytes) past the end (${bytes.length - data} bytes after the header)`);
  if (typeOff < strOff + strLen && strOff < typeOff + typeLen) throw bad('the type and string sections overlap');
  if (typeOff % 4 !== 0) throw bad(`type section at offset ${typeOff}, not 4-aligned`);
  const strings = bytes.subarray(data + strOff, data + strOff + strLen);
  if (strLen > 0 && strings[0] !== 0) throw bad('the string section does not start with the empty string');
  if (strLen > 0 && strings[strLen - 1] !== 0) throw bad('the string section does not end with a NUL');
  // The string section ends with a NUL, so every offset inside it names a whole string.

  // The type section as words in this machine's order (every BTF record is a multiple of 4 bytes):
  // one copy, aligned, swapped for BTF of the other byte order.
  const section = Buffer.allocUnsafeSlow(typeLen & ~3);
  bytes.copy(section, 0, data + typeOff, data + typeOff + section.length);
  if (le !== HOST_LITTLE_ENDIAN) section.swap32();
  const words = new Uint32Array(section.buffer, section.byteOffset, section.length >>> 2);
  const starts: number[] = [0];
  const kindNos: number[] = [0];
  const n = words.length;
  // A record cut short: said with what it was (the messages are built only when it fails).
  const cut = (id: number, what: string): KhpkgError => bad(`type [${id}] (${what}) cut short at the end of the type section`);
  let at = 0;
  while (at < n || (at === n && typeLen % 4 !== 0)) {
    const id = starts.length;
    if (id > 0xfffff) throw bad(`more than ${0xfffff} types`);
    if (at + 3 > n) throw cut(id, 'header');
    const info = words[at + 1]!;
    const kindNo = (info >>> 24) & 0x1f;
    const kind = BTF_KINDS[kindNo];
    if (!kind || kind === 'unkn')
      throw new KhpkgError('bad-input', `BTF type [${id}] has kind ${kindNo}, which khpkg does not know (known: ${BTF_KINDS.slice(1).join(', ')})`);
    if (words[at]! >= strLen && words[at] !== 0) throw badString(words[at]!, strLen, `type [${id}] name`);
    const vlen = info & 0xffff;
    const per = MEMBER_WORDS[kindNo]!;
    const next = at + 3 + EXTRA_WORDS[kindNo]! + per * vlen;
    if (next > n) throw cut(id, per ? `${kind} of ${vlen} ${MEMBERS_ARE[kind] ?? 'members'}` : kind);
    if (kind === 'int') {
      const v = words[at + 3]!;
      const [offset, bits, size] = [(v >>> 16) & 0xff, v & 0xff, words[at + 2]!];
      if (bits > 128 || offset + bits > size * 8)
        throw bad(`int [${id}] ${strings.toString('latin1', words[at]!, strings.indexOf(0, words[at]!))}: ${bits} bits at ${offset} in ${size} bytes`);
    }
    if (per && kind !== 'datasec')
      for (let i = 0, m = at + 3; i < vlen; i++, m += per)
        if (words[m]! >= strLen && words[m] !== 0) throw badString(words[m]!, strLen, `${kind} [${id}] ${MEMBER_IS[kind] ?? 'member'} ${i}`);
    starts.push(at);
    kindNos.push(kindNo);
    at = next;
  }
  const btf = new Btf(words, Uint32Array.from(starts), Uint8Array.from(kindNos), strings, bytes.length, le);
  checkReferences(btf);
  return btf;
}

function badString(off: number, strLen: number, what: string): KhpkgError {
  return bad(`${what}: string offset ${off} past the string section (${strLen} bytes)`);
}

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/** How the records after a type are called in its messages (`enum of 3 values`, `func_proto [7] param 1`). */
const MEMBERS_ARE: Partial<Record<BtfKind, string>> = {enum: 'values', enum64: 'values', func_proto: 'params', datasec: 'vars'};
const MEMBER_IS: Partial<Record<BtfKind, string>> = {enum: 'value', enum64: 'value', func_proto: 'param'};

/** Every type id in range, and no chain of typedefs, modifiers or arrays that comes back to itself. */
function checkReferences(btf: Btf): void {
  const n = btf.count;
  const ref = (id: number, to: number, what: () => string): void => {
    if (to >= n) throw bad(`type [${id}] (${btf.kind(id)} ${btf.name(id)}) ${what()} refers to type [${to}], past the last type [${n - 1}]`);
  };
  for (let id = 1; id < n; id++) {
    const kind = btf.kind(id);
    if (!SIZED[BTF_KINDS.indexOf(kind)] && kind !== 'fwd') ref(id, btf.ref(id), () => 'itself');
    if (kind === 'array') {
      ref(id, btf.arrayType(id), () => 'element');
      ref(id, btf.arrayIndexType(id), () => 'index');
    }
    if (kind === 'struct' || kind === 'union' || kind === 'func_proto' || kind === 'datasec')
      for (let i = 0, v = btf.vlen(id); i < v; i++) ref(id, btf.memberType(id, i), () => `member ${btf.memberName(id, i) || '(anonymous)'}`);
  }
  // Following what a type is made of (not through pointers or struct members, which may well come back) must end.
  const state = new Uint8Array(n); // 0 new, 1 on the path, 2 done
  const path: number[] = [];
  for (let start = 1; start < n; start++) {
    path.length = 0;
    let id = start;
    while (id !== 0 && state[id] === 0) {
      state[id] = 1;
      path.push(id);
      const kind = btf.kind(id);
      id = kind === 'array' ? btf.arrayType(id) : FOLLOWED.has(kind) ? btf.ref(id) : 0;
    }
    if (id !== 0 && state[id] === 1) throw bad(`a loop of types through [${id}] (${btf.kind(id)} ${btf.name(id)}): it refers to itself`);
    for (const p of path) state[p] = 2;
  }
}

const FOLLOWED = new Set<BtfKind>(['typedef', 'volatile', 'const', 'restrict', 'type_tag', 'var', 'func', 'decl_tag']);

/** What `inspect` and `info` say of a BTF: how many types, of which kinds. */
export function btfFacts(btf: Btf): {types: number; bytes: number; kinds: Record<string, number>} {
  const kinds: Record<string, number> = {};
  for (let id = 1; id < btf.count; id++) kinds[btf.kind(id)] = (kinds[btf.kind(id)] ?? 0) + 1;
  return {types: btf.count - 1, bytes: btf.bytes, kinds};
}
