import {Readable} from 'node:stream';
import {createGunzip, gunzipSync} from 'node:zlib';
import {KhpkgError} from '../errors.js';
import {filterThroughTool} from '../tool.js';
import {unlz4Legacy} from './lz4.js';
import {unlzop} from './lzo.js';

/**
 * Every compression khpkg reads, in one place: kheaders archives and packages (xz, gzip, zstd),
 * kernel sources (those and bzip2), kernel images (all of them, and the kernel's own lz4 and lzo).
 */
export type Method = 'gzip' | 'xz' | 'lzma' | 'zstd' | 'bzip2' | 'lz4' | 'lzo';

/** The method by its first bytes, never by a name. lzma (the old .lzma, `xz --format=lzma`) has no magic: its usual properties byte and dictionary. */
export function methodOf(b: Uint8Array): Method | undefined {
  const at = (sig: number[]): boolean => sig.every((x, i) => b[i] === x);
  if (at([0x1f, 0x8b])) return 'gzip';
  if (at([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) return 'xz';
  if (at([0x28, 0xb5, 0x2f, 0xfd])) return 'zstd';
  if (at([0x42, 0x5a, 0x68])) return 'bzip2';
  if (at([0x02, 0x21, 0x4c, 0x18])) return 'lz4';
  if (at([0x89, 0x4c, 0x5a, 0x4f, 0x00, 0x0d, 0x0a, 0x1a, 0x0a])) return 'lzo';
  if (at([0x5d, 0x00, 0x00])) return 'lzma';
  return undefined;
}

/**
 * A decompressing view of a stream; integrity errors surface as stream errors. gzip is zlib's,
 * xz and lzma liblzma's (lzma-native), zstd libzstd's (zstd-napi), bzip2 the machine's `bzip2`
 * (no maintained addon; Ubuntu's kernel sources are .tar.bz2). lz4 and lzo (kernel images only,
 * never streamed) are khpkg's own: see decompressBuffer.
 */
export async function decompressStream(source: Readable, method: Method, opts: {bufsize?: number} = {}): Promise<Readable> {
  switch (method) {
    case 'gzip':
      return pipeWithErrors(source, createGunzip());
    case 'xz':
    case 'lzma': {
      const lzma = (await import('lzma-native')).default;
      const decoder =
        method === 'xz' ? lzma.createDecompressor(opts.bufsize ? ({bufsize: opts.bufsize} as object) : undefined) : lzma.createStream('aloneDecoder');
      return pipeWithErrors(source, decoder);
    }
    case 'zstd': {
      const {DecompressStream} = await import('zstd-napi');
      return pipeWithErrors(source, new DecompressStream());
    }
    case 'bzip2':
      return filterThroughTool('bzip2', ['-dc'], source, 'bzip2-compressed input needs bzip2, which is not installed');
    case 'lz4':
    case 'lzo':
      throw new KhpkgError('internal', `${method} is read whole (decompressBuffer), never streamed`);
  }
}

/**
 * A whole buffer decompressed, never past `limit` bytes. lz4 is the legacy frame the kernel's
 * images use (`lz4 -l`), lzo the lzop file (`lzop -9`): both decoded by khpkg itself (codec/lz4.ts,
 * codec/lzo.ts), bound-checked at every step, since no maintained pure-JS decoder of the legacy
 * frame or of lzop exists and an addon would be one more thing to cross-compile.
 */
export async function decompressBuffer(data: Buffer, method: Method, limit: number, expected?: number): Promise<Buffer> {
  switch (method) {
    case 'gzip':
      return gunzipBounded(data, limit);
    case 'lz4':
      return unlz4Legacy(data, limit);
    case 'lzo':
      return unlzop(data, limit);
    case 'zstd':
      if (expected !== undefined && expected > 0 && expected <= limit) {
        const whole = await zstdInto(data, expected);
        if (whole) return whole;
      }
      return collect(await decompressStream(Readable.from(slices(data)), method), limit, method, expected);
    default:
      return collect(await decompressStream(Readable.from(slices(data)), method), limit, method, expected);
  }
}

/**
 * zstd straight into one buffer of the size the data says it has (libzstd's one-shot
 * ZSTD_decompressDCtx, which needs no window of its own when the whole frame is at hand, where a
 * stream keeps one as large as the kernel): a kernel image then costs its own size, once.
 * Undefined when the size was not the truth (the caller then reads it the general way).
 */
async function zstdInto(data: Buffer, expected: number): Promise<Buffer | undefined> {
  const {decompress} = (await import('zstd-napi/binding.js')).default;
  const whole = Buffer.allocUnsafe(expected);
  try {
    return decompress(whole, data) === expected ? whole : undefined;
  } catch {
    return undefined; // too small for it, or corrupt: the general path says which
  }
}

/** gzip at once, for the small ones read whole and synchronously (/proc/config.gz, a pacman .MTREE); never past `limit` bytes. */
export function gunzipBounded(data: Buffer, limit: number): Buffer {
  try {
    return gunzipSync(data, {maxOutputLength: limit});
  } catch (e) {
    throw new KhpkgError(
      'corrupt-input',
      `gzip data ${(e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' ? `decompresses past ${limit} bytes` : 'is corrupt'}`,
    );
  }
}

function* slices(bytes: Buffer, size = 1 << 20): Generator<Buffer> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

/**
 * The stream's bytes in one buffer. With the size the data says it has (a kernel image's trailer),
 * they are written straight into one buffer of that size: a 60-150 MB kernel is then held once,
 * not as chunks and again as their concatenation. A size that lies only costs that saving.
 */
async function collect(stream: Readable, limit: number, method: Method, expected?: number): Promise<Buffer> {
  let whole = expected !== undefined && expected > 0 && expected <= limit ? Buffer.allocUnsafe(expected) : undefined;
  const parts: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of stream) {
      const c = chunk as Buffer;
      if (total + c.length > limit) throw new KhpkgError('corrupt-input', `${method} data decompresses past ${limit} bytes`);
      if (whole && total + c.length > whole.length) {
        parts.push(whole.subarray(0, total));
        whole = undefined;
      }
      if (whole) c.copy(whole, total);
      else parts.push(c);
      total += c.length;
    }
  } catch (e) {
    stream.destroy();
    if (e instanceof KhpkgError) throw e;
    throw new KhpkgError('corrupt-input', `${method} data is corrupt (${(e as Error).message.split('\n')[0]})`);
  }
  return whole ? whole.subarray(0, total) : Buffer.concat(parts, total);
}

/** `a.pipe(b)` but an error of `a` reaches whoever reads `b`. */
function pipeWithErrors<T extends NodeJS.ReadWriteStream & Readable>(from: Readable, to: T): T {
  from.on('error', (e) => to.destroy(e));
  return from.pipe(to) as T;
}
