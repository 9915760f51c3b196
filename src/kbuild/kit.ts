import {existsSync} from 'node:fs';
import {lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, unlink, writeFile} from 'node:fs/promises';
import {availableParallelism, tmpdir} from 'node:os';
import {basename, dirname, join, resolve} from 'node:path';
import {hostArchitecture} from '../archive/arch.js';
import type {ArchiveScan} from '../archive/scan.js';
import type {Limits} from '../archive/limits.js';
import type {ArchiveInput} from '../archive/reader.js';
import {deriveRustcCfg, type KernelConfig} from '../content/config.js';
import {headersPlan, treeDirFor, type KitFile} from '../content/headers.js';
import {renderTemplate} from '../content/templates.js';
import {KhpkgError} from '../errors.js';
import {relevantLines, runTool} from '../tool.js';
import {TreeSink} from '../content/tree-writer.js';
import {feedPlans} from '../content/feed.js';
import {runningRelease} from '../source/kernel.js';
import {howToGiveSource, seriesOf} from './discover.js';
import {kernelSourceFor} from './kit-cache.js';
import {reconstructSymvers, type SymversResult} from './symvers.js';
import {filesBelow} from '../root/walk.js';

/** What `--kbuild` was given. */
export interface KbuildInputs {
  /** A kernel source directory or tarball of the same major.minor; `auto`: the series' cached kit, or a source the root has (kbuild/discover.ts). */
  source: string;
  /** Installed modules of the kernel to rebuild Module.symvers from (`/lib/modules/<rel>`). */
  symversFrom?: string;
  /** A System.map or /proc/kallsyms, for which vmlinux exports are GPL-only. */
  systemMap?: string;
  /** Module.symvers already gathered (a kernel package's modules, as they streamed by), and what it came from. */
  symvers?: {from: string; result: SymversResult};
  /** Without symversFrom: look for `<root>/lib/modules/<release>` (the kernel's own modules). */
  root?: string;
  /** The tree will have the kernel's BTF (vmlinux): build resolve_btfids, so modules get BTF (CONFIG_DEBUG_INFO_BTF_MODULES). */
  moduleBtf?: boolean;
}

/** The module-build tier's files, ready to join the header tree as extras, and where they came from. */
export interface KbuildKit {
  files: KitFile[];
  sourcePath: string;
  sourceVersion: string;
  /** The source's kit came from the series' cache: no source was read. */
  sourceFromCache?: boolean;
  /** The kernel checks symbol CRCs (CONFIG_MODVERSIONS); without, modules need none. */
  modversions: boolean;
  symvers?: {from: string; symbols: number; fromModules: number; fromVmlinux: number; modules: number};
}

/** What the registry keeps of a kit: what it was made from. */
export function kitRecord(kit: KbuildKit): {source: string; sourceVersion: string; symversFrom?: string; symversSymbols?: number; modversions: boolean} {
  return {
    source: kit.sourcePath.startsWith('/') ? kit.sourcePath : resolve(kit.sourcePath),
    sourceVersion: kit.sourceVersion,
    symversFrom: kit.symvers?.from,
    symversSymbols: kit.symvers?.symbols,
    modversions: kit.modversions,
  };
}

/**
 * What the top Makefile checks for before it builds anything (`checked-configs`), and how khpkg
 * makes each from the archive and the config alone, as Kconfig would. A file not in this table is a
 * series khpkg does not know yet: refused in one line naming it.
 */
const KCONFIG_OUTPUTS: Record<string, 'archive' | 'auto.conf' | 'rustc_cfg'> = {
  'include/generated/autoconf.h': 'archive',
  'include/config/auto.conf': 'auto.conf',
  'include/generated/rustc_cfg': 'rustc_cfg',
};

function checkedConfigs(makefile: string): string[] {
  const m = /^checked-configs\s*:=\s*\$\(addprefix \$\(objtree\)\/,\s*([^)]*)\)/m.exec(makefile);
  return m ? m[1]!.split(/\s+/).filter(Boolean) : [];
}

