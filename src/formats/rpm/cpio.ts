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

/** One member read back from a newc archive. */
export interface CpioEntry {
  name: string;
  mode: number;
  mtime: number;
  data: Buffer;
}

/** Reads a whole newc archive (bounds-checked) up to its trailer. */
export function readCpio(buf: Buffer): CpioEntry[] {
  const out: CpioEntry[] = [];
  let at = 0;
  for (;;) {
    if (at + 110 > buf.length || buf.toString('latin1', at, at + 6) !== '070701') throw new RangeError(`bad cpio header at ${at}`);
    const field = (i: number): number => parseInt(buf.toString('latin1', at + 6 + 8 * i, at + 14 + 8 * i), 16);
    const [mode, mtime, size, namesize] = [field(1), field(5), field(6), field(11)];
    const nameEnd = at + 110 + namesize;
    if (nameEnd > buf.length) throw new RangeError('cpio name is cut short');
    const name = buf.toString('utf8', at + 110, nameEnd - 1);
    const dataAt = nameEnd + pad4(110 + namesize);
    if (name === 'TRAILER!!!') return out;
    if (dataAt + size > buf.length) throw new RangeError(`cpio member ${name} is cut short`);
    out.push({name, mode, mtime, data: buf.subarray(dataAt, dataAt + size)});
    at = dataAt + size + pad4(size);
  }
}
