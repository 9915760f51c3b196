import type {Btf} from './btf.js';

/** How much of a kernel's real BTF another BTF (made from its headers) has, and how faithfully. */
export interface LayoutScore {
  /** Named structs and unions of the real BTF (a name counted once). */
  real: number;
  /** Of those, how many the other BTF defines. */
  present: number;
  /** Of those present, how many have the kernel's size and every member's name and bit offset. */
  exact: number;
  /** Present but laid out otherwise: the names, for a report. */
  differing: string[];
}

/**
 * A layout's identity: kind, size, and each member's name and bit offset (bitfield width too).
 * Member types are left out on purpose: CO-RE relocates by name, offset and size, and a member's
 * type id means nothing across two BTFs.
 */
function layout(btf: Btf, id: number): string {
  const parts = [btf.kind(id), String(btf.size(id))];
  for (let i = 0; i < btf.vlen(id); i++) parts.push(`${btf.memberName(id, i)}@${btf.memberOffset(id, i)}:${btf.memberBitfield(id, i)}`);
  return parts.join(' ');
}

/** Every named struct/union's layouts, by name (a name can have several: one per .c file that defines it). */
function layouts(btf: Btf): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (let id = 1; id < btf.count; id++) {
    const k = btf.kind(id);
    if ((k !== 'struct' && k !== 'union') || !btf.named(id)) continue;
    const key = `${k} ${btf.name(id)}`;
    let set = out.get(key);
    if (!set) out.set(key, (set = new Set()));
    set.add(layout(btf, id));
  }
  return out;
}

/** Compares every named struct and union of `real` with `made`'s of the same name. */
export function scoreLayouts(real: Btf, made: Btf): LayoutScore {
  const want = layouts(real);
  const have = layouts(made);
  let present = 0;
  let exact = 0;
  const differing: string[] = [];
  for (const [name, realLayouts] of want) {
    const got = have.get(name);
    if (!got) continue;
    present++;
    if ([...got].some((l) => realLayouts.has(l))) exact++;
    else differing.push(name);
  }
  return {real: want.size, present, exact, differing};
}

/** The part of a score as percentages with one decimal, as the bench and info print them. */
export function percent(n: number, of: number): string {
  return of === 0 ? '0.0%' : `${((100 * n) / of).toFixed(1)}%`;
}
