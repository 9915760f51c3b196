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
