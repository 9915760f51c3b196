import {KhpkgError} from '../errors.js';
import type {Btf} from './btf.js';

/**
 * vmlinux.h from BTF, byte for byte what `bpftool btf dump file F format c` (bpftool 7.1, libbpf
 * 1.1) writes: libbpf's btf_dump.c C dumper, ported. Its rules, kept as they are:
 * - types are emitted in a topological order where what a struct embeds is defined before it, and
 *   what is reached through a pointer only needs a forward declaration (order());
 * - anonymous structs, unions and enums are defined inline where used; anonymous enums nothing
 *   refers to are top-level constants;
 * - names used twice get `___N` suffixes, per namespace (struct/union/enum tags; typedefs and enum
 *   values);
 * - struct layout is rebuilt from bit offsets: `long: 64;`-style padding, bitfields, and
 *   `__attribute__((packed))` where natural alignment cannot give the offsets.
 * Kept as libbpf does for output to be the same: the tab indents, `___` suffixes, the GCC quirks
 * (modifiers dropped on arrays and func protos, `__gnuc_va_list`, `__builtin_va_list` skipped).
 */
export function writeVmlinuxH(btf: Btf): Buffer {
  const d = new CDumper(btf);
  d.p('#ifndef __VMLINUX_H__\n#define __VMLINUX_H__\n\n');
  d.p('#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)\n#endif\n\n');
  for (let id = 1; id < btf.count; id++) d.dumpType(id);
  d.p('#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute pop\n#endif\n\n#endif /* __VMLINUX_H__ */\n');
  return d.bytes();
}

const enum Order {
  NotOrdered,
  Ordering,
  Ordered,
}
const enum Emit {
  NotEmitted,
  Emitting,
  Emitted,
}

const MODS = new Set(['volatile', 'const', 'restrict', 'type_tag']);
const PREFIXES = '\t'.repeat(13);
const pfx = (lvl: number): string => (lvl >= PREFIXES.length ? PREFIXES : PREFIXES.slice(0, lvl));

/** GCC's internal __PolyX_t types (Arm SIMD), given the standard base types libbpf aliases them to. */
const MISSING_BASE_TYPES: Record<string, string> = {
  __Poly8_t: 'unsigned char',
  __Poly16_t: 'unsigned short',
  __Poly64_t: 'unsigned long long',
  __Poly128_t: 'unsigned __int128',
};

const LONG_ALIASES = new Set([
  'long',
  'long int',
  'int long',
  'unsigned long',
  'long unsigned',
  'unsigned long int',
  'unsigned int long',
  'long unsigned int',
  'long int unsigned',
  'int unsigned long',
  'int long unsigned',
]);

class CDumper {
  private readonly b: Btf;
  /** alignOf's answers: a struct's alignment is asked once per member that embeds it. */
  private readonly aligns: Int32Array;
  private readonly ptrSize: number;
  private readonly order: Uint8Array;
  private readonly emit: Uint8Array;
  private readonly fwdEmitted: Uint8Array;
  private readonly referenced: Uint8Array;
  private readonly resolved: (string | undefined)[];
  private readonly typeNames = new Map<string, number>();
  private readonly identNames = new Map<string, number>();
  /** The output, written as it is made: the pieces are short-lived strings, the bytes one growing buffer. */
  private out = Buffer.allocUnsafe(1 << 20);
  private used = 0;
  private queue: number[] = [];

  constructor(btf: Btf) {
    this.b = btf;
    const n = btf.count;
    this.aligns = new Int32Array(n).fill(-2);
    this.order = new Uint8Array(n);
    this.emit = new Uint8Array(n);
    this.fwdEmitted = new Uint8Array(n);
    this.referenced = new Uint8Array(n);
    this.resolved = new Array<string | undefined>(n);
    // void is always there.
    this.order[0] = Order.Ordered;
    this.emit[0] = Emit.Emitted;
    // libbpf's pointer size: the size of an int named like `long`, else the host's (8).
    let ptrSize = 8;
    for (let id = 1; id < n; id++)
      if (btf.kind(id) === 'int' && (btf.size(id) === 4 || btf.size(id) === 8) && LONG_ALIASES.has(btf.name(id))) {
        ptrSize = btf.size(id);
        break;
      }
    this.ptrSize = ptrSize;
    this.markReferenced();
  }

