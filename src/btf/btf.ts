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

/** One type. Ids are indexes into `Btf.types`; id 0 is `void`. */
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

export interface Btf {
  types: BtfType[];
  /** Bytes of the whole BTF blob, as found. */
  bytes: number;
  /** BTF's endianness: little for every kernel khpkg packages today, checked by the magic. */
  littleEndian: boolean;
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
  const str = (off: number, what: string): string => {
    if (off === 0) return '';
    if (off >= strLen) throw bad(`${what}: string offset ${off} past the string section (${strLen} bytes)`);
    return strings.toString('latin1', off, strings.indexOf(0, off));
  };

  const types: BtfType[] = [{id: 0, kind: 'unkn', name: '', vlen: 0, kindFlag: false, size: 0, type: 0, members: []}];
  const end = data + typeOff + typeLen;
  let at = data + typeOff;
  const need = (n: number, what: string): void => {
    if (at + n > end) throw bad(`type [${types.length}] (${what}) cut short at the end of the type section`);
  };
  while (at < end) {
    const id = types.length;
    if (id > 0xfffff) throw bad(`more than ${0xfffff} types`);
    need(12, 'header');
    const [nameOff, info, sizeOrType] = [u32(at), u32(at + 4), u32(at + 8)];
    at += 12;
    const kindNo = (info >>> 24) & 0x1f;
    const kind = BTF_KINDS[kindNo];
    if (!kind || kind === 'unkn')
      throw new KhpkgError('bad-input', `BTF type [${id}] has kind ${kindNo}, which khpkg does not know (known: ${BTF_KINDS.slice(1).join(', ')})`);
    const vlen = info & 0xffff;
    const t: BtfType = {id, kind, name: str(nameOff, `type [${id}] name`), vlen, kindFlag: info >>> 31 === 1, size: 0, type: 0, members: []};
    const sized = ['int', 'enum', 'struct', 'union', 'float', 'datasec', 'enum64'].includes(kind);
    if (sized) t.size = sizeOrType;
    else t.type = sizeOrType;
    switch (kind) {
      case 'int': {
        need(4, kind);
        const v = u32(at);
        at += 4;
        t.int = {encoding: (v >>> 24) & 0x0f, offset: (v >>> 16) & 0xff, bits: v & 0xff};
        if (t.int.bits > 128 || t.int.offset + t.int.bits > t.size * 8)
          throw bad(`int [${id}] ${t.name}: ${t.int.bits} bits at ${t.int.offset} in ${t.size} bytes`);
        break;
      }
      case 'array':
        need(12, kind);
        t.array = {type: u32(at), indexType: u32(at + 4), nelems: u32(at + 8)};
        at += 12;
        break;
      case 'struct':
      case 'union':
        need(12 * vlen, `${kind} of ${vlen} members`);
        for (let i = 0; i < vlen; i++, at += 12) {
          const off = u32(at + 8);
          t.members.push({
            name: str(u32(at), `${kind} [${id}] member ${i}`),
            type: u32(at + 4),
            offset: t.kindFlag ? off & 0xffffff : off,
            bitfieldSize: t.kindFlag ? off >>> 24 : 0,
          });
        }
        break;
      case 'enum':
        need(8 * vlen, `enum of ${vlen} values`);
        for (let i = 0; i < vlen; i++, at += 8) {
          const v = le ? bytes.readInt32LE(at + 4) : bytes.readInt32BE(at + 4);
          t.members.push({name: str(u32(at), `enum [${id}] value ${i}`), type: 0, offset: t.kindFlag ? v : u32(at + 4), bitfieldSize: 0});
        }
        break;
      case 'enum64':
        need(12 * vlen, `enum64 of ${vlen} values`);
        t.values = [];
        for (let i = 0; i < vlen; i++, at += 12) {
          const v = (BigInt(u32(at + 8)) << 32n) | BigInt(u32(at + 4));
          t.values.push(t.kindFlag ? BigInt.asIntN(64, v) : v);
          t.members.push({name: str(u32(at), `enum64 [${id}] value ${i}`), type: 0, offset: 0, bitfieldSize: 0});
        }
        break;
      case 'func_proto':
        need(8 * vlen, `func_proto of ${vlen} params`);
        for (let i = 0; i < vlen; i++, at += 8)
          t.members.push({name: str(u32(at), `func_proto [${id}] param ${i}`), type: u32(at + 4), offset: 0, bitfieldSize: 0});
        break;
      case 'var':
      case 'decl_tag':
        need(4, kind);
        t.extra = u32(at);
        at += 4;
        break;
      case 'datasec':
        need(12 * vlen, `datasec of ${vlen} vars`);
        for (let i = 0; i < vlen; i++, at += 12) t.members.push({name: '', type: u32(at), offset: u32(at + 4), bitfieldSize: u32(at + 8)});
        break;
      default:
        break;
    }
    types.push(t);
  }
  checkReferences(types);
  return {types, bytes: bytes.length, littleEndian: le};
}

/** Every type id in range, and no chain of typedefs, modifiers or arrays that comes back to itself. */
function checkReferences(types: BtfType[]): void {
  const n = types.length;
  const ref = (t: BtfType, id: number, what: string): void => {
    if (id >= n) throw bad(`type [${t.id}] (${t.kind} ${t.name}) ${what} refers to type [${id}], past the last type [${n - 1}]`);
  };
  for (const t of types) {
    if (t.id === 0) continue;
    if (!['int', 'enum', 'enum64', 'struct', 'union', 'fwd', 'float', 'datasec'].includes(t.kind)) ref(t, t.type, 'itself');
    if (t.array) {
      ref(t, t.array.type, 'element');
      ref(t, t.array.indexType, 'index');
    }
    for (const m of t.members) if (t.kind !== 'enum' && t.kind !== 'enum64') ref(t, m.type, `member ${m.name || '(anonymous)'}`);
  }
  // Following what a type is made of (not through pointers or struct members, which may well come back) must end.
  const state = new Uint8Array(n); // 0 new, 1 on the path, 2 done
  for (let start = 1; start < n; start++) {
    const path: number[] = [];
    let id = start;
    while (id !== 0 && state[id] === 0) {
      state[id] = 1;
      path.push(id);
      const t = types[id]!;
      const next =
        t.kind === 'array' ? t.array!.type : ['typedef', 'volatile', 'const', 'restrict', 'type_tag', 'var', 'func', 'decl_tag'].includes(t.kind) ? t.type : 0;
      id = next;
    }
    if (id !== 0 && state[id] === 1) throw bad(`a loop of types through [${id}] (${types[id]!.kind} ${types[id]!.name}): it refers to itself`);
    for (const p of path) state[p] = 2;
  }
}

/** What `inspect` and `info` say of a BTF: how many types, of which kinds. */
export function btfFacts(btf: Btf): {types: number; bytes: number; kinds: Record<string, number>} {
  const kinds: Record<string, number> = {};
  for (const t of btf.types.slice(1)) kinds[t.kind] = (kinds[t.kind] ?? 0) + 1;
  return {types: btf.types.length - 1, bytes: btf.bytes, kinds};
}
