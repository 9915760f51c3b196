import {availableParallelism} from 'node:os';
import {KhpkgError, type ErrorCode} from '../errors.js';
import {decompressedModule, SymversCollector} from '../kbuild/symvers.js';
import type {KbuildKit} from '../kbuild/kit.js';
import type {Artifact} from '../formats/writer.js';
import {kernelPartsSource} from '../source/index.js';
import {readKernelParts, type KernelGroup} from '../source/kernel-package.js';
import type {BtfRecord} from '../source/btf.js';
import {buildPackages, type BuildOptions} from './build.js';

/** What became of one kernel of a fleet build: its packages, or the one line on why there are none. */
export type KernelResult =
  | {release: string; ok: true; packages: Artifact[]; sources: string[]; sha256: string; kbuild?: KbuildKit; btf?: BtfRecord; notes: string[]; seconds: number}
  | {release: string; ok: false; sources: string[]; error: {code: ErrorCode; message: string}; seconds: number};

export type KernelPhase = 'queued' | 'reading' | 'building' | 'done' | 'failed';

export interface FleetOptions extends Omit<BuildOptions, 'onProgress'> {
  /** Kernels built at once (default: the cores). Each holds its archive, image and config while it builds. */
  jobs?: number;
  onKernel?: (release: string, phase: KernelPhase, detail?: string) => void;
}

export function defaultJobs(): number {
  return Math.max(1, availableParallelism());
}

/**
 * Builds every kernel's header packages from its distro packages, `jobs` at a time. Each kernel is
 * all or nothing (buildPackages removes what it began); a kernel that fails is one result with its
 * reason and the others go on. Results come back in release order, whatever order they finished in.
 */
export async function buildKernels(groups: KernelGroup[], opts: FleetOptions): Promise<KernelResult[]> {
  const jobs = Math.max(1, Math.min(opts.jobs ?? defaultJobs(), groups.length));
  const results: KernelResult[] = new Array(groups.length);
  let next = 0;
  for (const g of groups) opts.onKernel?.(g.release, 'queued');
  const worker = async (): Promise<void> => {
    while (next < groups.length) {
      const i = next++;
      results[i] = await buildKernel(groups[i]!, opts);
    }
  };
  await Promise.all(Array.from({length: jobs}, worker));
  return results;
}

async function buildKernel(group: KernelGroup, opts: FleetOptions): Promise<KernelResult> {
  const started = Date.now();
  const sources = group.packages.map((p) => p.path);
  const seconds = (): number => Math.round((Date.now() - started) / 100) / 10;
  try {
    opts.onKernel?.(group.release, 'reading');
    // Module.symvers is gathered as the modules stream by, only when a module-build tree is asked for.
    const symvers = opts.kbuild ? new SymversCollector() : undefined;
    const parts = await readKernelParts(group, opts.limits, symvers && (async (file, raw) => symvers.add(file, await decompressedModule(file, raw))));
    const source = await kernelPartsSource(parts, group);
    opts.onKernel?.(group.release, 'building');
    const kbuild =
      opts.kbuild && symvers && symvers.modules > 0
        ? {...opts.kbuild, symvers: {from: sources.join(' + '), result: symvers.result(parts.systemMap, true)}}
        : opts.kbuild;
    const built = await buildPackages(source, {...opts, kbuild});
    opts.onKernel?.(group.release, 'done', built.artifacts.map((a) => a.path).join(' '));
    return {
      release: group.release,
      ok: true,
      packages: built.artifacts,
      sources,
      sha256: source.sha256,
      kbuild: built.kbuild,
      btf: built.btf,
      notes: built.notes,
      seconds: seconds(),
    };
  } catch (e) {
    if (!(e instanceof KhpkgError)) throw e;
    opts.onKernel?.(group.release, 'failed', e.message);
    return {release: group.release, ok: false, sources, error: {code: e.code, message: e.message}, seconds: seconds()};
  }
}