/**
 * Assembles kbuild around the archive's headers: the kernel source's Makefiles and `scripts/`,
 * kbuild's host programs built by the kernel's own make targets inside the assembled tree (fixdep,
 * modpost, genksyms, sign-file, and objtool where the config uses it), `scripts/module.lds` from
 * `scripts/module.lds.S` and the tree's headers, and Module.symvers from the installed modules.
 * Everything happens in a private temp dir; only the results come back, as files.
 */
export async function buildKbuildKit(
  scan: ArchiveScan,
  archive: ArchiveInput,
  config: KernelConfig | undefined,
  inputs: KbuildInputs,
  limits: Limits,
): Promise<KbuildKit> {
  const {release, version, srcarch} = scan.info;
  if (!config) throw new KhpkgError('usage', "--kbuild needs the kernel's config: give --config (the running kernel's /proc/config.gz is used by default)");
  if (hostArchitecture()?.srcarch !== srcarch)
    throw new KhpkgError('usage', `--kbuild builds kbuild's host programs on a ${srcarch} machine; this one is ${process.arch}`);
  if (config.symbols.get('CONFIG_GCC_PLUGINS') === 'y')
    throw new KhpkgError('usage', '--kbuild: kernels built with CONFIG_GCC_PLUGINS=y are not supported yet (their plugins must be built with the same gcc)');
  const want = seriesOf(version);
  const resolved = await kernelSourceFor(inputs.root ?? '/', want, srcarch, inputs.source === 'auto' ? undefined : inputs.source);
  if (!resolved) throw new KhpkgError('no-kbuild-source', `no Linux ${want} source for a module-build tree of ${release}: ${howToGiveSource(want, release)}`);
  const {source} = resolved;
  const got = seriesOf(source.version);
  if (want !== got)
    throw new KhpkgError('bad-input', `--kbuild ${resolved.path} is Linux ${source.version}, but the headers are ${version}: give a ${want} source`);

  const work = await mkdtemp(join(tmpdir(), 'khpkg-kbuild-'));
  try {
    // The archive's headers (and .config, auto.conf) exactly as they will be shipped.
    const treeRel = treeDirFor('debian', release);
    const tree = join(work, 'tree');
    const plan = headersPlan(scan, 'debian', config, {timestamp: Math.floor(Date.now() / 1000)}).build();
    await feedPlans([{plan, sink: new TreeSink(treeRel, tree)}], archive, limits);
    await unlink(join(tree, 'Makefile'));
    for (const f of source.files) {
      await mkdir(dirname(join(tree, f.path)), {recursive: true});
      await writeFile(join(tree, f.path), f.data, {mode: f.mode});
    }
    // auto.conf.cmd present and newer than .config: kbuild must not try to re-run Kconfig.
    await writeFile(join(tree, 'include/config/auto.conf.cmd'), '');
    // What else Kconfig writes from the config and the top Makefile checks for (6.1x+: rustc_cfg).
    const checked = checkedConfigs(await readFile(join(tree, 'Makefile'), 'utf8'));
    const unknown = checked.filter((f) => !(f in KCONFIG_OUTPUTS));
    if (unknown.length > 0)
      throw new KhpkgError(
        'kbuild',
        `--kbuild: Linux ${source.version}'s Makefile needs ${unknown.join(', ')} from Kconfig, which khpkg does not know how to make from a config yet`,
      );
    if (checked.includes('include/generated/rustc_cfg')) await writeFile(join(tree, 'include/generated/rustc_cfg'), deriveRustcCfg(config));
    await writeFile(join(tree, 'include/config/kernel.release'), `${release}\n`);
    const before = await generatedHeaders(tree, srcarch);

    const jobs = `-j${availableParallelism()}`;
    await make(['-C', tree, jobs, 'scripts_basic'], 'scripts_basic (fixdep)');
    // SELinux's and IPE's host tools need sources outside kbuild; modules never use them.
    await make(['-C', tree, jobs, 'scripts', 'CONFIG_SECURITY_SELINUX=', 'CONFIG_SECURITY_IPE='], 'scripts (genksyms, sign-file, ...)');
    // modpost is built by modules_prepare, which would regenerate headers: build its dir as kbuild builds M= dirs.
    await make(['-C', tree, jobs, `M=${join(tree, 'scripts/mod')}`, 'KBUILD_MODPOST_WARN=1'], 'scripts/mod (modpost)');
    if (config.symbols.get('CONFIG_OBJTOOL') === 'y') await make(['-C', join(tree, 'tools/objtool'), jobs], 'tools/objtool');
    await moduleLds(tree, srcarch);
    const after = await generatedHeaders(tree, srcarch);
    const touched = [...after].filter(([p, m]) => before.get(p) !== m).map(([p]) => p);
    if (touched.length > 0)
      throw new KhpkgError(
        'kbuild',
        `kbuild rewrote the archive's generated headers (${touched.slice(0, 3).join(', ')}): the source tree does not fit this kernel`,
      );

    let symvers: KbuildKit['symvers'];
    const modules = inputs.root === undefined ? undefined : join(inputs.root, 'lib/modules', release);
    const symversFrom = inputs.symvers?.from ?? inputs.symversFrom ?? (modules && existsSync(join(modules, 'kernel')) ? modules : undefined);
    const running = release === runningRelease() && existsSync('/proc/kallsyms');
    if (symversFrom) {
      const r =
        inputs.symvers?.result ??
        (await reconstructSymvers(symversFrom, {
          systemMap: inputs.systemMap ?? (running ? '/proc/kallsyms' : undefined),
          systemMapOptional: inputs.systemMap === undefined,
        }));
      await writeFile(join(tree, 'Module.symvers'), r.text);
      symvers = {from: symversFrom, symbols: r.symbols, fromModules: r.fromModules, fromVmlinux: r.fromVmlinux, modules: r.modules};
    }
    const modversions = config.symbols.get('CONFIG_MODVERSIONS') === 'y';
    // Module BTF: kbuild runs pahole against the tree's vmlinux, then resolve_btfids, which is built here.
    const moduleBtf = inputs.moduleBtf === true && config.symbols.get('CONFIG_DEBUG_INFO_BTF_MODULES') === 'y';
    if (moduleBtf) {
      // resolve_btfids links a private libbpf, whose build would make the BPF helpers' header with
      // python3 (scripts/bpf_doc.py): resolve_btfids never uses it, and a kernel machine may have no python3.
      await mkdir(join(tree, 'tools/bpf/resolve_btfids/libbpf'), {recursive: true});
      await writeFile(join(tree, 'tools/bpf/resolve_btfids/libbpf/bpf_helper_defs.h'), '/* khpkg: resolve_btfids uses no BPF helpers */\n');
      await make(['-C', join(tree, 'tools/bpf/resolve_btfids'), jobs], 'tools/bpf/resolve_btfids');
    }
    // A wrapper Makefile around the kernel's says what this tree cannot do, and lets builds go through.
    const wrappers: string[] = [];
    if (!modversions || !symversFrom) {
      // No CRCs to give modpost (none needed without MODVERSIONS).
      if (!symversFrom && !modversions) await writeFile(join(tree, 'Module.symvers'), '');
      wrappers.push(renderTemplate(modversions ? 'Makefile.kbuild-no-symvers' : 'Makefile.kbuild-no-modversions', {RELEASE: release}));
    }
    if (moduleBtf) wrappers.push(renderTemplate('Makefile.kbuild-btf', {RELEASE: release, PAHOLE: config.symbols.get('CONFIG_PAHOLE_VERSION') ?? '?'}));
    if (wrappers.length > 0) {
      await writeFile(join(tree, 'Makefile.kernel'), await readFile(join(tree, 'Makefile')));
      await writeFile(join(tree, 'Makefile'), `${wrappers.join('')}include $(dir $(lastword $(MAKEFILE_LIST)))Makefile.kernel\n`);
    }
    return {
      files: await collectKit(tree, srcarch),
      sourcePath: resolved.path,
      sourceVersion: source.version,
      symvers,
      modversions,
      sourceFromCache: resolved.fromCache,
    };
  } finally {
    await rm(work, {recursive: true, force: true});
  }
}

