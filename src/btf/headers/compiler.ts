import {execFileSync} from 'node:child_process';
import {architecture, hostArchitecture, type ArchNames} from '../../archive/arch.js';
import {consumerCflags, parseAutoconf} from '../../archive/info.js';
import {KhpkgError} from '../../errors.js';

/**
 * The flags that decide a type's layout as kbuild compiles the kernel, per architecture (from
 * arch/<srcarch>/Makefile): word size, ABI and what the kernel forbids itself (red zone, FP
 * registers). Code generation beyond that does not change a struct.
 */
const ARCH_FLAGS: Record<string, {gcc: string[]; clang: string[]}> = {
  x86_64: {gcc: ['-m64', '-mcmodel=kernel', '-mno-red-zone'], clang: ['-m64', '-mcmodel=kernel', '-mno-red-zone']},
  aarch64: {gcc: ['-mabi=lp64', '-mgeneral-regs-only'], clang: ['-mgeneral-regs-only']},
};

/** A compiler that can build C for the kernel's architecture, and how to call it as kbuild would. */
export interface KernelCompiler {
  /** The command (`gcc`, `aarch64-linux-gnu-gcc`, `clang`). */
  command: string;
  family: 'gcc' | 'clang';
  /** What it says of itself (`gcc (Debian 12.2.0-14) 12.2.0`), for the record. */
  version: string;
  /** Everything but include paths and inputs. */
  flags: string[];
}

/**
 * The kernel's own compiler family (CONFIG_CC_IS_CLANG: Android's and ChromeOS's kernels), for the
 * kernel's architecture: the host's compiler when it is that architecture, else Debian's cross
 * compiler (`aarch64-linux-gnu-gcc`) or clang's --target. The version need not be the kernel's:
 * struct layout is the psABI's, which every version of a family keeps.
 */
export function kernelCompiler(arch: ArchNames, autoconfText: string, env = process.env): KernelCompiler {
  const autoconf = parseAutoconf(autoconfText);
  const target = architecture(arch.rpmArch);
  const archFlags = ARCH_FLAGS[target.rpm];
  if (!archFlags)
    throw new KhpkgError('unsupported-arch', `--btf headers: ${target.rpm} is not an architecture khpkg compiles headers for yet (x86_64, aarch64)`);
  const family = autoconf.has('CONFIG_CC_IS_CLANG') ? 'clang' : 'gcc';
  const native = hostArchitecture()?.rpm === target.rpm;
  const command = env.KHPKG_BTF_CC ?? (family === 'clang' ? 'clang' : native ? 'gcc' : `${target.gnu ?? target.rpm}-gcc`);
  const version = toolVersion(command);
  if (version === undefined) {
    const pkg = family === 'clang' ? 'clang' : native ? 'gcc' : `gcc-${target.gnu ?? target.rpm}`;
    throw new KhpkgError('header-btf', `${command} is not installed (the kernel was built with ${family}; Debian's package: ${pkg})`);
  }
  const base = [
    '-D__KERNEL__',
    // kbuild names every object's module; inline helpers (pr_debug, NL_SET_ERR_MSG_MOD) use it.
    '-DKBUILD_MODNAME="khpkg"',
    '-DKBUILD_BASENAME="khpkg"',
    '-std=gnu11',
    '-fno-strict-aliasing',
    '-fno-PIE',
    '-O2',
    '-g',
    // Declared-but-unused types are what a header holds: keep them in the DWARF pahole reads.
    '-fno-eliminate-unused-debug-types',
    '-w',
    ...ftraceFlags(target.rpm, autoconf),
    ...consumerCflags(autoconfText).filter((f) => !f.startsWith('-Wno-')),
  ];
  const flags =
    family === 'clang' ? [`--target=${target.gnu ?? target.rpm}`, ...archFlags.clang, ...base] : [...archFlags.gcc, ...base, '-fdiagnostics-plain-output'];
  return {command, family, version, flags};
}

/**
 * What kbuild's ftrace flags define (its -mfentry/-fpatchable-function-entry come with a macro
 * that the arch's asm/ftrace.h checks, `#error`ing without it). Only the macros: no code is run.
 */
function ftraceFlags(arch: string, autoconf: Map<string, string>): string[] {
  if (!autoconf.has('CONFIG_FUNCTION_TRACER')) return [];
  if (arch === 'x86_64') return ['-DCC_USING_FENTRY'];
  if (autoconf.has('CONFIG_DYNAMIC_FTRACE_WITH_ARGS') || autoconf.has('CONFIG_DYNAMIC_FTRACE_WITH_REGS')) return ['-DCC_USING_PATCHABLE_FUNCTION_ENTRY'];
  return [];
}

/** The first line of `<tool> --version`, or undefined when the tool is not there. */
export function toolVersion(command: string): string | undefined {
  try {
    return execFileSync(command, ['--version'], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 30_000})
      .split('\n')[0]!
      .trim();
  } catch {
    return undefined;
  }
}

/** gcc's own headers (stddef.h, stdarg.h for kernels before 5.15), which -nostdinc leaves out. */
export function compilerIncludeDir(cc: KernelCompiler): string | undefined {
  try {
    const dir = execFileSync(cc.command, ['-print-file-name=include'], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore']}).trim();
    return dir.startsWith('/') ? dir : undefined;
  } catch {
    return undefined;
  }
}
