import {KhpkgError} from '../errors.js';
import type {Btf, BtfType} from './btf.js';

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
export function writeVmlinuxH(btf: Btf): string {
  const d = new CDumper(btf);
  const out = [
    '#ifndef __VMLINUX_H__\n#define __VMLINUX_H__\n\n',
    '#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)\n#endif\n\n',
  ];
  for (let id = 1; id < btf.types.length; id++) d.dumpType(id);
  out.push(d.text(), '#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute pop\n#endif\n\n#endif /* __VMLINUX_H__ */\n');
  return out.join('');
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
  private readonly types: BtfType[];
  private readonly ptrSize: number;
  private readonly order: Uint8Array;
  private readonly emit: Uint8Array;
  private readonly fwdEmitted: Uint8Array;
  private readonly referenced: Uint8Array;
  private readonly resolved: (string | undefined)[];
  private readonly typeNames = new Map<string, number>();
  private readonly identNames = new Map<string, number>();
  private readonly parts: string[] = [];
  private queue: number[] = [];

  constructor(btf: Btf) {
    this.types = btf.types;
    const n = btf.types.length;
    this.order = new Uint8Array(n);
    this.emit = new Uint8Array(n);
    this.fwdEmitted = new Uint8Array(n);
    this.referenced = new Uint8Array(n);
    this.resolved = new Array<string | undefined>(n);
    // void is always there.
    this.order[0] = Order.Ordered;
    this.emit[0] = Emit.Emitted;
    // libbpf's pointer size: the size of an int named like `long`, else the host's (8).
    const long = btf.types.find((t) => t.kind === 'int' && (t.size === 4 || t.size === 8) && LONG_ALIASES.has(t.name));
    this.ptrSize = long?.size ?? 8;
    this.markReferenced();
  }

  text(): string {
    return this.parts.join('');
  }

  private p(s: string): void {
    this.parts.push(s);
  }

  dumpType(id: number): void {
    this.queue = [];
    if (this.orderType(id, false) < 0) {
      const t = this.types[id]!;
      throw new KhpkgError('bad-input', `malformed BTF: type [${id}] (${t.kind} ${t.name}) is part of a loop of types C cannot declare`);
    }
    for (const q of this.queue) this.emitType(q, 0);
  }

  /** Types referred to by any other: a top-level anonymous enum is one nothing refers to. */
  private markReferenced(): void {
    for (const t of this.types) {
      if (t.id === 0) continue;
      switch (t.kind) {
        case 'volatile':
        case 'const':
        case 'restrict':
        case 'ptr':
        case 'typedef':
        case 'func':
        case 'var':
        case 'decl_tag':
        case 'type_tag':
          this.referenced[t.type] = 1;
          break;
        case 'array':
          this.referenced[t.array!.indexType] = 1;
          this.referenced[t.array!.type] = 1;
          break;
        case 'struct':
        case 'union':
        case 'func_proto':
        case 'datasec':
          for (const m of t.members) this.referenced[m.type] = 1;
          break;
        default:
          break;
      }
    }
  }

  /** btf_dump_order_type: 1 when `id` is part of a strong link (must be defined first), 0 weak, <0 an unsatisfiable loop. */
  private orderType(id: number, throughPtr: boolean): number {
    if (this.order[id] === Order.Ordered) return 1;
    const t = this.types[id]!;
    if (this.order[id] === Order.Ordering) {
      if ((t.kind === 'struct' || t.kind === 'union') && throughPtr && t.name !== '') return 0;
      return -1;
    }
    switch (t.kind) {
      case 'unkn':
        return 1;
      case 'int':
      case 'float':
        this.order[id] = Order.Ordered;
        return 0;
      case 'ptr': {
        const err = this.orderType(t.type, true);
        this.order[id] = Order.Ordered;
        return err;
      }
      case 'array':
        return this.orderType(t.array!.type, false);
      case 'struct':
      case 'union': {
        if (throughPtr && t.name !== '') return 0;
        this.order[id] = Order.Ordering;
        for (const m of t.members) {
          const err = this.orderType(m.type, false);
          if (err < 0) return err;
        }
        if (t.name !== '') this.queue.push(id);
        this.order[id] = Order.Ordered;
        return 1;
      }
      case 'enum':
      case 'enum64':
      case 'fwd':
        if (t.name !== '' || !this.referenced[id]) this.queue.push(id);
        this.order[id] = Order.Ordered;
        return 1;
      case 'typedef': {
        const strong = this.orderType(t.type, throughPtr);
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
        return this.orderType(t.type, throughPtr);
      case 'func_proto': {
        let err = this.orderType(t.type, throughPtr);
        if (err < 0) return err;
        let strong = err > 0;
        for (const m of t.members) {
          err = this.orderType(m.type, throughPtr);
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
    return this.types[id]!.name === '__builtin_va_list';
  }

  /** btf_dump_emit_type: definitions and the forward declarations they need, `contId` the struct being defined. */
  private emitType(id: number, contId: number): void {
    if (this.emit[id] === Emit.Emitted) return;
    const t = this.types[id]!;
    const topLevel = contId === 0;
    if (this.emit[id] === Emit.Emitting) {
      if (this.fwdEmitted[id]) return;
      if (t.kind === 'struct' || t.kind === 'union') {
        if (id === contId) return;
        if (t.name === '') return; // an anonymous struct/union loop: libbpf warns and goes on
        this.emitStructFwd(id, t);
        this.p(';\n\n');
        this.fwdEmitted[id] = 1;
      } else if (t.kind === 'typedef') {
        if (!this.blacklisted(id)) {
          this.emitTypedefDef(id, t, 0);
          this.p(';\n\n');
        }
        this.fwdEmitted[id] = 1;
      }
      return;
    }
    switch (t.kind) {
      case 'int': {
        const alias = MISSING_BASE_TYPES[this.typeName(id)];
        if (alias) this.p(`typedef ${alias} ${this.typeName(id)};\n\n`);
        this.emit[id] = Emit.Emitted;
        break;
      }
      case 'enum':
      case 'enum64':
        if (topLevel) {
          this.emitEnumDef(id, t, 0);
          this.p(';\n\n');
        }
        this.emit[id] = Emit.Emitted;
        break;
      case 'ptr':
      case 'volatile':
      case 'const':
      case 'restrict':
      case 'type_tag':
        this.emitType(t.type, contId);
        break;
      case 'array':
        this.emitType(t.array!.type, contId);
        break;
      case 'fwd':
        this.emitFwdDef(id, t);
        this.p(';\n\n');
        this.emit[id] = Emit.Emitted;
        break;
      case 'typedef':
        this.emit[id] = Emit.Emitting;
        this.emitType(t.type, id);
        if (!this.fwdEmitted[id] && !this.blacklisted(id)) {
          this.emitTypedefDef(id, t, 0);
          this.p(';\n\n');
        }
        this.emit[id] = Emit.Emitted;
        break;
      case 'struct':
      case 'union':
        this.emit[id] = Emit.Emitting;
        if (topLevel || t.name === '') {
          const newCont = t.name === '' ? contId : id;
          for (const m of t.members) this.emitType(m.type, newCont);
        } else if (!this.fwdEmitted[id] && id !== contId) {
          this.emitStructFwd(id, t);
          this.p(';\n\n');
          this.fwdEmitted[id] = 1;
        }
        if (topLevel) {
          this.emitStructDef(id, t, 0);
          this.p(';\n\n');
          this.emit[id] = Emit.Emitted;
        } else {
          this.emit[id] = Emit.NotEmitted;
        }
        break;
      case 'func_proto':
        this.emitType(t.type, contId);
        for (const m of t.members) this.emitType(m.type, contId);
        break;
      default:
        break;
    }
  }

  /** btf__resolve_size. */
  private resolveSize(id: number): number {
    let nelems = 1;
    for (let i = 0; i < 32 && id !== 0; i++) {
      const t = this.types[id]!;
      switch (t.kind) {
        case 'int':
        case 'struct':
        case 'union':
        case 'enum':
        case 'enum64':
        case 'datasec':
        case 'float':
          return nelems * t.size;
        case 'ptr':
          return nelems * this.ptrSize;
        case 'typedef':
        case 'volatile':
        case 'const':
        case 'restrict':
        case 'var':
        case 'decl_tag':
        case 'type_tag':
          id = t.type;
          break;
        case 'array':
          nelems *= t.array!.nelems;
          id = t.array!.type;
          break;
        default:
          return -1;
      }
    }
    return -1;
  }

  /** btf__align_of. */
  private alignOf(id: number): number {
    const t = this.types[id]!;
    switch (t.kind) {
      case 'int':
      case 'enum':
      case 'enum64':
      case 'float':
        return Math.min(this.ptrSize, t.size);
      case 'ptr':
        return this.ptrSize;
      case 'typedef':
      case 'volatile':
      case 'const':
      case 'restrict':
      case 'type_tag':
        return this.alignOf(t.type);
      case 'array':
        return this.alignOf(t.array!.type);
      case 'struct':
      case 'union': {
        let max = 1;
        for (const m of t.members) {
          const align = this.alignOf(m.type);
          if (align <= 0) return align;
          max = Math.max(max, align);
          if (m.bitfieldSize === 0 && m.offset % (8 * align) !== 0) return 1;
        }
        return t.size % max !== 0 ? 1 : max;
      }
      default:
        return 0;
    }
  }

  private structPacked(t: BtfType): boolean {
    let max = 1;
    for (const m of t.members) {
      const align = this.alignOf(m.type);
      if (align && m.bitfieldSize === 0 && m.offset % (8 * align) !== 0) return true;
      max = Math.max(align, max);
    }
    return t.size % max !== 0;
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

  private emitStructFwd(id: number, t: BtfType): void {
    this.p(`${t.kind}${t.name !== '' ? ' ' : ''}${this.typeName(id)}`);
  }

  private emitStructDef(id: number, t: BtfType, lvl: number): void {
    const isStruct = t.kind === 'struct';
    const align = this.alignOf(id);
    const packed = isStruct ? this.structPacked(t) : false;
    this.p(`${t.kind}${t.name !== '' ? ' ' : ''}${this.typeName(id)} {`);
    let off = 0;
    let prevBitfield = false;
    for (const m of t.members) {
      const mAlign = packed ? 1 : this.alignOf(m.type);
      const inBitfield = prevBitfield && m.bitfieldSize !== 0;
      this.emitBitPadding(off, m.offset, mAlign, inBitfield, lvl + 1);
      this.p(`\n${pfx(lvl + 1)}`);
      this.emitTypeDecl(m.type, m.name, lvl + 1);
      if (m.bitfieldSize) {
        this.p(`: ${m.bitfieldSize}`);
        off = m.offset + m.bitfieldSize;
        prevBitfield = true;
      } else {
        off = m.offset + Math.max(0, this.resolveSize(m.type)) * 8;
        prevBitfield = false;
      }
      this.p(';');
    }
    if (isStruct) this.emitBitPadding(off, t.size * 8, align, false, lvl + 1);
    if (t.vlen || t.size) this.p(`\n${pfx(lvl)}}`);
    else this.p('}');
    if (packed) this.p(' __attribute__((packed))');
  }

  private emitEnumDef(id: number, t: BtfType, lvl: number): void {
    this.p(`enum${t.name !== '' ? ' ' : ''}${this.typeName(id)}`);
    if (!t.vlen) return;
    this.p(' {');
    t.members.forEach((m, i) => {
      // Enumerators share their namespace with typedefs.
      const dups = this.nameDups(this.identNames, m.name);
      const name = dups > 1 ? `${m.name}___${dups}` : m.name;
      if (t.kind === 'enum') this.p(`\n${pfx(lvl + 1)}${name} = ${m.offset},`);
      else this.p(`\n${pfx(lvl + 1)}${name} = ${t.values![i]!}${t.kindFlag ? 'LL' : 'ULL'},`);
    });
    // Later libbpf marks 1- and 8-byte enums `__attribute__((mode(byte|word)))`; the bpftool this must equal
    // (Debian 12's 7.1, from its kernel's 6.1 tree) does not, and neither does this.
    this.p(`\n${pfx(lvl)}}`);
  }

  private emitFwdDef(id: number, t: BtfType): void {
    this.p(`${t.kindFlag ? 'union' : 'struct'} ${this.typeName(id)}`);
  }

  private emitTypedefDef(id: number, t: BtfType, lvl: number): void {
    const name = this.identName(id);
    // Old GCCs emit __gnuc_va_list as a typedef of void.
    if (t.type === 0 && name === '__gnuc_va_list') {
      this.p('typedef __builtin_va_list __gnuc_va_list');
      return;
    }
    this.p('typedef ');
    this.emitTypeDecl(t.type, name, lvl);
  }

  /** btf_dump_emit_type_decl: the chain of modifiers, pointers, arrays and protos down to a named type, in C's syntax. */
  private emitTypeDecl(id: number, fname: string, lvl: number): void {
    const stack: number[] = [];
    for (;;) {
      stack.push(id);
      if (id === 0) break;
      const t = this.types[id]!;
      if (t.kind === 'ptr' || MODS.has(t.kind) || t.kind === 'func_proto') id = t.type;
      else if (t.kind === 'array') id = t.array!.type;
      else break;
    }
    this.emitTypeChain(stack, fname, lvl);
  }

  private emitMods(stack: number[]): void {
    while (stack.length) {
      const t = this.types[stack[stack.length - 1]!]!;
      if (t.kind === 'volatile') this.p('volatile ');
      else if (t.kind === 'const') this.p('const ');
      else if (t.kind === 'restrict') this.p('restrict ');
      else return;
      stack.pop();
    }
  }

  private dropMods(stack: number[]): void {
    while (stack.length && MODS.has(this.types[stack[stack.length - 1]!]!.kind)) stack.pop();
  }

  private emitName(name: string, lastWasPtr: boolean): void {
    this.p(`${name !== '' && !lastWasPtr ? ' ' : ''}${name}`);
  }

  private emitTypeChain(stack: number[], fname: string, lvl: number): void {
    let lastWasPtr = true;
    while (stack.length) {
      const id = stack.pop()!;
      if (id === 0) {
        this.emitMods(stack);
        this.p('void');
        lastWasPtr = false;
        continue;
      }
      const t = this.types[id]!;
      switch (t.kind) {
        case 'int':
        case 'float':
          this.emitMods(stack);
          this.p(t.name);
          break;
        case 'struct':
        case 'union':
          this.emitMods(stack);
          if (t.name === '') this.emitStructDef(id, t, lvl);
          else this.emitStructFwd(id, t);
          break;
        case 'enum':
        case 'enum64':
          this.emitMods(stack);
          if (t.name === '') this.emitEnumDef(id, t, lvl);
          else this.p(`enum ${this.typeName(id)}`);
          break;
        case 'fwd':
          this.emitMods(stack);
          this.emitFwdDef(id, t);
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
          this.p(` __attribute__((btf_type_tag("${t.name}")))`);
          break;
        case 'array': {
          // GCC adds the element's const/volatile to the array itself; meaningless, so dropped.
          this.dropMods(stack);
          if (stack.length === 0) {
            this.emitName(fname, lastWasPtr);
            this.p(`[${t.array!.nelems}]`);
            return;
          }
          const multidim = this.types[stack[stack.length - 1]!]!.kind === 'array';
          if (fname !== '' && !lastWasPtr) this.p(' ');
          if (!multidim) this.p('(');
          this.emitTypeChain(stack, fname, lvl);
          if (!multidim) this.p(')');
          this.p(`[${t.array!.nelems}]`);
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
          const params = t.members;
          if (params.length === 0 || (params.length === 1 && params[0]!.type === 0)) {
            this.p('void)');
            return;
          }
          for (let i = 0; i < params.length; i++) {
            if (i > 0) this.p(', ');
            if (i === params.length - 1 && params[i]!.type === 0) {
              this.p('...');
              break;
            }
            this.emitTypeDecl(params[i]!.type, params[i]!.name, lvl);
          }
          this.p(')');
          return;
        }
        default:
          return;
      }
      lastWasPtr = t.kind === 'ptr';
    }
    this.emitName(fname, lastWasPtr);
  }

  private nameDups(map: Map<string, number>, name: string): number {
    const n = (map.get(name) ?? 0) + 1;
    map.set(name, n);
    return n;
  }

  private resolveName(id: number, map: Map<string, number>): string {
    const t = this.types[id]!;
    if (t.name === '') return '';
    const cached = this.resolved[id];
    if (cached !== undefined) return cached;
    if (t.kind === 'fwd' || (t.kind === 'enum' && t.vlen === 0)) return (this.resolved[id] = t.name);
    const dups = this.nameDups(map, t.name);
    return (this.resolved[id] = dups > 1 ? `${t.name}___${dups}` : t.name);
  }

  private typeName(id: number): string {
    return this.resolveName(id, this.typeNames);
  }

  private identName(id: number): string {
    return this.resolveName(id, this.identNames);
  }
}
