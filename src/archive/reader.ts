import {KhpkgError} from '../errors.js';
import {decompressed, sniff} from './compression.js';
import type {EntryWithData} from './entry.js';
import type {Limits} from './limits.js';
import {TreeRules} from './rules.js';
import {readTar} from './tar.js';

/**
 * Streams a kheaders archive (compressed bytes in memory) as validated entries, one file's content
 * at a time. Every header passes `rules` before its content is read; after the last entry the tree
 * itself is checked. Nothing is written anywhere: sinks decide that.
 */
export async function* readTree(bytes: Buffer, limits: Limits, rules = new TreeRules(limits)): AsyncGenerator<EntryWithData> {
  const format = sniff(bytes);
  if (format === 'elf' || format === 'deb' || format === 'rpm') {
    throw new KhpkgError('bad-input', `a ${format} file is not a kheaders archive (modules and packages are read by their sources)`);
  }
  const stream = await decompressed(bytes, format);
  try {
    for await (const item of readTar(stream)) {
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

/** Library errors (liblzma, zlib, zstd, tar) become one line that says what is wrong with the input. */
export function asArchiveError(err: unknown, format: string): KhpkgError {
  if (err instanceof KhpkgError) return err;
  const msg = String((err as Error)?.message ?? err);
  // The tar reader throws KhpkgErrors itself: anything else came from the decompressor.
  if (format === 'tar') return new KhpkgError('corrupt-input', `cannot read the tar archive (${msg})`);
  const what = /No progress is possible|unexpected end|ended in middle/i.test(msg) ? 'cut short' : 'corrupt';
  return new KhpkgError('corrupt-input', `${format} data is ${what} (${msg})`);
}
