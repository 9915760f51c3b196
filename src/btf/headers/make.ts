import {existsSync, rmSync} from 'node:fs';
import {mkdtemp, readdir, readFile, rm, writeFile} from 'node:fs/promises';
import {availableParallelism, tmpdir} from 'node:os';
import {dirname, join} from 'node:path';
import type {KernelIdentity} from '../../archive/info.js';
import {parseAutoconf} from '../../archive/info.js';
import {filesBelow} from '../../root/walk.js';
import {KhpkgError} from '../../errors.js';
import {runTool} from '../../tool.js';
import {onInterrupt} from '../../interrupt.js';
import {compilerIncludeDir, kernelCompiler, toolVersion, type KernelCompiler} from './compiler.js';

/**
 * The headers whose types are worth compiling: every directory of include/ and the architecture's
 * asm/ and uapi/asm/, but trace/ (its templates expand only in a tracepoint's .c file: see
 * traceHeaders), dt-bindings/ (numbers for device trees, no types) and what kbuild generated.
 */
const SKIPPED_DIRS = new Set(['trace', 'dt-bindings', 'generated', 'config']);

/** Headers per translation unit: large enough that the shared closure is parsed rarely, small enough that a bad one costs little. */
const UNIT_SIZE = 150;
/** Rounds of setting aside what a unit's errors name before the unit is given up. */
const MAX_ROUNDS = 12;

export interface HeaderBtfResult {
  /** Raw BTF, as pahole wrote it. */
  blob: Buffer;
  compiler: string;
  pahole: string;
  /** Headers whose types are in it, of those tried. */
  headers: number;
  tried: number;
}

export type HeaderBtfProgress = (phase: 'compiling headers into BTF', done: number, total: number) => void;

/**
 * BTF made from a kernel's own headers, for kernels built without CONFIG_DEBUG_INFO_BTF: every
 * header that compiles for this kernel's config is compiled as kbuild would (`-D__KERNEL__`,
 * autoconf.h, compiler_types.h, the arch's ABI flags) with `-g`, and pahole turns the DWARF into
 * deduplicated BTF. Tracepoint headers are expanded as the one .c file that defines their events
 * does (CREATE_TRACE_POINTS), which makes the `trace_event_raw_*` structs tracepoint programs
 * read. What no header holds, it cannot: types private to .c files, functions.
 *
 * Headers go 150 to a unit after a prelude of what most .c files include first (a quarter of the
 * headers do not compile alone, relying on their includer for that). A unit's errors name the
 * headers that broke it, which are set aside until the unit compiles (-fsyntax-only: a round costs
 * a parse, not DWARF); then each unit is compiled once more with -g. Headers whose own includes are
 * not in the set (another architecture's asm/) would stop a unit at their first line, so they go
 * alone. Measured on 6.12 amd64 with 2 cores: 110 s, 3,376 of 5,647 headers kept. Screening every
 * header alone first took 3 minutes by itself; giving what was set aside a second pass with new
 * neighbours took 110 s more for 34 headers.
 */
