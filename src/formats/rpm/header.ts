import {HEADER_IMMUTABLE, TYPE, type TagType} from './tags.js';

/** One tag's value, already typed the way rpm stores it. */
export type TagValue =
  | {type: typeof TYPE.INT16 | typeof TYPE.INT32 | typeof TYPE.INT64; values: number[]}
  | {type: typeof TYPE.STRING | typeof TYPE.I18NSTRING; value: string}
  | {type: typeof TYPE.STRING_ARRAY; values: string[]}
  | {type: typeof TYPE.BIN; value: Buffer};

export const int16 = (values: number[]): TagValue => ({type: TYPE.INT16, values});
export const int32 = (values: number[]): TagValue => ({type: TYPE.INT32, values});
export const int64 = (values: number[]): TagValue => ({type: TYPE.INT64, values});
export const str = (value: string): TagValue => ({type: TYPE.STRING, value});
export const i18n = (value: string): TagValue => ({type: TYPE.I18NSTRING, value});
export const strArray = (values: string[]): TagValue => ({type: TYPE.STRING_ARRAY, values});
export const bin = (value: Buffer): TagValue => ({type: TYPE.BIN, value});

/** Integers are aligned to their size in the data store; rpm refuses misaligned ones. */
const ALIGN: Partial<Record<TagType, number>> = {[TYPE.INT16]: 2, [TYPE.INT32]: 4, [TYPE.INT64]: 8};

function encode(v: TagValue): {data: Buffer; count: number} {
  switch (v.type) {
    case TYPE.INT16: {
      const b = Buffer.alloc(2 * v.values.length);
      v.values.forEach((n, i) => b.writeUInt16BE(n & 0xffff, 2 * i));
      return {data: b, count: v.values.length};
    }
    case TYPE.INT32: {
      const b = Buffer.alloc(4 * v.values.length);
      v.values.forEach((n, i) => b.writeUInt32BE(n >>> 0, 4 * i));
      return {data: b, count: v.values.length};
    }
    case TYPE.INT64: {
      const b = Buffer.alloc(8 * v.values.length);
      v.values.forEach((n, i) => b.writeBigUInt64BE(BigInt(n), 8 * i));
      return {data: b, count: v.values.length};
    }
    case TYPE.STRING:
    case TYPE.I18NSTRING:
      return {data: Buffer.from(`${v.value}\0`), count: 1};
    case TYPE.STRING_ARRAY:
      return {data: Buffer.from(v.values.map((s) => `${s}\0`).join('')), count: v.values.length};
    case TYPE.BIN:
      return {data: v.value, count: v.value.length};
  }
}

/**
 * An rpm header structure: magic, index entries sorted by tag, then the data store. The first entry
 * is the region tag, whose data (the last 16 bytes of the store) is an index entry pointing back at
 * the whole index: what rpm checks to know the header is one immutable region.
 */
export function headerBytes(region: number, tags: Map<number, TagValue>): Buffer {
  const sorted = [...tags.entries()].sort((a, b) => a[0] - b[0]);
  const store: Buffer[] = [];
  let size = 0;
  const index: Buffer[] = [];
  for (const [tag, value] of sorted) {
    const {data, count} = encode(value);
    const align = ALIGN[value.type] ?? 1;
    if (size % align !== 0) {
      const pad = Buffer.alloc(align - (size % align));
      store.push(pad);
      size += pad.length;
    }
    index.push(indexEntry(tag, value.type, size, count));
    store.push(data);
    size += data.length;
  }
  const entries = sorted.length + 1;
  const trailer = indexEntry(region, TYPE.BIN, -16 * entries, 16);
  store.push(trailer);
  size += trailer.length;
  const head = Buffer.alloc(16);
  head.writeUInt32BE(0x8eade801, 0);
  head.writeUInt32BE(entries, 8);
  head.writeUInt32BE(size, 12);
  return Buffer.concat([head, indexEntry(region, TYPE.BIN, size - 16, 16), ...index, ...store]);
}

