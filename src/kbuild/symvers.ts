import {readFile} from 'node:fs/promises';
import {basename, join} from 'node:path';
import {decompressAll} from '../archive/compression.js';
import {KhpkgError} from '../errors.js';
import {parseElf, type Elf} from '../elf/elf.js';
import {filesBelow} from '../root/walk.js';

/** One line of Module.symvers: `0xCRC<TAB>symbol<TAB>module<TAB>EXPORT_SYMBOL[_GPL]<TAB>namespace`. */
export interface SymversEntry {
  crc: number;
  symbol: string;
  /** `vmlinux`, or the exporting module's path in the kernel tree without `.ko` (`drivers/net/mii`). */
  module: string;
  gpl: boolean;
  namespace: string;
}

export interface SymversResult {
  text: string;
  symbols: number;
  /** Exported by modules: read from the exporter itself (its __kcrctab). */
  fromModules: number;
  /** Exported by vmlinux and imported by some module: read from the importers' __versions. */
  fromVmlinux: number;
  modules: number;
  /** Whether the GPL-only flag of vmlinux's exports came from System.map (else EXPORT_SYMBOL is assumed). */
  systemMap: boolean;
}

export const MODULE = /\.ko(\.xz|\.zst|\.gz)?$/;
const MAX_MODULE = 256 * 1024 * 1024;

/**
 * Module.symvers cannot come from kheaders, and only a full kernel build writes it. But a
 * CONFIG_MODVERSIONS kernel's modules carry its facts: every module records the CRC of each symbol
 * it imports (`__versions`), and each exporting module carries its exports' names, CRCs,
 * licence and namespace (`__ksymtab{,_gpl}`, `__kcrctab{,_gpl}`, `__kstrtabns_*`). Reading every
 * module under `/lib/modules/<rel>` gives every module export, and every vmlinux export that at
 * least one module uses — the ones an out-of-tree module is likely to use too.
 */
export async function reconstructSymvers(
  modulesDir: string,
  opts: {systemMap?: string; systemMapOptional?: boolean; onModule?: (n: number) => void} = {},
): Promise<SymversResult> {
  const files = await moduleFiles(modulesDir);
  if (files.length === 0) throw new KhpkgError('not-found', `no kernel modules (.ko, .ko.xz, .ko.zst) under ${modulesDir}`);
  const collector = new SymversCollector();
  for (const file of files) {
    collector.add(file, await moduleBytes(join(modulesDir, file)));
    opts.onModule?.(collector.modules);
  }
  const map = opts.systemMap === undefined ? undefined : await readSystemMap(opts.systemMap);
  return collector.result(map, opts.systemMapOptional);
}

/**
 * Module.symvers gathered one module at a time, as a directory is walked or a kernel package's
 * payload streams by: nothing but the symbols is kept of a module once it is added.
 */
export class SymversCollector {
  private readonly exported = new Map<string, SymversEntry>();
  private readonly imported = new Map<string, number>();
  modules = 0;

  /** `file`: the module's path under `lib/modules/<rel>/` (`kernel/drivers/net/mii.ko.xz`); `elf`: its decompressed bytes. */
  add(file: string, bytes: Buffer): void {
    const elf = parseElf(bytes);
    this.modules++;
    if (!elf) return;
    for (const [symbol, crc] of versions(elf)) if (!this.imported.has(symbol)) this.imported.set(symbol, crc);
    // Only in-tree modules (under kernel/) have a kernel-tree path to name them by.
    const inTree = /^kernel\/(.*)\.ko(\.\w+)?$/.exec(file);
    if (inTree) for (const e of exportsOf(elf, inTree[1]!)) this.exported.set(e.symbol, e);
  }

  /** `systemMap`: a System.map's text and its name, for which vmlinux exports are GPL-only. */
  result(systemMap?: {text: string; name: string}, systemMapOptional = false): SymversResult {
    const gplOnly = systemMap ? gplExports(systemMap.text) : undefined;
    if (systemMap && !gplOnly && !systemMapOptional)
      throw new KhpkgError(
        'bad-input',
        `${systemMap.name} has no __start___ksymtab_gpl/__stop___ksymtab_gpl addresses: not a kernel's System.map (Debian's is a stub; /proc/kallsyms needs root)`,
      );
    const entries = [...this.exported.values()];
    let fromVmlinux = 0;
    for (const [symbol, crc] of this.imported) {
      if (this.exported.has(symbol)) continue;
      entries.push({crc, symbol, module: 'vmlinux', gpl: gplOnly?.has(symbol) ?? false, namespace: ''});
      fromVmlinux++;
    }
    entries.sort((a, b) => (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0));
    return {
      text: entries.map(formatEntry).join(''),
      symbols: entries.length,
      fromModules: this.exported.size,
      fromVmlinux,
      modules: this.modules,
      systemMap: gplOnly !== undefined,
    };
  }
}

async function readSystemMap(path: string): Promise<{text: string; name: string}> {
  const text = await readFile(path, 'utf8').catch((e: Error) => {
    throw new KhpkgError('not-found', `System.map ${path}: ${e.message}`);
  });
  return {text, name: path};
}

