import {crc32} from 'node:zlib';
import {KhpkgError} from '../errors.js';
import {copyMatch} from './lz4.js';

const LZOP_MAGIC = Buffer.from([0x89, 0x4c, 0x5a, 0x4f, 0x00, 0x0d, 0x0a, 0x1a, 0x0a]);
/** lzop's header flags that add fields (lzop's own conf.h names). */
const F = {ADLER32_D: 0x1, ADLER32_C: 0x2, EXTRA_FIELD: 0x40, CRC32_D: 0x100, CRC32_C: 0x200, H_FILTER: 0x800} as const;
/** lzop writes blocks of at most 256 KiB; the reference decoder accepts up to 64 MiB. */
const MAX_BLOCK = 64 << 20;

/**
 * Decompresses an lzop file (kbuild's `cmd_lzo` is `lzop -9`): its header (magic, versions, method,
 * flags, mode, times, name, checksum), then blocks, each its uncompressed and compressed sizes, the
 * checksums the flags ask for (checked), and LZO1X data, or the bytes stored as they are when both
 * sizes are equal. A zero uncompressed size ends the file.
 */
export function unlzop(input: Uint8Array, limit: number): Buffer {
  const b = Buffer.from(input.buffer, input.byteOffset, input.length);
  if (b.length < LZOP_MAGIC.length || !b.subarray(0, LZOP_MAGIC.length).equals(LZOP_MAGIC)) throw corrupt('no lzop magic');
  let at = LZOP_MAGIC.length;
  const need = (n: number): void => {
    if (at + n > b.length) throw corrupt('the file ends inside its header or a block');
  };
  need(4);
  const version = b.readUInt16BE(at);
  at += 4; // version, library version
  if (version >= 0x0940) (need(2), (at += 2)); // version needed to extract
  need(1);
  const method = b[at++]!;
  if (method < 1 || method > 3) throw corrupt(`method ${method} is not LZO1X`);
  if (version >= 0x0940) (need(1), at++); // level
  need(4);
  const flags = b.readUInt32BE(at);
  at += 4;
  if (flags & F.H_FILTER) (need(4), (at += 4));
  need(8);
  at += 8; // mode, mtime low
  if (version >= 0x0940) (need(4), (at += 4)); // mtime high
  need(1);
  at += 1 + b[at]!; // file name
  need(4);
  at += 4; // header checksum
  if (flags & F.EXTRA_FIELD) {
    need(4);
    const extra = b.readUInt32BE(at);
    need(4 + extra + 4);
    at += 4 + extra + 4;
  }
  const parts: Buffer[] = [];
  let total = 0;
  for (;;) {
    need(4);
    const dstLen = b.readUInt32BE(at);
    at += 4;
    if (dstLen === 0) break;
    need(4);
    const srcLen = b.readUInt32BE(at);
    at += 4;
    if (dstLen > MAX_BLOCK || srcLen === 0 || srcLen > dstLen) throw corrupt(`a block of ${srcLen} bytes for ${dstLen}`);
    const sums: {of: 'out' | 'in'; kind: 'adler32' | 'crc32'; value: number}[] = [];
    const sum = (of: 'out' | 'in', kind: 'adler32' | 'crc32'): void => {
      need(4);
      sums.push({of, kind, value: b.readUInt32BE(at)});
      at += 4;
    };
    if (flags & F.ADLER32_D) sum('out', 'adler32');
    if (flags & F.CRC32_D) sum('out', 'crc32');
    if (srcLen < dstLen && flags & F.ADLER32_C) sum('in', 'adler32');
    if (srcLen < dstLen && flags & F.CRC32_C) sum('in', 'crc32');
    need(srcLen);
    total += dstLen;
    if (total > limit) throw corrupt(`more than ${limit} bytes decompressed`);
    const src = b.subarray(at, at + srcLen);
    const out = srcLen === dstLen ? Buffer.from(src) : Buffer.allocUnsafe(dstLen);
    if (srcLen < dstLen) {
      const n = lzo1xBlock(src, out);
      if (n !== dstLen) throw corrupt(`a block gave ${n} bytes, not ${dstLen}`);
    }
    // The checksums lzop wrote (by default adler32 of what comes out): a flipped bit never gives a wrong kernel quietly.
    for (const c of sums) {
      const data = c.of === 'out' ? out : src;
      if ((c.kind === 'adler32' ? adler32(data) : crc32(data)) !== c.value)
        throw corrupt(`the ${c.kind} of a block's ${c.of === 'out' ? 'output' : 'input'} differs`);
    }
    parts.push(out);
    at += srcLen;
  }
  return Buffer.concat(parts, total);
}

