import {createHash, type Hash} from 'node:crypto';
import {once} from 'node:events';
import type {FileHandle} from 'node:fs/promises';
import {Writable, type Transform} from 'node:stream';
import {pipeline} from 'node:stream/promises';

/**
 * A compressed section of an output file: bytes written in go through the compressor and land at
 * `offset` onwards. Tracks the compressed size and, on request, its sha256 (rpm's payload digest).
 */
export class CompressedSection {
  private compressedBytes = 0;
  private readonly hash?: Hash;
  private failure: Error | undefined;
  private readonly done: Promise<void>;

  constructor(
    private readonly compressor: Transform,
    fh: FileHandle,
    offset: number,
    opts: {digest?: boolean} = {},
  ) {
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

  async write(data: Buffer): Promise<void> {
    if (this.failure) throw this.failure;
    if (!this.compressor.write(data)) await Promise.race([once(this.compressor, 'drain'), this.done]);
  }

  async end(): Promise<{size: number; sha256?: string}> {
    this.compressor.end();
    await this.done;
    return {size: this.compressedBytes, sha256: this.hash?.digest('hex')};
  }

  destroy(): void {
    this.compressor.destroy();
  }
}

/** Hashes part of an open file in 1 MiB reads, so finishing a package never loads it whole. */
export async function hashFileRange(fh: FileHandle, algorithm: string, start: number, length: number, prefix?: Buffer): Promise<Buffer> {
  const hash = createHash(algorithm);
  if (prefix) hash.update(prefix);
  const buf = Buffer.alloc(1 << 20);
  for (let at = start; at < start + length; ) {
    const {bytesRead} = await fh.read(buf, 0, Math.min(buf.length, start + length - at), at);
    if (bytesRead === 0) break;
    hash.update(buf.subarray(0, bytesRead));
    at += bytesRead;
  }
  return hash.digest();
}