export function formatEntry(e: SymversEntry): string {
  return `0x${e.crc.toString(16).padStart(8, '0')}\t${e.symbol}\t${e.module}\tEXPORT_SYMBOL${e.gpl ? '_GPL' : ''}\t${e.namespace}\n`;
}

/** Parses Module.symvers text (for comparing, and for reading a tree's own). */
export function parseSymvers(text: string): Map<string, SymversEntry> {
  const out = new Map<string, SymversEntry>();
  for (const line of text.split('\n')) {
    const [crc, symbol, module, type, namespace] = line.split('\t');
    if (!crc || !symbol || !module || !type) continue;
    out.set(symbol, {crc: Number.parseInt(crc, 16), symbol, module, gpl: type.endsWith('_GPL'), namespace: namespace ?? ''});
  }
  return out;
}

async function moduleFiles(dir: string): Promise<string[]> {
  let files: string[];
  try {
    files = await filesBelow(dir);
  } catch (e) {
    throw new KhpkgError('not-found', `${dir}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such directory' : (e as Error).message}`);
  }
  return files.filter((f) => MODULE.test(basename(f)));
}

async function moduleBytes(path: string): Promise<Buffer> {
  return decompressedModule(path, await readFile(path));
}

/** A module's ELF bytes: `.ko` as it is, `.ko.xz`/`.ko.zst`/`.ko.gz` decompressed (bounded). */
export async function decompressedModule(path: string, raw: Buffer): Promise<Buffer> {
  return path.endsWith('.ko') ? raw : decompressAll(raw, MAX_MODULE);
}

/** `struct modversion_info { unsigned long crc; char name[64 - sizeof(unsigned long)]; }`. */
function versions(elf: Elf): [string, number][] {
  const sec = elf.section('__versions');
  const data = sec && elf.data(sec);
  if (!data) return [];
  const word = elf.is64 ? 8 : 4;
  const out: [string, number][] = [];
  for (let at = 0; at + 64 <= data.length; at += 64) {
    const crc = elf.littleEndian ? data.readUInt32LE(at) : data.readUInt32BE(at + word - 4);
    const end = data.indexOf(0, at + word);
    const name = data.toString('latin1', at + word, end < 0 || end > at + 64 ? at + 64 : end);
    if (name) out.push([name, crc]);
  }
  return out;
}

/** A module's exports: `__ksymtab_<sym>` says which table (GPL or not), `__crc_<sym>` its CRC. */
function exportsOf(elf: Elf, module: string): SymversEntry[] {
  const symbols = elf.symbols();
  const byName = new Map(symbols.map((s) => [s.name, s]));
  const u32At = (name: string, value: bigint): number | undefined => {
    const sec = elf.section(name);
    const data = sec && elf.data(sec);
    const at = Number(value);
    if (!data || at + 4 > data.length) return undefined;
    return elf.littleEndian ? data.readUInt32LE(at) : data.readUInt32BE(at);
  };
  const stringAt = (name: string, value: bigint): string => {
    const sec = elf.section(name);
    const data = sec && elf.data(sec);
    if (!data) return '';
    const end = data.indexOf(0, Number(value));
    return data.toString('latin1', Number(value), end < 0 ? data.length : end);
  };
  const out: SymversEntry[] = [];
  for (const s of symbols) {
    if (!s.name.startsWith('__ksymtab_')) continue;
    const table = elf.sections[s.shndx]?.name;
    if (table !== '__ksymtab' && table !== '__ksymtab_gpl') continue;
    const symbol = s.name.slice('__ksymtab_'.length);
    const crcSym = byName.get(`__crc_${symbol}`);
    const crcSection = crcSym && elf.sections[crcSym.shndx]?.name;
    const crc = crcSym && crcSection ? u32At(crcSection, crcSym.value) : undefined;
    if (crc === undefined) continue; // no CRC: the kernel was not built with CONFIG_MODVERSIONS
    const ns = byName.get(`__kstrtabns_${symbol}`);
    out.push({crc, symbol, module, gpl: table === '__ksymtab_gpl', namespace: ns ? stringAt(elf.sections[ns.shndx]?.name ?? '', ns.value) : ''});
  }
  return out;
}

/**
 * vmlinux's GPL-only exports: the `__ksymtab_<sym>` addresses inside `__start___ksymtab_gpl`..
 * `__stop___ksymtab_gpl`, from a System.map or /proc/kallsyms (same format). Undefined when it
 * holds no such addresses (a stub, or kallsyms read without root shows zeros).
 */
function gplExports(text: string): Set<string> | undefined {
  const ksymtab = new Map<string, bigint>();
  let start: bigint | undefined;
  let stop: bigint | undefined;
  for (const line of text.split('\n')) {
    const [addr, , name] = line.split(/\s+/);
    if (!addr || !name) continue;
    if (name === '__start___ksymtab_gpl') start = BigInt(`0x${addr}`);
    else if (name === '__stop___ksymtab_gpl') stop = BigInt(`0x${addr}`);
    else if (name.startsWith('__ksymtab_')) ksymtab.set(name.slice('__ksymtab_'.length), BigInt(`0x${addr}`));
  }
  if (start === undefined || stop === undefined || start === 0n) return undefined;
  return new Set([...ksymtab].filter(([, a]) => a >= start! && a < stop!).map(([s]) => s));
}