/** What the module build uses, without the build's droppings (objects, .cmd files, objtool's sources). */
async function collectKit(tree: string, srcarch: string): Promise<KitFile[]> {
  const out: KitFile[] = [];
  const add = async (rel: string): Promise<void> => {
    const st = await lstat(join(tree, rel)).catch(() => undefined);
    if (st?.isFile()) out.push({path: rel, mode: st.mode & 0o7777, data: await readFile(join(tree, rel))});
  };
  for (const f of [
    'Makefile',
    'Makefile.kernel',
    'Module.symvers',
    'include/config/auto.conf.cmd',
    'include/config/kernel.release',
    'include/generated/rustc_cfg',
    'tools/objtool/objtool',
    'tools/bpf/resolve_btfids/resolve_btfids',
  ])
    await add(f);
  for (const f of await readdir(join(tree, 'arch', srcarch))) if (/^(Makefile|Kbuild\.platforms|Platform)/.test(f)) await add(`arch/${srcarch}/${f}`);
  for (const rel of await filesBelow(join(tree, 'scripts'))) {
    const name = basename(rel);
    if (/(\.o|\.a|\.mod|\.mod\.c|\.order|\.symvers|\.tmp)$/.test(name) || name.startsWith('.')) continue;
    await add(`scripts/${rel}`);
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : 1));
}

