import {closeSync, openSync, readSync, unlinkSync, writeSync} from 'node:fs';
import {randomBytes} from 'node:crypto';
import {tmpdir} from 'node:os';
import {join} from 'node:path';

const READ_CHUNK = 1 << 20;

/**
 * A temp file of decompressed bytes: the tar a scan keeps for a second read (--kbuild builds its
 * kit from the whole tree first; reading it back costs ~20 ms where decompressing the xz again
 * costs ~300 ms), and the content of entries a build reads before it knows the release
 * (HeldEntries). Unlinked at once (no name anyone can open or that outlives the process), and not
 * memory, so RSS stays flat however large the archive. Best effort: if the temp dir cannot take
 * it, callers do without (decompress again, or hold in memory).
 */
export class TarSpool {
  private size = 0;
  private failed = false;

  private constructor(private fd: number | undefined) {}

  /** An empty spool, or undefined when no temp file can be made. */
  static create(dir = tmpdir()): TarSpool | undefined {
    const path = join(dir, `.khpkg-tar-${process.pid}-${randomBytes(6).toString('hex')}`);
    try {
      const fd = openSync(path, 'wx+', 0o600);
      unlinkSync(path);
      return new TarSpool(fd);
    } catch {
      return undefined;
    }
  }

  /** Appends; a failed write (a full temp dir) turns the spool off rather than failing the read. */
  write(chunk: Buffer): void {
    if (this.fd === undefined || this.failed) return;
    try {
      for (let at = 0; at < chunk.length;) at += writeSync(this.fd, chunk, at, chunk.length - at, this.size + at);
      this.size += chunk.length;
    } catch {
      this.failed = true;
    }
  }

  /** True if it holds the whole tar (call after the writer saw the end). */
  get usable(): boolean {
    return this.fd !== undefined && !this.failed;
  }

  /** The tar again, in fresh 1 MiB buffers (readers keep slices of them). */
  async *chunks(): AsyncGenerator<Buffer> {
    for (let at = 0; at < this.size;) {
      if (this.fd === undefined) throw new Error('the tar spool was closed while being read');
      const buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, this.size - at));
      const n = readSync(this.fd, buf, 0, buf.length, at);
      if (n === 0) throw new Error('the tar spool ended early');
      at += n;
      yield n === buf.length ? buf : buf.subarray(0, n);
    }
  }

  /** Bytes written so far (each earlier write stays readable even after a later one failed). */
  get length(): number {
    return this.size;
  }

  /** `length` bytes from `at`, as written. */
  readAt(at: number, length: number): Buffer {
    if (this.fd === undefined) throw new Error('the spool was closed while being read');
    const buf = Buffer.allocUnsafe(length);
    for (let done = 0; done < length;) {
      const n = readSync(this.fd, buf, done, length - done, at + done);
      if (n === 0) throw new Error('the spool ended early');
      done += n;
    }
    return buf;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
