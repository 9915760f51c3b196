import {createHash} from 'node:crypto';
import {rmSync} from 'node:fs';
import {mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {INFO_FILES} from '../archive/info.js';
import type {Limits} from '../archive/limits.js';
import type {ArchiveInput} from '../archive/reader.js';
import type {ArchiveScan, Progress} from '../archive/scan.js';
import {feedPlans} from '../content/feed.js';
import {headersPlan, treeDirFor} from '../content/headers.js';
import {TreeSink} from '../content/tree-writer.js';
import {KhpkgError} from '../errors.js';
import {onInterrupt} from '../interrupt.js';
import type {KernelBtf} from './btf.js';
import {parseBtf} from '../btf/btf.js';
import {makeHeaderBtf, type HeaderBtfProgress} from '../btf/headers/make.js';

/** What the registry and `info` call BTF made from a set's own headers. */
export const HEADERS_ORIGIN = 'headers';

/**
 * What BTF made from headers can and cannot do, as `info` and the README say it: it is the layout of
 * the types the headers declare, which is what CO-RE relocations need, and nothing of the kernel's
 * own functions or of what .c files keep to themselves.
 */
export const HEADER_BTF_LIMITS =
  "made from the headers: CO-RE relocations of kprobe, tracepoint and raw_tp programs work; fentry/fexit, LSM, struct_ops and kfuncs need the kernel's own BTF; types private to .c files are missing";

/**
 * `--btf headers`, or BTF wanted where the kernel has none (khpkg.conf's `btf-from-headers`): the
 * set's headers compiled into BTF (makeHeaderBtf), in `tree` when the caller has them on disk
 * (the installer's stage), else in a temp dir the archive is written into. A missing compiler or
 * pahole, or headers nothing compiles from, cost only the BTF: a note says what, and the set is made
 * without. A kernel whose layout no compile can know (RANDSTRUCT) is refused when BTF from headers
 * was asked for, and only said otherwise.
 */
export async function headerMadeBtf(
  scan: ArchiveScan,
  archive: ArchiveInput,
  limits: Limits,
  opts: {asked: boolean; tree?: string; onProgress?: HeaderBtfProgress},
): Promise<{btf?: KernelBtf; note?: string}> {
  const autoconf = scan.captured.get(INFO_FILES.autoconf)?.toString('utf8') ?? '';
  let work: string | undefined;
  let forget = (): void => {};
  try {
    let tree = opts.tree;
    if (tree === undefined) {
      work = await mkdtemp(join(tmpdir(), 'khpkg-headers-'));
      const dir = work;
      forget = onInterrupt(() => rmSync(dir, {recursive: true, force: true}));
      tree = join(work, 'tree');
      const plan = headersPlan(scan, 'debian', undefined, {timestamp: 0}).build();
      await feedPlans([{plan, sink: new TreeSink(treeDirFor('debian', scan.info.release), tree)}], archive, limits);
    }
    const made = await makeHeaderBtf(tree, scan.info, autoconf, opts.onProgress);
    const btf = parseBtf(made.blob);
    return {
      btf: {
        origin: HEADERS_ORIGIN,
        from: `${made.headers} of ${made.tried} headers, by ${made.compiler} and ${made.pahole}`,
        release: scan.info.release,
        btf,
        blob: made.blob,
        sha256: createHash('sha256').update(made.blob).digest('hex'),
        types: btf.count - 1,
        given: opts.asked,
      },
    };
  } catch (e) {
    if (!(e instanceof KhpkgError) || !(e.code === 'header-btf' || (e.code === 'bad-input' && !opts.asked) || e.code === 'unsupported-arch')) throw e;
    return {note: `${e.message.replace(/^--btf headers: /, '')}: the set is made without BTF`};
  } finally {
    forget();
    if (work) await rm(work, {recursive: true, force: true});
  }
}

/** The compile reports as the archive's read does: headers done of all. */
export function headerProgress(onProgress: Progress | undefined): HeaderBtfProgress | undefined {
  return onProgress && ((phase, done, total) => onProgress({phase, done, total}));
}