/** `scripts/module.lds` as modules_prepare makes it: module.lds.S through cpp with the tree's headers. */
async function moduleLds(tree: string, srcarch: string): Promise<void> {
  const inc = [
    `arch/${srcarch}/include`,
    `arch/${srcarch}/include/generated`,
    'include',
    `arch/${srcarch}/include/uapi`,
    `arch/${srcarch}/include/generated/uapi`,
    'include/uapi',
    'include/generated/uapi',
  ];
  await run(
    process.env.CC ?? 'gcc',
    [
      '-E',
      '-P',
      `-U${srcarch}`,
      '-D__ASSEMBLY__',
      '-DLINKER_SCRIPT',
      '-nostdinc',
      ...inc.flatMap((d) => ['-I', d]),
      '-include',
      'include/linux/kconfig.h',
      '-D__KERNEL__',
      '-o',
      'scripts/module.lds',
      'scripts/module.lds.S',
    ],
    'scripts/module.lds',
    tree,
  );
}

async function generatedHeaders(tree: string, srcarch: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const dir of ['include/generated', `arch/${srcarch}/include/generated`]) {
    const entries = await readdir(join(tree, dir), {recursive: true}).catch(() => [] as string[]);
    for (const e of entries) {
      const st = await stat(join(tree, dir, e));
      if (st.isFile()) out.set(`${dir}/${e}`, st.mtimeMs);
    }
  }
  return out;
}

function make(args: string[], what: string): Promise<void> {
  return run('make', args, what);
}

/** Runs a build tool; a failure says which step and the tool's last words. */
async function run(cmd: string, args: string[], what: string, cwd?: string): Promise<void> {
  const env: NodeJS.ProcessEnv = {...process.env, LC_ALL: 'C'};
  for (const k of ['MAKEFLAGS', 'MFLAGS', 'MAKELEVEL', 'ARCH', 'CROSS_COMPILE', 'KBUILD_OUTPUT', 'O']) delete env[k];
  const r = await runTool(cmd, args, {cwd, env}).catch((e: NodeJS.ErrnoException) => {
    throw new KhpkgError('kbuild', e.code === 'ENOENT' ? `--kbuild needs ${cmd}, which is not installed` : `${cmd}: ${e.message}`);
  });
  if (r.code === 0) return;
  // The lines that say why (kbuild's list of missing files, the first compiler error), not one cut short.
  const why = relevantLines(r.output, /error|not found|No such file|missing/i).join('\n  ');
  throw new KhpkgError('kbuild', `--kbuild: building ${what} failed (exit ${r.code}):\n  ${why}`);
}
