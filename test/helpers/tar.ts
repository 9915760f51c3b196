/**
 * A raw tar writer for tests: unlike the product's writer it will write anything (absolute names,
 * `..`, devices, invalid UTF-8, GNU long names) so the rules can be shown to catch it.
 */
export interface RawMember {
  name: string | Buffer;
  /** tar typeflag: '0' file, '1' hard link, '2' symlink, '3' char dev, '5' dir, '6' fifo, 'L' GNU long name, 'x' pax. */
  type?: string;
  data?: Buffer | string;
  linkname?: string;
  mode?: number;
  mtime?: number;
  /** Declared size, when it should differ from the data's (huge sizes). */
  size?: number;
}

const ZERO = Buffer.alloc(512);

function octal(b: Buffer, off: number, len: number, v: number): void {
  b.write(v.toString(8).padStart(len - 1, '0') + '\0', off, len, 'latin1');
}

export function header(m: RawMember, gnu = true): Buffer {
  const b = Buffer.alloc(512);
  const name = Buffer.isBuffer(m.name) ? m.name : Buffer.from(m.name, 'utf8');
  name.copy(b, 0, 0, Math.min(100, name.length));
  const data = m.data === undefined ? Buffer.alloc(0) : Buffer.from(m.data);
  octal(b, 100, 8, m.mode ?? (m.type === '5' ? 0o755 : 0o644));
  octal(b, 108, 8, 0);
  octal(b, 116, 8, 0);
  octal(b, 124, 12, m.size ?? data.length);
  octal(b, 136, 12, m.mtime ?? 1794660961);
  b.write('        ', 148, 8, 'latin1');
  b.write(m.type ?? '0', 156, 1, 'latin1');
  if (m.linkname) b.write(m.linkname, 157, 100, 'utf8');
  if (gnu) b.write('ustar  \0', 257, 8, 'latin1');
  else b.write('ustar\x0000', 257, 8, 'latin1');
  let sum = 0;
  for (const x of b) sum += x;
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
  return b;
}

export function tarBytes(members: RawMember[]): Buffer {
  const parts: Buffer[] = [];
  for (const m of members) {
    const data = m.data === undefined ? Buffer.alloc(0) : Buffer.from(m.data);
    parts.push(header(m));
    if (data.length > 0) {
      parts.push(data);
      if (data.length % 512) parts.push(Buffer.alloc(512 - (data.length % 512)));
    }
  }
  parts.push(ZERO, ZERO);
  return Buffer.concat(parts);
}

/** A GNU long-name member pair ('L' record then the entry), for names over 100 bytes. */
export function longName(name: string, rest: Omit<RawMember, 'name'>): RawMember[] {
  const body = Buffer.from(name + '\0');
  return [
    {name: '././@LongLink', type: 'L', data: body},
    {...rest, name: name.slice(0, 100)},
  ];
}
