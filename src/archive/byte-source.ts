import {createReadStream} from 'node:fs';
import {open, type FileHandle} from 'node:fs/promises';
import {Readable} from 'node:stream';
import {KhpkgError} from '../errors.js';

/**
 * A package file as the readers see it: small reads at an offset (an ar member header, an rpm
 * header) and a stream of a range (a payload). A 500 MB kernel package is never read whole; stdin,
 * which cannot be read twice, comes as bytes already held.
 */
export interface ByteSource {
  /** Shown in messages: the path, or `-`. */
  readonly name: string;
  readonly size: number;
  /** Exactly `length` bytes at `at`, or a `corrupt-input` error naming what was cut short. */
  read(at: number, length: number, what: string): Promise<Buffer>;
  /** The bytes from `at` up to `end` (exclusive), in chunks as they are read. */
  stream(at: number, end: number): Readable;
  close(): Promise<void>;
}

const CHUNK = 256 * 1024;

export async function fileSource(path: string): Promise<ByteSource> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new KhpkgError('not-found', `${path}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  const st = await fh.stat();
  if (st.isDirectory()) {
    await fh.close();
    throw new KhpkgError('bad-input', `${path}: is a directory`);
  }
  return {
    name: path,
    size: st.size,
    async read(at, length, what) {
      if (at < 0 || at + length > st.size) throw new KhpkgError('corrupt-input', `${path} is cut short (in ${what})`);
      const buf = Buffer.allocUnsafe(length);
      const {bytesRead} = await fh.read(buf, 0, length, at);
      if (bytesRead !== length) throw new KhpkgError('corrupt-input', `${path} is cut short (in ${what})`);
      return buf;
    },
    stream(at, end) {
      // Its own descriptor: a payload stream may outlive a read of the headers through `fh`.
      return createReadStream(path, {start: at, end: end - 1, highWaterMark: CHUNK});
    },
    close: () => fh.close(),
  };
}

export function bufferSource(bytes: Buffer, name: string): ByteSource {
  return {
    name,
    size: bytes.length,
    async read(at, length, what) {
      if (at < 0 || at + length > bytes.length) throw new KhpkgError('corrupt-input', `${name} is cut short (in ${what})`);
      return bytes.subarray(at, at + length);
    },
    stream(at, end) {
      return Readable.from(
        (function* () {
          for (let i = at; i < end; i += CHUNK) yield bytes.subarray(i, Math.min(end, i + CHUNK));
        })(),
        {objectMode: false},
      );
    },
    close: async () => undefined,
  };
}
