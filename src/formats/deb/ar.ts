/** The `ar` container of a .deb: a magic line, then members with 60-byte headers, 2-byte aligned. */
export const AR_MAGIC = Buffer.from('!<arch>\n', 'latin1');
export const AR_HEADER_SIZE = 60;

/** A member header. */
export function arHeader(name: string, size: number, mtime: number): Buffer {
  if (name.length > 16) throw new RangeError(`ar member name too long: ${name}`);
  if (String(size).length > 10) throw new RangeError(`ar member too large: ${size}`);
  const h = name.padEnd(16) + String(mtime).padEnd(12) + '0'.padEnd(6) + '0'.padEnd(6) + '100644'.padEnd(8) + String(size).padEnd(10) + '`\n';
  return Buffer.from(h, 'latin1');
}

/** A whole small member: header, body, and the newline that pads odd sizes. */
export function arMember(name: string, body: Buffer, mtime: number): Buffer {
  const parts = [arHeader(name, body.length, mtime), body];
  if (body.length % 2 === 1) parts.push(Buffer.from('\n'));
  return Buffer.concat(parts);
}

/** The members of an ar archive (a .deb), bounds-checked. */
export function readAr(buf: Buffer): Map<string, Buffer> {
  if (buf.toString('latin1', 0, 8) !== '!<arch>\n') throw new RangeError('not an ar archive');
  const members = new Map<string, Buffer>();
  let at = 8;
  while (at + AR_HEADER_SIZE <= buf.length) {
    const name = buf
      .toString('latin1', at, at + 16)
      .trim()
      .replace(/\/$/, '');
    const size = Number(buf.toString('latin1', at + 48, at + 58).trim());
    if (!Number.isSafeInteger(size) || size < 0 || at + AR_HEADER_SIZE + size > buf.length) throw new RangeError(`ar member ${name} is cut short`);
    members.set(name, buf.subarray(at + AR_HEADER_SIZE, at + AR_HEADER_SIZE + size));
    at += AR_HEADER_SIZE + size + (size % 2);
  }
  return members;
}
