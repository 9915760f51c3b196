import {Readable as ReadableStream} from 'node:stream';
import {KhpkgError} from '../errors.js';
import {decompressed, sniff} from './compression.js';
import type {EntryWithData} from './entry.js';
import type {Limits} from './limits.js';
import {TreeRules} from './rules.js';
import {readTar} from './tar.js';
import {TarSpool} from './spool.js';

/** An archive to read: its (compressed) bytes, or the tar an earlier pass kept. */
export type ArchiveInput = Buffer | TarSpool;

/**
 * Streams a kheaders archive (compressed bytes in memory, or a kept tar) as validated entries, one
 * file's content at a time. Every header passes `rules` before its content is read; after the last
 * entry the tree itself is checked. Nothing is written anywhere: sinks decide that. `keep` receives
 * the decompressed tar as it goes by.
 */
export async function* readTree(input: ArchiveInput, limits: Limits, rules = new TreeRules(limits), keep?: TarSpool): AsyncGenerator<EntryWithData> {
  const format = input instanceof TarSpool ? 'tar' : sniff(input);
  if (format === 'elf' || format === 'deb' || format === 'rpm') {
    throw new KhpkgError('bad-input', `a ${format} file is not a kheaders archive (modules and packages are read by their sources)`);
  }
  const stream = input instanceof TarSpool ? ReadableStream.from(input.chunks()) : await decompressed(input, format);
  const tar = keep ? teeInto(stream, keep) : stream;
  try {
    for await (const item of readTar(tar)) {
      const entry = rules.check(item.header);
      if (!entry || entry.type !== 'file') {
        if (entry) yield {entry};
        continue;
      }
      yield {entry, data: await item.body()};
    }
  } catch (err) {
    throw asArchiveError(err, format);
  } finally {
    stream.destroy();
  }
  rules.finish();
}

async function* teeInto(stream: AsyncIterable<Buffer>, keep: TarSpool): AsyncGenerator<Buffer> {
  for await (const chunk of stream) {
    keep.write(chunk);
    yield chunk;
  }
}

/** Library errors (liblzma, zlib, zstd, tar) become one line that says what is wrong with the input. */
export function asArchiveError(err: unknown, format: string): KhpkgError {
  if (err instanceof KhpkgError) return err;
  const msg = String((err as Error)?.message ?? err);
  // The tar reader throws KhpkgErrors itself: anything else came from the decompressor.
  if (format === 'tar') return new KhpkgError('corrupt-input', `cannot read the tar archive (${msg})`);
  const what = /No progress is possible|unexpected end|ended in middle/i.test(msg) ? 'cut short' : 'corrupt';
  return new KhpkgError('corrupt-input', `${format} data is ${what} (${msg})`);
}
