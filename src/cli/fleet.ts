import {KhpkgError} from '../errors.js';
import {describeBtf, describeKbuild} from './kbuild.js';
import type {KernelPhase, KernelResult} from '../pipeline/fleet.js';
import {groupByKernel, identifyKernelPackage, type KernelGroup, type KernelPackage} from '../source/kernel-package.js';

/**
 * SOURCE... as kernels: undefined when it is one SOURCE of another kind (an archive, a module,
 * a package khpkg built), which `build` reads as before. Several SOURCEs must all be kernel
 * packages or unpacked kernels; a package of several kernels gives several.
 */
export async function kernelGroupsFrom(specs: string[]): Promise<KernelGroup[] | undefined> {
  if (specs.length === 0 || (specs.length === 1 && specs[0] === '-')) return undefined;
  const packages: KernelPackage[] = [];
  for (const spec of specs) {
    const p = spec === '-' ? undefined : await identifyKernelPackage(spec);
    if (!p) {
      if (specs.length === 1) return undefined;
      throw new KhpkgError('usage', `${spec}: not a kernel package or an unpacked kernel; several SOURCEs must all be (give archives one at a time)`);
    }
    packages.push(p);
  }
  return groupByKernel(packages);
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
  error?: {code: string; message: string};
  seconds: number;
} {
  return r.ok
    ? {release: r.release, ok: true, sources: r.sources, packages: r.packages.map((a) => a.path), seconds: r.seconds}
    : {release: r.release, ok: false, sources: r.sources, error: r.error, seconds: r.seconds};
}