  bytes(): Buffer {
    return this.out.subarray(0, this.used);
  }

  /** Appends C text (latin1: BTF names are bytes, as bpftool prints them). */
  p(s: string): void {
    if (this.used + s.length > this.out.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.out.length * 2, this.used + s.length));
      this.out.copy(grown, 0, 0, this.used);
      this.out = grown;
    }
    // latin1Write: Buffer.write's own, without its argument parsing (this is called ~2 million times).
    this.used += (this.out as Buffer & {latin1Write(s: string, at: number): number}).latin1Write(s, this.used);
  }

  dumpType(id: number): void {
    this.queue = [];
    if (this.orderType(id, false) < 0)
      throw new KhpkgError('bad-input', `malformed BTF: type [${id}] (${this.b.kind(id)} ${this.b.name(id)}) is part of a loop of types C cannot declare`);
    for (const q of this.queue) this.emitType(q, 0);
  }

  /** Types referred to by any other: a top-level anonymous enum is one nothing refers to. */
  private markReferenced(): void {
    const b = this.b;
    for (let id = 1; id < b.count; id++) {
      switch (b.kind(id)) {
        case 'volatile':
        case 'const':
        case 'restrict':
        case 'ptr':
        case 'typedef':
        case 'func':
        case 'var':
        case 'decl_tag':
        case 'type_tag':
          this.referenced[b.ref(id)] = 1;
          break;
        case 'array':
          this.referenced[b.arrayIndexType(id)] = 1;
          this.referenced[b.arrayType(id)] = 1;
          break;
        case 'struct':
        case 'union':
        case 'func_proto':
        case 'datasec':
          for (let i = 0, v = b.vlen(id); i < v; i++) this.referenced[b.memberType(id, i)] = 1;
          break;
        default:
          break;
      }
    }
  }

  /** btf_dump_order_type: 1 when `id` is part of a strong link (must be defined first), 0 weak, <0 an unsatisfiable loop. */
  private orderType(id: number, throughPtr: boolean): number {
    if (this.order[id] === Order.Ordered) return 1;
    const b = this.b;
    const kind = id === 0 ? 'unkn' : b.kind(id);
    if (this.order[id] === Order.Ordering) {
      if ((kind === 'struct' || kind === 'union') && throughPtr && b.named(id)) return 0;
      return -1;
    }
    switch (kind) {
      case 'unkn':
        return 1;
      case 'int':
      case 'float':
        this.order[id] = Order.Ordered;
        return 0;
      case 'ptr': {
        const err = this.orderType(b.ref(id), true);
        this.order[id] = Order.Ordered;
        return err;
      }
      case 'array':
        return this.orderType(b.arrayType(id), false);
      case 'struct':
      case 'union': {
        if (throughPtr && b.named(id)) return 0;
        this.order[id] = Order.Ordering;
        for (let i = 0, v = b.vlen(id); i < v; i++) {
          const err = this.orderType(b.memberType(id, i), false);
          if (err < 0) return err;
        }
        if (b.named(id)) this.queue.push(id);
        this.order[id] = Order.Ordered;
        return 1;
      }
      case 'enum':
      case 'enum64':
      case 'fwd':
        if (b.named(id) || !this.referenced[id]) this.queue.push(id);
        this.order[id] = Order.Ordered;
        return 1;
      case 'typedef': {
        const strong = this.orderType(b.ref(id), throughPtr);
        if (strong < 0) return strong;
        if (throughPtr && !strong) return 0;
        this.queue.push(id);
        this.order[id] = Order.Ordered;
        return 1;
      }
      case 'volatile':
      case 'const':
      case 'restrict':
      case 'type_tag':
        return this.orderType(b.ref(id), throughPtr);
      case 'func_proto': {
        let err = this.orderType(b.ref(id), throughPtr);
        if (err < 0) return err;
        let strong = err > 0;
        for (let i = 0, v = b.vlen(id); i < v; i++) {
          err = this.orderType(b.memberType(id, i), throughPtr);
          if (err < 0) return err;
          if (err > 0) strong = true;
        }
        return strong ? 1 : 0;
      }
      case 'func':
      case 'var':
      case 'datasec':
      case 'decl_tag':
        this.order[id] = Order.Ordered;
        return 0;
    }
  }

  private blacklisted(id: number): boolean {
    return this.b.name(id) === '__builtin_va_list';
  }

  /** btf_dump_emit_type: definitions and the forward declarations they need, `contId` the struct being defined. */
  private emitType(id: number, contId: number): void {
    if (this.emit[id] === Emit.Emitted) return;
    const b = this.b;
    const kind = b.kind(id);
    const topLevel = contId === 0;
    if (this.emit[id] === Emit.Emitting) {
      if (this.fwdEmitted[id]) return;
      if (kind === 'struct' || kind === 'union') {
        if (id === contId) return;
        if (!b.named(id)) return; // an anonymous struct/union loop: libbpf warns and goes on
        this.emitStructFwd(id);
        this.p(';\n\n');
        this.fwdEmitted[id] = 1;
      } else if (kind === 'typedef') {
        if (!this.blacklisted(id)) {
          this.emitTypedefDef(id, 0);
          this.p(';\n\n');
        }
        this.fwdEmitted[id] = 1;
      }
      return;
    }
    switch (kind) {
      case 'int': {
        const alias = MISSING_BASE_TYPES[this.typeName(id)];
        if (alias) this.p(`typedef ${alias} ${this.typeName(id)};\n\n`);
        this.emit[id] = Emit.Emitted;
        break;
      }
      case 'enum':
      case 'enum64':
        if (topLevel) {
          this.emitEnumDef(id, 0);
          this.p(';\n\n');
        }
        this.emit[id] = Emit.Emitted;
        break;
      case 'ptr':
      case 'volatile':
      case 'const':
      case 'restrict':
      case 'type_tag':
        this.emitType(b.ref(id), contId);
        break;
      case 'array':
        this.emitType(b.arrayType(id), contId);
        break;
      case 'fwd':
        this.emitFwdDef(id);
        this.p(';\n\n');
        this.emit[id] = Emit.Emitted;
        break;
      case 'typedef':
        this.emit[id] = Emit.Emitting;
        this.emitType(b.ref(id), id);
        if (!this.fwdEmitted[id] && !this.blacklisted(id)) {
          this.emitTypedefDef(id, 0);
          this.p(';\n\n');
        }
        this.emit[id] = Emit.Emitted;
        break;
      case 'struct':
      case 'union':
        this.emit[id] = Emit.Emitting;
        if (topLevel || !b.named(id)) {
          const newCont = b.named(id) ? id : contId;
          for (let i = 0, v = b.vlen(id); i < v; i++) this.emitType(b.memberType(id, i), newCont);
        } else if (!this.fwdEmitted[id] && id !== contId) {
          this.emitStructFwd(id);
          this.p(';\n\n');
          this.fwdEmitted[id] = 1;
        }
        if (topLevel) {
          this.emitStructDef(id, 0);
          this.p(';\n\n');
          this.emit[id] = Emit.Emitted;
        } else {
          this.emit[id] = Emit.NotEmitted;
        }
        break;
      case 'func_proto':
        this.emitType(b.ref(id), contId);
        for (let i = 0, v = b.vlen(id); i < v; i++) this.emitType(b.memberType(id, i), contId);
        break;
      default:
        break;
    }
  }

  /** btf__resolve_size. */
  private resolveSize(id: number): number {
    const b = this.b;
    let nelems = 1;
    for (let i = 0; i < 32 && id !== 0; i++) {
      switch (b.kind(id)) {
        case 'int':
        case 'struct':
        case 'union':
        case 'enum':
        case 'enum64':
        case 'datasec':
        case 'float':
          return nelems * b.size(id);
        case 'ptr':
          return nelems * this.ptrSize;
        case 'typedef':
        case 'volatile':
        case 'const':
        case 'restrict':
        case 'var':
        case 'decl_tag':
        case 'type_tag':
          id = b.ref(id);
          break;
        case 'array':
          nelems *= b.arrayElems(id);
          id = b.arrayType(id);
          break;
        default:
          return -1;
      }
    }
    return -1;
  }

  /** btf__align_of, remembered per type. */
  private alignOf(id: number): number {
    const known = this.aligns[id]!;
    if (known !== -2) return known;
    return (this.aligns[id] = this.computeAlign(id));
  }

  private computeAlign(id: number): number {
    const b = this.b;
    switch (id === 0 ? 'unkn' : b.kind(id)) {
      case 'int':
      case 'enum':
      case 'enum64':
      case 'float':
        return Math.min(this.ptrSize, b.size(id));
      case 'ptr':
        return this.ptrSize;
      case 'typedef':
      case 'volatile':
      case 'const':
      case 'restrict':
      case 'type_tag':
        return this.alignOf(b.ref(id));
      case 'array':
        return this.alignOf(b.arrayType(id));
      case 'struct':
      case 'union': {
        let max = 1;
        for (let i = 0, v = b.vlen(id); i < v; i++) {
          const align = this.alignOf(b.memberType(id, i));
          if (align <= 0) return align;
          max = Math.max(max, align);
          if (b.memberBitfield(id, i) === 0 && b.memberOffset(id, i) % (8 * align) !== 0) return 1;
        }
        return b.size(id) % max !== 0 ? 1 : max;
      }
      default:
        return 0;
    }
  }

  private structPacked(id: number): boolean {
    const b = this.b;
    let max = 1;
    for (let i = 0, v = b.vlen(id); i < v; i++) {
      const align = this.alignOf(b.memberType(id, i));
      if (align && b.memberBitfield(id, i) === 0 && b.memberOffset(id, i) % (8 * align) !== 0) return true;
      max = Math.max(align, max);
    }
    return b.size(id) % max !== 0;
  }

  private emitBitPadding(curOff: number, nextOff: number, nextAlign: number, inBitfield: boolean, lvl: number): void {
    const pads: [string, number][] = [
      ['long', this.ptrSize * 8],
      ['int', 32],
      ['short', 16],
      ['char', 8],
    ];
    if (curOff >= nextOff) return;
    const roundup = (x: number, y: number): number => Math.ceil(x / y) * y;
    let padType = '';
    let padBits = 0;
    let newOff = 0;
    for (const [name, bits] of pads) {
      padBits = bits;
      padType = name;
      newOff = roundup(curOff, padBits);
      if (newOff <= nextOff) break;
    }
    if (newOff > curOff && newOff <= nextOff) {
      if (inBitfield || (newOff === nextOff && roundup(curOff, nextAlign * 8) !== newOff) || (newOff !== nextOff && nextOff - newOff <= newOff - curOff))
        this.p(`\n${pfx(lvl)}${padType}: ${inBitfield ? newOff - curOff : 0};`);
      curOff = newOff;
    }
    while (curOff !== nextOff) {
      const bits = Math.min(nextOff - curOff, padBits);
      if (bits === padBits) {
        this.p(`\n${pfx(lvl)}${padType}: ${padBits};`);
        curOff += bits;
        continue;
      }
      for (let i = pads.length - 1; i >= 0; i--) {
        padType = pads[i]![0];
        padBits = pads[i]![1];
        if (padBits < bits) continue;
        this.p(`\n${pfx(lvl)}${padType}: ${bits};`);
        curOff += bits;
        break;
      }
    }
  }

  private emitStructFwd(id: number): void {
    this.p(`${this.b.kind(id)}${this.b.named(id) ? ' ' : ''}${this.typeName(id)}`);
  }

  private emitStructDef(id: number, lvl: number): void {
    const b = this.b;
    const kind = b.kind(id);
    const isStruct = kind === 'struct';
    const align = this.alignOf(id);
    const packed = isStruct ? this.structPacked(id) : false;
    this.p(`${kind}${b.named(id) ? ' ' : ''}${this.typeName(id)} {`);
    let off = 0;
    let prevBitfield = false;
    const vlen = b.vlen(id);
    for (let i = 0; i < vlen; i++) {
      const type = b.memberType(id, i);
      const offset = b.memberOffset(id, i);
      const bitfield = b.memberBitfield(id, i);
      const mAlign = packed ? 1 : this.alignOf(type);
      const inBitfield = prevBitfield && bitfield !== 0;
      this.emitBitPadding(off, offset, mAlign, inBitfield, lvl + 1);
      this.p(`\n${pfx(lvl + 1)}`);
      this.emitTypeDecl(type, b.memberName(id, i), lvl + 1);
      if (bitfield) {
        this.p(`: ${bitfield}`);
        off = offset + bitfield;
        prevBitfield = true;
      } else {
        off = offset + Math.max(0, this.resolveSize(type)) * 8;
        prevBitfield = false;
      }
      this.p(';');
    }
    if (isStruct) this.emitBitPadding(off, b.size(id) * 8, align, false, lvl + 1);
    if (vlen || b.size(id)) this.p(`\n${pfx(lvl)}}`);
    else this.p('}');
    if (packed) this.p(' __attribute__((packed))');
  }

  private emitEnumDef(id: number, lvl: number): void {
    const b = this.b;
    this.p(`enum${b.named(id) ? ' ' : ''}${this.typeName(id)}`);
    const vlen = b.vlen(id);
    if (!vlen) return;
    this.p(' {');
    const is64 = b.kind(id) === 'enum64';
    const suffix = b.kindFlag(id) ? 'LL' : 'ULL';
    for (let i = 0; i < vlen; i++) {
      // Enumerators share their namespace with typedefs.
      const name = b.memberName(id, i);
      const dups = this.nameDups(this.identNames, name);
      const shown = dups > 1 ? `${name}___${dups}` : name;
      if (!is64) this.p(`\n${pfx(lvl + 1)}${shown} = ${b.memberOffset(id, i)},`);
      else this.p(`\n${pfx(lvl + 1)}${shown} = ${b.enum64Value(id, i)}${suffix},`);
    }
    // Later libbpf marks 1- and 8-byte enums `__attribute__((mode(byte|word)))`; the bpftool this must equal
    // (Debian 12's 7.1, from its kernel's 6.1 tree) does not, and neither does this.
    this.p(`\n${pfx(lvl)}}`);
  }

  private emitFwdDef(id: number): void {
    this.p(`${this.b.kindFlag(id) ? 'union' : 'struct'} ${this.typeName(id)}`);
  }

  private emitTypedefDef(id: number, lvl: number): void {
    const name = this.identName(id);
    const type = this.b.ref(id);
    // Old GCCs emit __gnuc_va_list as a typedef of void.
    if (type === 0 && name === '__gnuc_va_list') {
      this.p('typedef __builtin_va_list __gnuc_va_list');
      return;
    }
    this.p('typedef ');
    this.emitTypeDecl(type, name, lvl);
  }

  /** btf_dump_emit_type_decl: the chain of modifiers, pointers, arrays and protos down to a named type, in C's syntax. */
  private emitTypeDecl(id: number, fname: string, lvl: number): void {
    const b = this.b;
    const stack: number[] = [];
    for (;;) {
      stack.push(id);
      if (id === 0) break;
      const kind = b.kind(id);
      if (kind === 'ptr' || MODS.has(kind) || kind === 'func_proto') id = b.ref(id);
      else if (kind === 'array') id = b.arrayType(id);
      else break;
    }
    this.emitTypeChain(stack, fname, lvl);
  }

  private emitMods(stack: number[]): void {
    while (stack.length) {
      const kind = this.b.kind(stack[stack.length - 1]!);
      if (kind === 'volatile') this.p('volatile ');
      else if (kind === 'const') this.p('const ');
      else if (kind === 'restrict') this.p('restrict ');
      else return;
      stack.pop();
    }
  }

  private dropMods(stack: number[]): void {
    while (stack.length && MODS.has(this.b.kind(stack[stack.length - 1]!))) stack.pop();
  }

  private emitName(name: string, lastWasPtr: boolean): void {
    this.p(`${name !== '' && !lastWasPtr ? ' ' : ''}${name}`);
  }

  private emitTypeChain(stack: number[], fname: string, lvl: number): void {
    const b = this.b;
    let lastWasPtr = true;
    while (stack.length) {
      const id = stack.pop()!;
      if (id === 0) {
        this.emitMods(stack);
        this.p('void');
        lastWasPtr = false;
        continue;
      }
      const kind = b.kind(id);
      switch (kind) {
        case 'int':
        case 'float':
          this.emitMods(stack);
          this.p(b.name(id));
          break;
        case 'struct':
        case 'union':
          this.emitMods(stack);
          if (!b.named(id)) this.emitStructDef(id, lvl);
          else this.emitStructFwd(id);
          break;
        case 'enum':
        case 'enum64':
          this.emitMods(stack);
          if (!b.named(id)) this.emitEnumDef(id, lvl);
          else this.p(`enum ${this.typeName(id)}`);
          break;
        case 'fwd':
          this.emitMods(stack);
          this.emitFwdDef(id);
          break;
        case 'typedef':
          this.emitMods(stack);
          this.p(this.identName(id));
          break;
        case 'ptr':
          this.p(lastWasPtr ? '*' : ' *');
          break;
        case 'volatile':
          this.p(' volatile');
          break;
        case 'const':
          this.p(' const');
          break;
        case 'restrict':
          this.p(' restrict');
          break;
        case 'type_tag':
          this.emitMods(stack);
          this.p(` __attribute__((btf_type_tag("${b.name(id)}")))`);
          break;
        case 'array': {
          // GCC adds the element's const/volatile to the array itself; meaningless, so dropped.
          this.dropMods(stack);
          if (stack.length === 0) {
            this.emitName(fname, lastWasPtr);
            this.p(`[${b.arrayElems(id)}]`);
            return;
          }
          const multidim = b.kind(stack[stack.length - 1]!) === 'array';
          if (fname !== '' && !lastWasPtr) this.p(' ');
          if (!multidim) this.p('(');
          this.emitTypeChain(stack, fname, lvl);
          if (!multidim) this.p(')');
          this.p(`[${b.arrayElems(id)}]`);
          return;
        }
        case 'func_proto': {
          // GCC's volatile on noreturn function pointers: dropped likewise.
          this.dropMods(stack);
          if (stack.length) {
            this.p(' (');
            this.emitTypeChain(stack, fname, lvl);
            this.p(')');
          } else {
            this.emitName(fname, lastWasPtr);
          }
          this.p('(');
          // No params, or Clang's single void param for BPF: `(void)` (libbpf's "Fix no-args func prototype BTF
          // dumping syntax", which Debian 12's bpftool has from its kernel's stable tree).
          const params = b.vlen(id);
          if (params === 0 || (params === 1 && b.memberType(id, 0) === 0)) {
            this.p('void)');
            return;
          }
          for (let i = 0; i < params; i++) {
            if (i > 0) this.p(', ');
            if (i === params - 1 && b.memberType(id, i) === 0) {
              this.p('...');
              break;
            }
            this.emitTypeDecl(b.memberType(id, i), b.memberName(id, i), lvl);
          }
          this.p(')');
          return;
        }
        default:
          return;
      }
      lastWasPtr = kind === 'ptr';
    }
    this.emitName(fname, lastWasPtr);
  }

  private nameDups(map: Map<string, number>, name: string): number {
    const n = (map.get(name) ?? 0) + 1;
    map.set(name, n);
    return n;
  }

  private resolveName(id: number, map: Map<string, number>): string {
    const b = this.b;
    if (!b.named(id)) return '';
    const cached = this.resolved[id];
    if (cached !== undefined) return cached;
    const name = b.name(id);
    const kind = b.kind(id);
    if (kind === 'fwd' || (kind === 'enum' && b.vlen(id) === 0)) return (this.resolved[id] = name);
    const dups = this.nameDups(map, name);
    return (this.resolved[id] = dups > 1 ? `${name}___${dups}` : name);
  }

  private typeName(id: number): string {
    return this.resolveName(id, this.typeNames);
  }

  private identName(id: number): string {
    return this.resolveName(id, this.identNames);
  }
}