export async function makeHeaderBtf(tree: string, info: KernelIdentity, autoconfText: string, onProgress?: HeaderBtfProgress): Promise<HeaderBtfResult> {
  const autoconf = parseAutoconf(autoconfText);
  if (autoconf.has('CONFIG_RANDSTRUCT_FULL') || autoconf.has('CONFIG_RANDSTRUCT_PERFORMANCE') || autoconf.has('CONFIG_GCC_PLUGIN_RANDSTRUCT'))
    throw new KhpkgError(
      'bad-input',
      '--btf headers: the kernel randomizes struct layout (RANDSTRUCT) with a seed its headers do not carry: no compile can know its layout',
    );
  const cc = kernelCompiler(info, autoconfText);
  const pahole = toolVersion('pahole');
  if (pahole === undefined) throw new KhpkgError('header-btf', "pahole is not installed (Debian's package: pahole, or dwarves)");
  const paths = includePaths(info.srcarch);
  const own = compilerIncludeDir(cc);
  const args = [...cc.flags, ...includeFlags(tree, paths, own)];
  const headers = await typeHeaders(tree, info.srcarch);
  if (headers.length === 0) throw new KhpkgError('bad-input', `--btf headers: the set has no headers under include/linux`);
  const traces = await traceHeaders(tree);

  const work = await mkdtemp(join(tmpdir(), 'khpkg-btf-'));
  // Minutes of compiling: a Ctrl-C in them leaves no units behind.
  const forget = onInterrupt(() => rmSync(work, {recursive: true, force: true}));
  try {
    const c: Compile = {cc, args, tree, work, made: 0};
    const prelude = (await compileUnit(c, {prefix: PRELUDE, lines: []}, 'syntax')) ? PRELUDE : [];
    const alone = new Set((await Promise.all(headers.map(async (h) => ((await missingIncludes(tree, h, paths, own)) ? h : undefined)))).filter(Boolean));
    const groups: Group[] = [
      ...chunks(
        headers.filter((h) => !alone.has(h)),
        UNIT_SIZE,
      ).map((lines) => ({prefix: prelude, lines: lines.map(quoted)})),
      ...[...alone].map((h) => ({prefix: prelude, lines: [quoted(h!)]})),
      ...chunks(traces, TRACE_UNIT_SIZE).map((lines) => ({
        prefix: [...prelude, '#define CREATE_TRACE_POINTS'],
        lines: lines.map((t) => `#include <${t.slice('include/'.length)}>`),
      })),
    ];
    const total = groups.reduce((n, g) => n + g.lines.length, 0);
    let seen = 0;
    const units = await compilingUnits(c, groups, (n) => onProgress?.('compiling headers into BTF', (seen += n), total));
    const objects = (await inParallel(units, (u) => compileUnit(c, u, 'object'))).filter((u) => u !== undefined);
    if (objects.length === 0) throw new KhpkgError('header-btf', `--btf headers: no header of ${info.release} compiles with ${cc.version}`);
    const out = join(work, 'headers.btf');
    const p = await runTool('pahole', ['-J', `--btf_encode_detached=${out}`, ...objects.map((o) => o!.object!)], {env: cEnv()});
    if (p.code !== 0 || !existsSync(out))
      throw new KhpkgError('header-btf', `pahole could not encode the headers' DWARF as BTF: ${p.output.trim().split('\n').slice(-1)[0] || `exit ${p.code}`}`);
    return {
      blob: await readFile(out),
      compiler: cc.version,
      pahole: `pahole ${pahole}`,
      headers: objects.reduce((n, o) => n + o!.lines.length, 0),
      tried: total,
    };
  } finally {
    forget();
    await rm(work, {recursive: true, force: true});
  }
}

/** What most .c files include before their own headers, and a header may rely on having been included. */
const PRELUDE = ['linux/kernel.h', 'linux/types.h', 'linux/slab.h', 'linux/sched.h', 'linux/fs.h', 'linux/mm.h', 'linux/module.h', 'linux/netdevice.h'].map(
  (h) => `#include <${h}>`,
);
/** Tracepoint headers to a unit: each expands to many functions. */
const TRACE_UNIT_SIZE = 10;

/** kbuild's include paths (LINUXINCLUDE), in its order. */
function includePaths(srcarch: string): string[] {
  const arch = `arch/${srcarch}/include`;
  return [arch, `${arch}/generated`, 'include', `${arch}/uapi`, `${arch}/generated/uapi`, 'include/uapi', 'include/generated/uapi'];
}

/** The paths, and the headers kbuild puts before every file. */
function includeFlags(tree: string, paths: string[], own: string | undefined): string[] {
  const forced = ['include/linux/compiler-version.h', 'include/linux/kconfig.h', 'include/linux/compiler_types.h'].filter((f) => existsSync(join(tree, f)));
  return ['-nostdinc', ...(own ? ['-isystem', own] : []), '-iquote', '.', ...paths.flatMap((p) => ['-I', p]), ...forced.flatMap((f) => ['-include', f])];
}

async function typeHeaders(tree: string, srcarch: string): Promise<string[]> {
  const top = (await readdir(join(tree, 'include'), {withFileTypes: true}).catch(() => [])).filter((d) => d.isDirectory() && !SKIPPED_DIRS.has(d.name));
  const dirs = [...top.map((d) => `include/${d.name}`), `arch/${srcarch}/include/asm`, `arch/${srcarch}/include/uapi/asm`];
  const out: string[] = [];
  for (const d of dirs) {
    if (!existsSync(join(tree, d))) continue;
    for (const f of await filesBelow(join(tree, d))) if (f.endsWith('.h')) out.push(`${d}/${f}`);
  }
  return out.sort();
}

async function traceHeaders(tree: string): Promise<string[]> {
  const dir = 'include/trace/events';
  if (!existsSync(join(tree, dir))) return [];
  return (await filesBelow(join(tree, dir)))
    .filter((f) => f.endsWith('.h') && !f.includes('/'))
    .map((f) => `${dir}/${f}`)
    .sort();
}

