import {KhpkgError} from '../errors.js';
import type {RawHeader} from './rules.js';
import {ByteQueue} from './byte-queue.js';

/**
 * A tar reader for GNU and POSIX archives (ustar, GNU long names `L`/`K`, pax `x`/`g`, base-256
 * numbers) that keeps every name byte: names come out latin1-decoded, so the rules see invalid
 * UTF-8 and NUL bytes that other readers silently drop (tar-stream cuts a GNU long name at its first
 * NUL, which changes what the name means). Nothing is read past a header until the caller asks.
 */
export interface TarItem {
  header: RawHeader;
  /** The member's content; skipped if never called. */
  body(): Promise<Buffer>;
}

const BLOCK = 512;
/** Long names and pax records are metadata: bound them so a header cannot eat memory. */
const MAX_META = 1 << 20;
/** After the end-of-archive blocks only record padding follows (GNU tar: up to 10 KiB). */
const MAX_TRAILER = 1 << 20;

const TYPES: Record<string, string> = {
  '0': 'file',
  '\0': 'file',
  '7': 'contiguous-file',
  '1': 'link',
  '2': 'symlink',
  '3': 'character-device',
  '4': 'block-device',
  '5': 'directory',
  '6': 'fifo',
};

export async function* readTar(input: AsyncIterable<Buffer> | Iterable<Buffer>): AsyncGenerator<TarItem> {
  const q = new ByteQueue(
    Symbol.asyncIterator in input
      ? input[Symbol.asyncIterator]()
      : (async function* () {
          yield* input;
        })(),
  );
  let longName: string | undefined;
  let longLink: string | undefined;
  let pax: Map<string, string> | undefined;
  let global = new Map<string, string>();
  for (;;) {
    if (!(await q.fill(BLOCK))) throw new KhpkgError('corrupt-input', 'tar data is cut short (no end-of-archive blocks)');
    const block = q.take(BLOCK);
    if (block.every((b) => b === 0)) {
      // End of archive. Read on to the end of the input anyway: a decompressor verifies its
      // checksums only when it reaches the end of its stream.
      await q.drain(MAX_TRAILER);
      return;
    }
    const h = parseHeader(block);
    const padded = h.size + ((BLOCK - (h.size % BLOCK)) % BLOCK);
    if (h.flag === 'L' || h.flag === 'K' || h.flag === 'x' || h.flag === 'g') {
      if (h.size > MAX_META) throw new KhpkgError('invalid-archive', `tar metadata record of ${h.size} bytes is over ${MAX_META}`);
      const data = (await q.read(padded, 'a metadata record')).subarray(0, h.size);
      if (h.flag === 'L') longName = gnuLongName(data);
      else if (h.flag === 'K') longLink = gnuLongName(data);
      else if (h.flag === 'x') pax = parsePax(data);
      else global = parsePax(data);
      continue;
    }
    const records = new Map([...global, ...(pax ?? [])]);
    const size = records.has('size') ? Number(records.get('size')) : h.size;
    if (!Number.isSafeInteger(size) || size < 0) throw new KhpkgError('invalid-archive', 'tar entry with an impossible size');
    const header: RawHeader = {
      rawName: records.get('path') ?? longName ?? h.name,
      type: TYPES[h.flag] ?? `unknown (typeflag ${JSON.stringify(h.flag)})`,
      mode: h.mode,
      mtime: records.has('mtime') ? Math.floor(Number(records.get('mtime'))) : h.mtime,
      size,
      linkname: records.get('linkpath') ?? longLink ?? (h.linkname || null),
    };
    longName = longLink = pax = undefined;
    const dataBytes = header.type === 'directory' || header.type === 'symlink' || header.type === 'link' ? 0 : size;
    const dataPadded = dataBytes + ((BLOCK - (dataBytes % BLOCK)) % BLOCK);
    let consumed = false;
    yield {
      header,
      body: async () => {
        consumed = true;
        const b = await q.read(dataPadded, `'${header.rawName}'`);
        return b.subarray(0, dataBytes);
      },
    };
    if (!consumed) await q.skip(dataPadded);
  }
}

interface BlockHeader {
  name: string;
  mode: number;
  mtime: number;
  size: number;
  flag: string;
  linkname: string;
}

function parseHeader(b: Buffer): BlockHeader {
  const magic = b.toString('latin1', 257, 263);
  if (magic !== 'ustar\0' && magic !== 'ustar ') throw new KhpkgError('corrupt-input', 'tar data is corrupt (a header without the ustar magic)');
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : b[i]!;
  if (sum !== number(b, 148, 8)) throw new KhpkgError('corrupt-input', 'tar data is corrupt (header checksum mismatch)');
  const str = (off: number, len: number): string => {
    const end = b.indexOf(0, off);
    return b.toString('latin1', off, end < 0 || end > off + len ? off + len : end);
  };
  let name = str(0, 100);
  // POSIX ustar splits long names into prefix + name; GNU (`ustar  `) has no prefix field.
  if (magic === 'ustar\0' && b[345] !== 0) name = `${str(345, 155)}/${name}`;
  return {name, mode: number(b, 100, 8), mtime: number(b, 136, 12), size: number(b, 124, 12), flag: String.fromCharCode(b[156]!), linkname: str(157, 100)};
}

/** Octal, or GNU base-256 when the top bit is set. */
function number(b: Buffer, off: number, len: number): number {
  if (b[off]! & 0x80) {
    let v = b[off]! & 0x7f;
    for (let i = 1; i < len; i++) v = v * 256 + b[off + i]!;
    return v;
  }
  const text = b
    .toString('latin1', off, off + len)
    .replace(/[\0 ]+$/, '')
    .trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new KhpkgError('corrupt-input', `tar data is corrupt (a number field holds '${text.replace(/[^\x20-\x7e]/g, '?')}')`);
  return parseInt(text, 8);
}

/** A GNU long name: NUL-terminated; a NUL inside it is kept so the rules reject the name. */
function gnuLongName(data: Buffer): string {
  let end = data.length;
  while (end > 0 && data[end - 1] === 0) end--;
  return data.toString('latin1', 0, end);
}

/** pax records `"<len> key=value\n"`; values keep their raw bytes (latin1), like names. */
function parsePax(data: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    const len = Number(data.toString('latin1', at, space));
    if (space < 0 || !Number.isSafeInteger(len) || len <= 0 || at + len > data.length) {
      throw new KhpkgError('corrupt-input', 'tar data is corrupt (a bad pax record)');
    }
    const record = data.subarray(space + 1, at + len - 1);
    const eq = record.indexOf(0x3d);
    if (eq > 0) out.set(record.toString('latin1', 0, eq), record.toString('latin1', eq + 1));
    at += len;
  }
  return out;
}
