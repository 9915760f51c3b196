import {KhpkgError} from '../errors.js';
import {describeBtf, describeKbuild} from './kbuild.js';
import {buildPackages, type BuildOptions} from '../pipeline/build.js';
import {buildKernels, type KernelPhase, type KernelResult} from '../pipeline/fleet.js';
import {progressBar} from './progress.js';
import {archiveSource} from './source.js';
import {kernelGroupsFrom, type KernelGroup} from '../source/kernel-package.js';

/**
 * build's SOURCE(s) as one result per kernel: kernel packages through the pool (`--jobs`), anything
 * else (an archive, a module, the running kernel, `--kernel`) as the one set it is.
 */
export async function buildSources(
  specs: string[],
  flags: {kernel?: string; btf?: string; jobs?: number; json: boolean; quiet: boolean; root?: string},
  options: BuildOptions,
): Promise<{results: KernelResult[]; kernels?: KernelGroup[]}> {
  if (flags.kernel !== undefined && specs.length > 0) throw new KhpkgError('usage', 'give either SOURCE or --kernel, not both');
  const kernels = flags.kernel === undefined ? await kernelGroupsFrom(specs) : undefined;
  const shown = !flags.json && !flags.quiet;
  if (kernels) {
    if (options.config && kernels.length > 1) throw new KhpkgError('usage', "--config names one kernel's config: each kernel package carries its own");
    return {kernels, results: await buildKernels(kernels, {...options, jobs: flags.jobs, onKernel: kernelProgress(shown, kernels.length)})};
  }
  const source = await archiveSource(specs[0], flags, flags.root ?? '/', options.limits);
  const progress = progressBar(shown);
  const b = await buildPackages(source, {...options, onProgress: progress.onProgress}).finally(progress.done);
  const {release, artifacts: packages, kbuild, btf, notes} = b;
  return {results: [{release, ok: true, packages, sources: [source.origin], sha256: source.sha256, kbuild, btf, notes, seconds: 0}]};
}

/** One line per kernel as it moves on, on a terminal only (quiet when piped, with --json or --quiet). */
export function kernelProgress(
  enabled: boolean,
  total: number,
  stream: NodeJS.WriteStream = process.stderr,
): ((r: string, p: KernelPhase, d?: string) => void) | undefined {
  if (!enabled || !stream.isTTY) return undefined;
  let finished = 0;
  return (release, phase, detail) => {
    if (phase === 'queued') return;
    if (phase === 'done' || phase === 'failed') finished++;
    const count = phase === 'done' || phase === 'failed' ? ` [${finished}/${total}]` : '';
    stream.write(`${release}: ${phase}${count}${phase === 'failed' && detail ? `: ${detail}` : ''}\n`);
  };
}

/** What `build` says: each kernel's packages (named by release when there are several), or its one line on stderr. */
export function describeKernels(results: KernelResult[], verbose: boolean): {out: string[]; err: string[]} {
  const out: string[] = [];
  const err: string[] = [];
  const many = results.length > 1;
  const of = (r: KernelResult): string => (many ? `${r.release}: ` : '');
  for (const r of results) {
    if (!r.ok) {
      err.push(`khpkg: ${of(r)}${r.error.message}`);
      continue;
    }
    for (const a of r.packages) {
      out.push(a.path);
      if (verbose) out.push(`  ${a.name} ${a.version} ${a.arch}, ${a.size} bytes, sha256 ${a.sha256}`);
    }
    if (verbose && many) out.push(`  ${r.release}: from ${r.sources.join(' + ')} in ${r.seconds} s`);
    if (r.kbuild) out.push(`${of(r)}${describeKbuild(r.kbuild)}`);
    if (r.btf) out.push(`${of(r)}${describeBtf(r.btf)}`);
    for (const n of r.notes) out.push(`note: ${of(r)}${n}`);
  }
  const failed = results.filter((r) => !r.ok).length;
  if (many) out.push(`${results.length - failed} of ${results.length} kernels built${failed ? `; ${failed} failed` : ''}`);
  return {out, err};
}

/** A kernel's result as `build --json` gives it (`kernels`): the packages' paths, or the error. */
export function kernelJson(r: KernelResult): {
  release: string;
  ok: boolean;
  sources: string[];
  packages?: string[];
  /** Where the set's BTF came from (the kernel's image in its packages), and how many types. */
  btf?: {source: string; types: number};
  error?: {code: string; message: string};
  seconds: number;
} {
  return r.ok
    ? {
        release: r.release,
        ok: true,
        sources: r.sources,
        packages: r.packages.map((a) => a.path),
        btf: r.btf && {source: r.btf.source, types: r.btf.types},
        seconds: r.seconds,
      }
    : {release: r.release, ok: false, sources: r.sources, error: r.error, seconds: r.seconds};
}
