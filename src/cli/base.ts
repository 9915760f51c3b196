import {existsSync} from 'node:fs';
import {Command, Errors, Flags, Interfaces} from '@oclif/core';
import {KhpkgError, printable} from '../errors.js';
import {reportError} from './errors.js';
import {resolveRoot} from '../root/paths.js';
import {registryExists} from '../registry/registry.js';
import {DEFAULT_LIMITS, parseSize, type Limits} from '../archive/limits.js';
import type {KbuildInputs} from '../kbuild/kit.js';

/**
 * What every khpkg command shares: --json/--quiet/--verbose/--debug, and the error contract:
 * `khpkg: <what>: <why>` on one line, exit 1 (2 for usage), a stack trace only with --debug.
 */
export abstract class KhpkgCommand extends Command {
  static override baseFlags = {
    json: Flags.boolean({description: 'print machine-readable JSON on stdout, nothing else'}),
    quiet: Flags.boolean({char: 'q', description: 'print nothing but errors'}),
    verbose: Flags.boolean({char: 'v', description: 'say more about what is done'}),
    debug: Flags.boolean({description: 'show stack traces of errors'}),
  };

  /** `khpkg <command> ARG [OPTIONAL]`: the command's usage, from its own args. */
  private usageLine(): string {
    const ctor = this.constructor as typeof KhpkgCommand;
    const args = Object.entries(ctor.args ?? {}).map(([name, a]) => (a.required ? name.toUpperCase() : `[${name.toUpperCase()}]`));
    return ['khpkg', (this.id ?? '').replace(/:/g, ' '), ...args, '[FLAGS]'].join(' ');
  }

  /** A read command's answer (cli/views.ts), printed as the fast path prints it. */
  protected show(view: {out: string; code: number}): void {
    process.stdout.write(view.out);
    if (view.code !== 0) this.exit(view.code);
  }

  /** The command's one JSON result (each command exports its type beside it). */
  protected printJson<T>(value: T): void {
    process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  override async catch(err: Error & {oclif?: {exit?: number}; parse?: unknown}): Promise<void> {
    const debug = this.argv.includes('--debug') || process.env.KHPKG_DEBUG === '1';
    // this.exit(n) throws ExitError: a deliberate exit code, not an error to report.
    if (err instanceof Errors.ExitError) throw err;
    // A flag's own parse (--root) failed: oclif wraps our one line in its own words; unwrap it.
    if (err instanceof KhpkgError) err.message = err.message.replace(/^Parsing --[\w-]+ \n\t([^]*)\nSee more help with --help$/, '$1');
    if (err.oclif || err.parse) {
      // oclif spreads what is wrong over lines (the missing arg's name on the next one): one line, with the usage.
      const what = err.message
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l !== '' && !/^See more help/.test(l))
        .join(' ');
      process.stderr.write(`khpkg: ${printable(`usage: ${what}. Usage: ${this.usageLine()} (see 'khpkg ${this.id?.replace(/:/g, ' ') ?? ''} --help')`)}\n`);
      this.exit(2);
    }
    this.exit(reportError(err, debug));
  }
}

/** Flags of every command that reads an archive. */
export const limitFlags = {
  'max-file-size': Flags.string({description: `largest file allowed in the archive (default ${DEFAULT_LIMITS.maxFileBytes / 2 ** 20}M)`}),
  'max-total-size': Flags.string({description: `largest total of file contents (default ${DEFAULT_LIMITS.maxTotalBytes / 2 ** 30}G)`}),
};

export function limitsFrom(flags: Interfaces.InferredFlags<typeof limitFlags>): Limits {
  const size = (name: string, text: string | undefined, dflt: number): number => {
    if (text === undefined) return dflt;
    const n = parseSize(text);
    if (n === undefined || n <= 0) throw new KhpkgError('usage', `--${name} '${text}' is not a size (like 64M or 2G)`);
    return n;
  };
  return {
    ...DEFAULT_LIMITS,
    maxFileBytes: size('max-file-size', flags['max-file-size'], DEFAULT_LIMITS.maxFileBytes),
    maxTotalBytes: size('max-total-size', flags['max-total-size'], DEFAULT_LIMITS.maxTotalBytes),
  };
}

export const sourceArg = {
  description:
    'a kheaders .tar.xz, a kheaders.ko (.ko.xz, .ko.zst), a distro kernel package (.deb, .rpm) or unpacked kernel directory, or - for stdin; default: the running kernel',
  required: false,
};

/** Every command that reads or changes installed headers: `--root`, resolved as it is parsed (see resolveRoot). */
export const rootFlags = {
  root: Flags.custom<string>({
    description: 'the file system root to work under',
    env: 'KHPKG_ROOT',
    parse: async (input) => resolveRoot(input),
    default: async () => '/',
  })(),
};

/**
 * `build` and `repo` only build or publish: they record what they made in a registry only where one
 * is wanted, so this `--root` has no default (see recordingRoot).
 */
export const recordRootFlags = {
  root: Flags.string({description: "record built packages in this root's registry (default: /, only if it has a registry already)", env: 'KHPKG_ROOT'}),
};

/**
 * The root whose registry records built packages: the one given (if it exists: a build may name a
 * root only for --kbuild's modules), else `/` if it has a registry already.
 */
export function recordingRoot(root: string | undefined): string | undefined {
  if (root !== undefined) return existsSync(root) ? resolveRoot(root) : undefined;
  return registryExists('/') ? '/' : undefined;
}

/** Commands that change a root wait this long for another khpkg to finish. */
export const waitFlag = {
  wait: Flags.integer({description: 'seconds to wait for another khpkg working on the same root', default: 60, min: 0}),
};

/** The module-build tier (`--kbuild`), for build and install. */
export const kbuildFlags = {
  kbuild: Flags.string({
    description:
      'make a module-build tree: kbuild from this kernel source (a dir or linux-*.tar.{xz,gz,zst,bz2} of the same major.minor); auto: the one the root has (see README); none: headers-only (the default, but with --kernel: auto where a source is found)',
  }),
  'symvers-from': Flags.string({
    description: 'rebuild Module.symvers from these installed modules (default with --kbuild: <root>/lib/modules/<release>, if there)',
    dependsOn: ['kbuild'],
  }),
  'system-map': Flags.string({
    description: 'System.map (or kallsyms) saying which vmlinux exports are GPL-only (default for the running kernel: /proc/kallsyms)',
    dependsOn: ['kbuild'],
  }),
};

export function kbuildFrom(flags: {kbuild?: string; 'symvers-from'?: string; 'system-map'?: string}, root: string): KbuildInputs | undefined {
  return flags.kbuild === undefined || flags.kbuild === 'none'
    ? undefined
    : {source: flags.kbuild, symversFrom: flags['symvers-from'], systemMap: flags['system-map'], root};
}
