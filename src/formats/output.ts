import {createHash, randomBytes, type Hash} from 'node:crypto';
import {rmSync} from 'node:fs';
import {open, rename, rm, unlink, type FileHandle} from 'node:fs/promises';
import {onInterrupt} from '../interrupt.js';
import {join} from 'node:path';
import {Writable, type Transform} from 'node:stream';
import {pipeline} from 'node:stream/promises';
import {createCompressor, inputQueueBytes, type Compression} from './compression.js';

const BATCH = 1 << 20;

/**
 * A compressed section of an output file: bytes written in go through the compressor and land at
 * `offset` onwards. Tracks the compressed size and, on request, its sha256 (rpm's payload digest).
 */
export class CompressedSection {
  private compressedBytes = 0;
  private readonly hash?: Hash;
  private failure: Error | undefined;
  private readonly done: Promise<void>;
  /** The batch being filled, and batches the compressor has taken, for reuse. */
  private batch?: Buffer;
  private batchBytes = 0;
  private readonly spare: Buffer[] = [];
  /** Input handed to the compressor and not yet taken, and the most there may be (inputQueueBytes). */
  private queued = 0;
  private readonly maxQueued: number;
  private wake?: () => void;

  constructor(
    private readonly compressor: Transform,
    fh: FileHandle,
    offset: number,
    opts: {digest?: boolean; maxQueued?: number} = {},
  ) {
    this.maxQueued = opts.maxQueued ?? BATCH;
    if (opts.digest) this.hash = createHash('sha256');
    let position = offset;
    const sink = new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        this.hash?.update(chunk);
        this.compressedBytes += chunk.length;
        const at = position;
        position += chunk.length;
        fh.write(chunk, 0, chunk.length, at).then(() => cb(), cb);
      },
    });
    this.done = pipeline(compressor, sink);
    this.done.catch((e: Error) => (this.failure = e));
  }

  /**
   * Writes (tar headers, padding, content) are copied into 1 MiB batches: each call into the
   * compressor has a fixed cost, and a 6.12 tree is 21,000 of them otherwise. Batches are reused
   * once the compressor has taken them: new ones, held while queued, outlived V8's young
   * generation and waited for a full GC (+30 MB of RSS).
   */
  async write(data: Buffer): Promise<void> {
    if (this.failure) throw this.failure;
    for (let at = 0; at < data.length;) {
      this.batch ??= this.spare.pop() ?? Buffer.allocUnsafeSlow(BATCH);
      const n = data.copy(this.batch, this.batchBytes, at);
      this.batchBytes += n;
      at += n;
      if (this.batchBytes === BATCH) await this.flush();
    }
  }

  private async flush(): Promise<void> {
    const batch = this.batch;
    const bytes = this.batchBytes;
    if (!batch || bytes === 0) return;
    this.batch = undefined;
    this.batchBytes = 0;
    this.queued += bytes;
    this.compressor.write(batch.subarray(0, bytes), () => {
      this.queued -= bytes;
      this.spare.push(batch);
      this.wake?.();
    });
    while (this.queued > this.maxQueued) await Promise.race([new Promise<void>((resolve) => (this.wake = resolve)), this.done]);
    if (this.failure) throw this.failure;
  }

  async end(): Promise<{size: number; sha256?: string}> {
    await this.flush();
    this.compressor.end();
    await this.done;
    return {size: this.compressedBytes, sha256: this.hash?.digest('hex')};
  }

  destroy(): void {
    this.compressor.destroy();
  }
}

/**
 * A compressed section whose place in the package is known only at the end: the deb's data member
 * follows its control member, and the rpm's payload its header, and both of those list every
 * entry's digest. So the section is compressed into a temp file beside the package, unlinked at
 * once (nothing is left behind, whatever happens), and copied in behind them at the end (a few MB).
 */
export class DeferredSection {
  private constructor(
    private readonly fh: FileHandle,
    private readonly section: CompressedSection,
  ) {}

  /**
   * The temp file in `dir`, and a `kind` compressor for one of `sharing` packages written at once.
   * The compressor (threads, for xz) is made only once the file is there, so a failure leaks none.
   */
  static async open(dir: string, kind: Compression, sharing: number, opts: {digest?: boolean} = {}): Promise<DeferredSection> {
    const path = join(dir, `.khpkg-${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
    const fh = await open(path, 'wx+', 0o600);
    try {
      await unlink(path).catch(() => undefined);
      const compressor = await createCompressor(kind, sharing);
      return new DeferredSection(fh, new CompressedSection(compressor, fh, 0, {...opts, maxQueued: inputQueueBytes(kind, sharing)}));
    } catch (e) {
      await fh.close().catch(() => undefined);
      throw e;
    }
  }

  write(data: Buffer): Promise<void> {
    return this.section.write(data);
  }

  end(): Promise<{size: number; sha256?: string}> {
    return this.section.end();
  }

  /** Copies the first `size` compressed bytes to `out` at `offset`, feeding every chunk to `hashes`. */
  async copyTo(out: FileHandle, offset: number, size: number, hashes: Hash[] = []): Promise<void> {
    const buf = Buffer.allocUnsafe(BATCH);
    for (let at = 0; at < size;) {
      const {bytesRead} = await this.fh.read(buf, 0, Math.min(BATCH, size - at), at);
      if (bytesRead === 0) throw new Error('the package temp file ended early');
      const chunk = buf.subarray(0, bytesRead);
      for (const h of hashes) h.update(chunk);
      await out.write(chunk, 0, bytesRead, offset + at);
      at += bytesRead;
    }
  }

  /** `length` bytes of the (ended) section from `at`: a format that lays its payload out itself reads it back piece by piece. */
  async read(at: number, length: number): Promise<Buffer> {
    const out = Buffer.allocUnsafe(length);
    for (let got = 0; got < length;) {
      const {bytesRead} = await this.fh.read(out, got, length - got, at + got);
      if (bytesRead === 0) throw new Error('the package temp file ended early');
      got += bytesRead;
    }
    return out;
  }

  async close(): Promise<void> {
    this.section.destroy();
    await this.fh.close().catch(() => undefined);
  }
}

/** Hashes part of an open file in 1 MiB reads, so finishing a package never loads it whole. */
export async function hashFileRange(fh: FileHandle, algorithm: string, start: number, length: number, prefix?: Buffer): Promise<Buffer> {
  const hash = createHash(algorithm);
  if (prefix) hash.update(prefix);
  const buf = Buffer.alloc(1 << 20);
  for (let at = start; at < start + length;) {
    const {bytesRead} = await fh.read(buf, 0, Math.min(buf.length, start + length - at), at);
    if (bytesRead === 0) break;
    hash.update(buf.subarray(0, bytesRead));
    at += bytesRead;
  }
  return hash.digest();
}

/**
 * Writes a package file under a hidden temp name beside it and renames it into place once complete
 * and synced, so a package file is never seen half-written. `write` returns the file's size.
 */
export async function writePackageFile(path: string, write: (fh: FileHandle) => Promise<number>): Promise<number> {
  const tmp = `${path}.partial-${process.pid}`;
  const fh = await open(tmp, 'w+', 0o644);
  const forget = onInterrupt(() => rmSync(tmp, {force: true}));
  try {
    const size = await write(fh);
    await fh.sync();
    await fh.close();
    await rename(tmp, path);
    return size;
  } catch (e) {
    await fh.close().catch(() => undefined);
    await rm(tmp, {force: true});
    throw e;
  } finally {
    forget();
  }
}
