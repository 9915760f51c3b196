import {availableParallelism} from 'node:os';
import {Transform} from 'node:stream';
import {constants, createGzip} from 'node:zlib';
import {KhpkgError} from '../errors.js';

export type Compression = 'xz' | 'zstd' | 'gzip' | 'none';
export const COMPRESSIONS: readonly Compression[] = ['xz', 'zstd', 'gzip', 'none'];

/** File name suffixes (`data.tar.xz`). */
export const SUFFIX: Record<Compression, string> = {xz: '.xz', zstd: '.zst', gzip: '.gz', none: ''};

/**
 * xz in blocks of 6 MiB with one thread per core keeps both cores of a small machine busy (xz's own
 * 24 MiB default leaves one idle on a 35 MB tree): on the 6.12 tree `xz -6 -T2` takes 8.6 s with
 * 24 MiB blocks, 6.3 s with 8 MiB and 5.9 s with 6 MiB, for 1.7% more bytes. liblzma's threaded
 * output depends on the block size only, never on the thread count, so builds stay byte-identical.
 */
export const XZ_BLOCK_SIZE = 6 * 1024 * 1024;

/**
 * A dictionary larger than a block is never used: each block starts afresh. Preset 6's 8 MiB costs
 * 93 MiB of encoder memory per thread; 4 MiB costs 47 MiB, compresses the 6.12 tree 0.1% larger
 * and faster (smaller match-finder tables), and needs half the memory to decompress.
 */
export const XZ_DICT_SIZE = 4 * 1024 * 1024;

/**
 * zstd's output depends on its job size and on whether workers are used (0 or not), never on how
 * many: both are constants, never the core count, so builds stay byte-identical on any machine.
 */
export const ZSTD_WORKERS = 1;
export const ZSTD_JOB_SIZE = 1024 * 1024;

interface LzmaConstants {
  CHECK_CRC64: number;
  FILTER_LZMA2: unknown;
  MODE_NORMAL: number;
  MF_BT4: number;
}

/** xz -6's LZMA2 settings (lzma_lzma_preset) with another dictionary size; lzma-native would let a preset override it. */
function xzPreset6(lzma: LzmaConstants, dictSize: number): object {
  return {dictSize, lc: 3, lp: 0, pb: 2, mode: lzma.MODE_NORMAL, niceLen: 64, mf: lzma.MF_BT4, depth: 0};
}

/**
 * xz threads for one of `sharing` compressors that run at once: the cores are split among them, as
 * each thread holds 47 MiB and threads beyond the cores add memory, not speed (deb+rpm in one call:
 * 4 threads 350 MB, 2 threads 285 MB and 2 s less CPU, same wall time on 2 cores).
 */
function xzThreads(sharing: number): number {
  return Math.max(1, Math.floor(availableParallelism() / sharing));
}

/**
 * How much input a compressor may queue before its writer waits. Alone, a 1 MiB batch in flight is
 * enough. Packages written at once are fed in step, and an xz with fewer threads than blocks in
 * hand stops taking input until a thread is free (a whole 6 MiB block, ~2 s): without a queue
 * longer than a block, the other package's compressor would starve meanwhile (measured: 24 s on
 * one core instead of 14 s on two).
 */
export function inputQueueBytes(kind: Compression, sharing: number): number {
  return kind === 'xz' && sharing > 1 ? XZ_BLOCK_SIZE + 2 * (1 << 20) : 1 << 20;
}

/**
 * A compressing transform; the same input always gives the same bytes. A chunk may be reused once
 * its write callback ran (each one copies or consumes its input by then). `sharing`: see xzThreads.
 */
export async function createCompressor(kind: Compression, sharing = 1): Promise<Transform> {
  switch (kind) {
    case 'none':
      // A copy, since writers reuse a chunk once written (a PassThrough would hand the chunk itself on).
      return new Transform({transform: (chunk: Buffer, _encoding, done) => done(null, Buffer.from(chunk))});
    case 'gzip':
      // zlib writes mtime 0 and no name in the gzip header: reproducible.
      return createGzip({level: constants.Z_BEST_COMPRESSION});
    case 'xz': {
      const lzma = (await import('lzma-native')).default;
      const lz = lzma as unknown as LzmaConstants;
      return lzma.createCompressor({
        threads: xzThreads(sharing),
        blockSize: XZ_BLOCK_SIZE,
        check: lz.CHECK_CRC64,
        filters: [{id: lz.FILTER_LZMA2, options: xzPreset6(lz, XZ_DICT_SIZE)}],
      } as object) as unknown as Transform;
    }
    case 'zstd': {
      const {CompressStream} = await import('zstd-napi');
      // Level 3 is dpkg-deb's default. One worker moves compression off the main thread, which then
      // reads and hashes the next entries meanwhile: 1.83 -> 1.66 s for a .deb of the 6.12 tree, and
      // 1 MiB jobs keep the worker's buffers to +7 MB of RSS (zstd's default jobs cost +35 MB).
      return new CompressStream({compressionLevel: 3, checksumFlag: true, nbWorkers: ZSTD_WORKERS, jobSize: ZSTD_JOB_SIZE}) as unknown as Transform;
    }
    default:
      throw new KhpkgError('usage', `unknown compression '${String(kind)}' (xz, zstd, gzip, none)`);
  }
}

/** Compresses a small buffer in one go (control archives, changelogs). */
export async function compressBuffer(kind: Compression, data: Buffer): Promise<Buffer> {
  const c = await createCompressor(kind);
  const chunks: Buffer[] = [];
  c.on('data', (d: Buffer) => chunks.push(d));
  const done = new Promise<void>((resolve, reject) => {
    c.on('end', resolve);
    c.on('error', reject);
  });
  c.end(data);
  await done;
  return Buffer.concat(chunks);
}
