import {ByteQueue} from '../../archive/byte-queue.js';
import {KhpkgError} from '../../errors.js';

/** The SVR4 `newc` cpio format rpm payloads use: 110-byte ASCII headers, names and data 4-aligned. */
export interface CpioMember {
  /** `./usr/...`: rpm payloads name files with a `./` prefix (rpmlib(PayloadFilesHavePrefix)). */
  name: string;
  ino: number;
  /** Full st_mode: type bits | permissions. */
  mode: number;
  mtime: number;
  size: number;
  nlink: number;
}

const hex = (n: number): string => (n >>> 0).toString(16).padStart(8, '0');

export function cpioHeader(m: CpioMember): Buffer {
  const name = Buffer.from(`${m.name}\0`);
  const fields = [m.ino, m.mode, 0, 0, m.nlink, m.mtime, m.size, 0, 0, 0, 0, name.length, 0];
  const head = Buffer.from(`070701${fields.map(hex).join('')}`, 'latin1');
  return Buffer.concat([head, name, Buffer.alloc(pad4(head.length + name.length))]);
}

/** Bytes that bring `n` up to a multiple of 4. */
export function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

export function cpioPadding(size: number): Buffer {
  return Buffer.alloc(pad4(size));
}

export const CPIO_TRAILER = cpioHeader({name: 'TRAILER!!!', ino: 0, mode: 0, mtime: 0, size: 0, nlink: 1});

/** One member of a newc archive as the stream passes it: its content is read only if asked for. */
export interface CpioItem {
  name: string;
  /** Full st_mode: type bits | permissions. */
  mode: number;
  mtime: number;
  size: number;
  body(): Promise<Buffer>;
}

const MAX_NAME = 64 * 1024;

/** Reads a newc archive as it streams by, up to its trailer; a member's content is skipped unless taken. */
export async function* readCpio(input: AsyncIterable<Buffer>): AsyncGenerator<CpioItem> {
  const q = new ByteQueue(input[Symbol.asyncIterator](), 'cpio');
  for (;;) {
    const head = await q.read(110, 'a header');
    if (head.toString('latin1', 0, 6) !== '070701') throw new KhpkgError('corrupt-input', 'cpio data is corrupt (a header without the newc magic)');
    const field = (i: number): number => {
      const text = head.toString('latin1', 6 + 8 * i, 14 + 8 * i);
      if (!/^[0-9a-fA-F]{8}$/.test(text)) throw new KhpkgError('corrupt-input', 'cpio data is corrupt (a header field is not hex)');
      return parseInt(text, 16);
    };
    const [mode, mtime, size, namesize] = [field(1), field(5), field(6), field(11)];
    if (namesize < 1 || namesize > MAX_NAME) throw new KhpkgError('corrupt-input', `cpio data is corrupt (a name of ${namesize} bytes)`);
    const nameBytes = await q.read(namesize + pad4(110 + namesize), 'a name');
    const name = nameBytes.toString('utf8', 0, namesize - 1);
    if (name === 'TRAILER!!!') {
      await q.drain(1 << 20);
      return;
    }
    const padded = size + pad4(size);
    let consumed = false;
    yield {
      name,
      mode,
      mtime,
      size,
      body: async () => {
        consumed = true;
        return (await q.read(padded, `'${name}'`)).subarray(0, size);
      },
    };
    if (!consumed) await q.skip(padded);
  }
}
