import {KhpkgError} from '../errors.js';

/**
 * Bytes from a stream of chunks, taken as a reader asks for them: the tar and cpio readers share
 * it, so both read a payload as it is decompressed and keep only what one header or member spans.
 */
export class ByteQueue {
  private chunks: Buffer[] = [];
  private length = 0;
  private done = false;
  /** `kind` names the data in errors: `tar`, `cpio`. */
  constructor(
    private readonly source: AsyncIterator<Buffer>,
    private readonly kind = 'tar',
  ) {}

  /** True if `n` bytes are there; false if the input ended first. */
  async fill(n: number): Promise<boolean> {
    while (this.length < n && !this.done) {
      const r = await this.source.next();
      if (r.done) this.done = true;
      else {
        this.chunks.push(r.value);
        this.length += r.value.length;
      }
    }
    return this.length >= n;
  }

  take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const first = this.chunks[0]!;
    this.length -= n;
    if (first.length >= n) {
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    // Copy only the chunks this read spans, not everything buffered.
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const c = this.chunks[0]!;
      const step = Math.min(c.length, n - at);
      c.copy(out, at, 0, step);
      at += step;
      if (step === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(step);
    }
    return out;
  }

  async read(n: number, what: string): Promise<Buffer> {
    if (!(await this.fill(n))) throw new KhpkgError('corrupt-input', `${this.kind} data is cut short (in ${what})`);
    return this.take(n);
  }

  /** Reads to the end of the input, which may hold at most `max` more bytes. */
  async drain(max: number): Promise<void> {
    let seen = this.length;
    this.chunks = [];
    this.length = 0;
    while (!this.done) {
      const r = await this.source.next();
      if (r.done) this.done = true;
      else seen += r.value.length;
      if (seen > max) throw new KhpkgError('invalid-archive', `more than ${max} bytes follow the end of the ${this.kind} archive`);
    }
  }

  async skip(n: number): Promise<void> {
    while (n > 0) {
      if (!(await this.fill(Math.min(n, 1 << 16)))) throw new KhpkgError('corrupt-input', `${this.kind} data is cut short`);
      const step = Math.min(n, this.length);
      this.take(step);
      n -= step;
    }
  }
}
