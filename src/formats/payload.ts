import type {Readable} from 'node:stream';
import type {Entry, EntryType} from '../archive/entry.js';
import {readTar} from '../archive/tar.js';

/** A member of a package's payload, read back: the archive's Entry with its content (files only). */
export interface PayloadEntry extends Entry {
  data?: Buffer;
}

/**
 * A payload member as the stream passes it: its entry, and its content only if asked for before the
 * next member is taken (then it is skipped, never held). Every reader of a package gives these, so a
 * 500 MB kernel package is read once, as it is decompressed.
 */
export interface PayloadItem {
  entry: Entry;
  body(): Promise<Buffer>;
}

/** Every member of a (decompressed) tar payload, paths relative to `/` without `./`. */
export async function* tarPayload(tar: Readable | AsyncIterable<Buffer> | Iterable<Buffer>): AsyncGenerator<PayloadItem> {
  for await (const item of readTar(tar as AsyncIterable<Buffer>)) {
    const h = item.header;
    const type: EntryType = h.type === 'directory' ? 'dir' : h.type === 'symlink' ? 'symlink' : 'file';
    yield {
      entry: {
        path: Buffer.from(h.rawName, 'latin1').toString('utf8').replace(/^\.\//, '').replace(/\/$/, ''),
        type,
        mode: h.mode & 0o7777,
        mtime: h.mtime,
        size: type === 'file' ? h.size : 0,
        linkTarget: h.linkname == null ? undefined : Buffer.from(h.linkname, 'latin1').toString('utf8'),
      },
      body: type === 'file' ? () => item.body() : async () => Buffer.alloc(0),
    };
  }
}

/** Reads the whole payload with contents: for small packages only (tests, khpkg's own packages' metadata). */
export async function payloadEntries(items: AsyncIterable<PayloadItem>): Promise<PayloadEntry[]> {
  const out: PayloadEntry[] = [];
  for await (const {entry, body} of items) out.push(entry.type === 'file' ? {...entry, data: await body()} : entry);
  return out;
}
