import {KhpkgError} from '../errors.js';

/** The legacy LZ4 frame's magic (little-endian 0x184C2102): what `lz4 -l` writes and the kernel's lz4 images use. */
const LEGACY_MAGIC = 0x184c2102;
/** A legacy frame's blocks each decompress to at most 8 MiB. */
const LEGACY_BLOCK = 8 << 20;

/**
 * Decompresses the legacy LZ4 frame (`lz4 -l`, kbuild's `cmd_lz4` for bzImage payloads and Android's
 * Image.lz4): the magic, then blocks, each a little-endian 32-bit compressed size and an LZ4 block of
 * at most 8 MiB; the magic again starts another frame, and the input's end ends the last. Every size,
 * offset and length is checked against the bytes at hand; more than `limit` bytes out is an error.
 */
export function unlz4Legacy(input: Uint8Array, limit: number): Buffer {
  if (input.length < 4 || readLE32(input, 0) !== LEGACY_MAGIC) throw corrupt('no legacy LZ4 frame magic');
  const parts: Buffer[] = [];
  let total = 0;
  const block = Buffer.allocUnsafe(LEGACY_BLOCK);
  let at = 4;
  while (at + 4 <= input.length) {
    const size = readLE32(input, at);
    at += 4;
    if (size === LEGACY_MAGIC) continue;
    if (size === 0 || at + size > input.length) throw corrupt(`a block of ${size} bytes at ${at - 4} runs past the end`);
    const n = lz4Block(input.subarray(at, at + size), block);
    total += n;
    if (total > limit) throw corrupt(`more than ${limit} bytes decompressed`);
    parts.push(Buffer.from(block.subarray(0, n)));
    at += size;
  }
  if (at !== input.length) throw corrupt('trailing bytes after the last block');
  return Buffer.concat(parts, total);
}

/**
 * One LZ4 block (lz4's lz4_Block_format.md): sequences of a token (literal length in its high
 * nibble, match length - 4 in its low one, 15 meaning "more bytes follow, each added, until one is
 * not 255"), the literals, then a little-endian 16-bit offset back into the output. The last
 * sequence has literals only. Returns the number of bytes written into `out`.
 */
export function lz4Block(src: Uint8Array, out: Uint8Array): number {
  let ip = 0;
  let op = 0;
  const end = src.length;
  for (;;) {
    if (ip >= end) throw corrupt('a block ends inside a sequence');
    const token = src[ip++]!;
    let literals = token >>> 4;
    if (literals === 15) {
      let b: number;
      do {
        if (ip >= end) throw corrupt('a literal length runs past the block');
        b = src[ip++]!;
        literals += b;
      } while (b === 255);
    }
    if (ip + literals > end) throw corrupt('literals run past the block');
    if (op + literals > out.length) throw corrupt('a block decompresses past 8 MiB');
    out.set(src.subarray(ip, ip + literals), op);
    ip += literals;
    op += literals;
    if (ip === end) return op; // the last sequence: literals only
    if (ip + 2 > end) throw corrupt('a match offset runs past the block');
    const offset = src[ip]! | (src[ip + 1]! << 8);
    ip += 2;
    if (offset === 0 || offset > op) throw corrupt(`a match ${offset} bytes back, before the block's start`);
    let length = (token & 15) + 4;
    if ((token & 15) === 15) {
      let b: number;
      do {
        if (ip >= end) throw corrupt('a match length runs past the block');
        b = src[ip++]!;
        length += b;
      } while (b === 255);
    }
    if (op + length > out.length) throw corrupt('a block decompresses past 8 MiB');
    copyMatch(out, op, offset, length);
    op += length;
  }
}

/** A match copy, which may overlap its own output (an offset shorter than the length repeats a pattern). */
export function copyMatch(out: Uint8Array, op: number, distance: number, length: number): void {
  const from = op - distance;
  if (distance >= length) out.copyWithin(op, from, from + length);
  else for (let i = 0; i < length; i++) out[op + i] = out[from + i]!;
}

function readLE32(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}

function corrupt(why: string): KhpkgError {
  return new KhpkgError('corrupt-input', `lz4 data is corrupt (${why})`);
}