/** Whether a header's own #include lines (any, conditional or not) name a file the set does not have. */
async function missingIncludes(tree: string, header: string, paths: string[], own: string | undefined): Promise<boolean> {
  const text = await readFile(join(tree, header), 'latin1').catch(() => '');
  for (const m of text.matchAll(/^\s*#\s*include\s*([<"])([^>"\n]+)[>"]/gm)) {
    const name = m[2]!;
    const places = [...(m[1] === '"' ? [join(tree, dirname(header), name)] : []), ...paths.map((p) => join(tree, p, name)), ...(own ? [join(own, name)] : [])];
    if (!places.some((p) => existsSync(p))) return true;
  }
  return false;
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function quoted(header: string): string {
  return `#include "${header}"`;
}

interface Compile {
  cc: KernelCompiler;
  args: string[];
  tree: string;
  work: string;
  made: number;
}

/** A translation unit: lines that stay (a prelude) and include lines, each of which may be set aside. */
interface Group {
  prefix: string[];
  lines: string[];
}

/** The groups, each narrowed to what compiles with -fsyntax-only, as many at once as there are cores. */
async function compilingUnits(c: Compile, groups: Group[], onDone: (lines: number) => void): Promise<Group[]> {
  const results = await inParallel(groups, async (g) => {
    const unit = await compileUnit(c, g, 'syntax');
    onDone(g.lines.length);
    return unit;
  });
  return results.filter((u): u is Group => u !== undefined);
}

/**
 * Compiles one unit (`syntax`: parse only; `object`: with DWARF, to `unit.object`), setting aside
 * the lines its errors name, round after round, until it compiles; undefined when it never does.
 */
async function compileUnit(c: Compile, group: Group, mode: 'syntax' | 'object'): Promise<(Group & {object?: string}) | undefined> {
  let lines = [...group.lines];
  const base = join(c.work, `unit${c.made++}`);
  const source = `${base}.c`;
  const object = `${base}.o`;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    // An empty declaration after each header ends whatever it left open (a template header's
    // `OP(x)` at file scope reads as the start of an old-style function), so its error stays its
    // own instead of breaking the headers after it.
    await writeFile(source, [...group.prefix, ...lines.flatMap((l) => [l, ';']), ''].join('\n'));
    const r = await runTool(c.cc.command, [...c.args, ...(mode === 'syntax' ? ['-fsyntax-only'] : ['-c', '-o', object]), source], {cwd: c.tree, env: cEnv()});
    if (r.code === 0) return {prefix: group.prefix, lines, ...(mode === 'object' ? {object} : {})};
    const bad = badLines(r.output, source);
    const first = group.prefix.length + 1;
    // An error in the prelude, or one no line is blamed for (the compiler crashed): the unit is lost.
    if (bad.size === 0 || [...bad].some((n) => n < first) || lines.length === 0) break;
    // Line first + 2i is header i, first + 2i + 1 the `;` after it.
    const blamed = new Set([...bad].map((n) => Math.floor((n - first) / 2)));
    lines = lines.filter((_, i) => !blamed.has(i));
    if (lines.length === 0) break;
  }
  return undefined;
}

/** The unit's lines whose includes an error came from. */
export function badLines(output: string, source: string): Set<number> {
  const bad = new Set<number>();
  const name = source.split('/').pop()!.replace(/[.]/g, '[.]');
  const fromUnit = new RegExp(`${name}:(\\d+)`);
  // gcc prints an include chain only when it changes: later errors of the same header are under it.
  let top: number | undefined;
  for (const line of output.split('\n')) {
    const chain = /^(?:In file included from|\s+from) /.test(line);
    const m = fromUnit.exec(line);
    if (chain) {
      if (m) top = Number(m[1]);
    } else if (/(?:error|fatal error):/.test(line)) {
      // An error in the unit itself names its line directly.
      if (m) bad.add(Number(m[1]));
      else if (top !== undefined) bad.add(top);
    }
  }
  return bad;
}

/** The C locale: gcc's messages are parsed. */
function cEnv(): NodeJS.ProcessEnv {
  return {...process.env, LC_ALL: 'C', LANG: 'C'};
}

/** `f` over every item, as many at once as there are cores; results in the items' order. */
async function inParallel<T, R>(items: readonly T[], f: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i]!, i);
    }
  };
  await Promise.all(Array.from({length: Math.min(items.length, Math.max(1, availableParallelism()))}, worker));
  return out;
}