/**
 * One LZO1X block, as the kernel's Documentation/staging/lzo.rst describes the stream: instructions
 * whose top bits say a literal run or a copy from the output so far (M1-M4, by distance range), each
 * followed by 0-3 literals taken from its last operand byte's low two bits. A first byte above 17 is
 * a literal run; an M4 copy of distance 16384 ends the stream, which must then be used up exactly.
 * Returns the bytes written into `out`, which bounds the output.
 */
export function lzo1xBlock(src: Uint8Array, out: Uint8Array): number {
  let ip = 0;
  let op = 0;
  const end = src.length;
  const byte = (): number => {
    if (ip >= end) throw corrupt('a block ends inside an instruction');
    return src[ip++]!;
  };
  /** The rest of a length whose bits in the instruction were all zero: 255 per zero byte, then the first non-zero one. */
  const longLength = (base: number): number => {
    let n = base;
    let b = byte();
    while (b === 0) {
      n += 255;
      if (n > out.length) throw corrupt('a length longer than the block');
      b = byte();
    }
    return n + b;
  };
  const literals = (n: number): void => {
    if (ip + n > end) throw corrupt('literals run past the block');
    if (op + n > out.length) throw corrupt('literals run past the block’s size');
    out.set(src.subarray(ip, ip + n), op);
    ip += n;
    op += n;
  };
  const copy = (distance: number, length: number): void => {
    if (distance <= 0 || distance > op) throw corrupt(`a copy ${distance} bytes back, before the block's start`);
    if (op + length > out.length) throw corrupt('a copy runs past the block’s size');
    copyMatch(out, op, distance, length);
    op += length;
  };

  /** Literals copied right before the next instruction: 0, 1-3, or 4 for "4 or more"; it decides what a small opcode means. */
  let state = 0;
  let t = byte();
  if (t > 17) {
    t -= 17;
    literals(t);
    state = t < 4 ? t : 4;
    t = byte();
  }
  for (;;) {
    let trailing: number;
    if (t >= 64) {
      // M2: 3-8 bytes within 2 KiB: 1LLDDDSS or 01LDDDSS, then HHHHHHHH.
      const h = byte();
      copy((h << 3) + ((t >> 2) & 7) + 1, (t >> 5) + 1);
      trailing = t & 3;
    } else if (t >= 32) {
      // M3: within 16 KiB: 001LLLLL, then LE16 DDDDDDDD DDDDDDSS.
      const length = 2 + (t & 31 || longLength(31));
      const lo = byte();
      const hi = byte();
      copy((lo >> 2) + (hi << 6) + 1, length);
      trailing = lo & 3;
    } else if (t >= 16) {
      // M4: within 16-48 KiB: 0001HLLL, then LE16; distance 16384 is the end of the stream.
      const length = 2 + (t & 7 || longLength(7));
      const lo = byte();
      const hi = byte();
      const distance = ((t & 8) << 11) + (lo >> 2) + (hi << 6);
      if (distance === 0) {
        if (ip !== end) throw corrupt('bytes after the end of the stream');
        return op;
      }
      copy(distance + 0x4000, length);
      trailing = lo & 3;
    } else if (state === 0) {
      // A literal run of 4 or more: 0000LLLL.
      literals(3 + (t || longLength(15)));
      state = 4;
      t = byte();
      continue;
    } else {
      // M1 after 1-3 literals: 2 bytes within 1 KiB; after 4 or more: 3 bytes at 2-3 KiB. 0000DDSS, then HHHHHHHH.
      const h = byte();
      if (state === 4) copy((h << 2) + (t >> 2) + 2049, 3);
      else copy((h << 2) + (t >> 2) + 1, 2);
      trailing = t & 3;
    }
    literals(trailing);
    state = trailing;
    t = byte();
  }
}

/** zlib's Adler-32 (RFC 1950), which lzop uses for its block checksums. */
export function adler32(data: Uint8Array): number {
  let a = 1;
  let b = 0;
  // 5552 bytes is the most that can be summed before the 32-bit accumulators must be reduced.
  for (let at = 0; at < data.length;) {
    const end = Math.min(at + 5552, data.length);
    for (; at < end; at++) {
      a += data[at]!;
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}

function corrupt(why: string): KhpkgError {
  return new KhpkgError('corrupt-input', `lzo data is corrupt (${why})`);
}