function indexEntry(tag: number, type: number, offset: number, count: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeInt32BE(tag, 0);
  b.writeInt32BE(type, 4);
  b.writeInt32BE(offset, 8);
  b.writeInt32BE(count, 12);
  return b;
}

export const IMMUTABLE = HEADER_IMMUTABLE;

/** A parsed header: its byte length and typed readers of its tags. */
export interface ParsedHeader {
  length: number;
  tags: Map<number, TagValue>;
  string(tag: number): string | undefined;
  strings(tag: number): string[];
  numbers(tag: number): number[];
}

/** Reads a header structure at `offset` (bounds-checked): every tag, typed as rpm stores it. */
export function readHeader(buf: Buffer, offset: number): ParsedHeader {
  if (offset + 16 > buf.length || buf.readUInt32BE(offset) !== 0x8eade801) throw new RangeError('no rpm header magic');
  const n = buf.readUInt32BE(offset + 8);
  const size = buf.readUInt32BE(offset + 12);
  const storeAt = offset + 16 + 16 * n;
  const length = 16 + 16 * n + size;
  if (n > 100_000 || offset + length > buf.length) throw new RangeError('rpm header is cut short');
  const store = buf.subarray(storeAt, storeAt + size);
  const tags = new Map<number, TagValue>();
  for (let i = 0; i < n; i++) {
    const e = offset + 16 + 16 * i;
    const [tag, type, off, count] = [buf.readInt32BE(e), buf.readInt32BE(e + 4), buf.readInt32BE(e + 8), buf.readInt32BE(e + 12)];
    if (off < 0 || off > size || count < 0) continue;
    const value = decode(store, type, off, count);
    if (value) tags.set(tag, value);
  }
  const string = (tag: number): string | undefined => {
    const v = tags.get(tag);
    return v && (v.type === TYPE.STRING || v.type === TYPE.I18NSTRING) ? v.value : v?.type === TYPE.STRING_ARRAY ? v.values[0] : undefined;
  };
  const strings = (tag: number): string[] => {
    const v = tags.get(tag);
    return v?.type === TYPE.STRING_ARRAY ? v.values : v && (v.type === TYPE.STRING || v.type === TYPE.I18NSTRING) ? [v.value] : [];
  };
  const numbers = (tag: number): number[] => {
    const v = tags.get(tag);
    return v && (v.type === TYPE.INT16 || v.type === TYPE.INT32 || v.type === TYPE.INT64) ? v.values : [];
  };
  return {length, tags, string, strings, numbers};
}

function decode(store: Buffer, type: number, off: number, count: number): TagValue | undefined {
  const cstrings = (k: number): string[] | undefined => {
    const out: string[] = [];
    let at = off;
    for (let i = 0; i < k; i++) {
      const end = store.indexOf(0, at);
      if (end < 0) return undefined;
      out.push(store.toString('utf8', at, end));
      at = end + 1;
    }
    return out;
  };
  const ints = (width: number, read: (at: number) => number): number[] | undefined => {
    if (off + width * count > store.length) return undefined;
    return Array.from({length: count}, (_, i) => read(off + width * i));
  };
  switch (type) {
    case TYPE.INT16: {
      const v = ints(2, (at) => store.readUInt16BE(at));
      return v && int16(v);
    }
    case TYPE.INT32: {
      const v = ints(4, (at) => store.readUInt32BE(at));
      return v && int32(v);
    }
    case TYPE.INT64: {
      const v = ints(8, (at) => Number(store.readBigUInt64BE(at)));
      return v && int64(v);
    }
    case TYPE.STRING:
    case TYPE.I18NSTRING: {
      const v = cstrings(1);
      return v && {type, value: v[0]!};
    }
    case TYPE.STRING_ARRAY: {
      const v = cstrings(count);
      return v && strArray(v);
    }
    case TYPE.BIN:
      return off + count <= store.length ? bin(Buffer.from(store.subarray(off, off + count))) : undefined;
    default:
      return undefined;
  }
}
