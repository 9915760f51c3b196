import tar from 'tar-stream';
import {KhpkgError} from '../errors.js';
import {decompressed, sniff} from './compression.js';
import type {EntryWithData} from './entry.js';
import type {Limits} from './limits.js';
import {TreeRules} from './rules.js';

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
  // latin1 keeps every raw byte of a name, so the rules can tell invalid UTF-8 apart.
  const extract = tar.extract({filenameEncoding: 'latin1'} as object);
  try {
    const stream = await decompressed(bytes, format);
    stream.on('error', (e) => extract.destroy(e));
    stream.pipe(extract);
    for await (const item of extract) {
      const h = item.header;
      // PAX names are decoded as UTF-8 by tar-stream; a replacement character means they were not.
      const paxPath = (h.pax as Record<string, string> | undefined)?.path;
      if (paxPath?.includes('\ufffd')) throw new KhpkgError('invalid-archive', `archive entry '${paxPath}': name is not valid UTF-8`);
      const entry = rules.check({
        rawName: paxPath === undefined ? h.name : Buffer.from(paxPath, 'utf8').toString('latin1'),
        type: h.type ?? 'file',
        mode: h.mode ?? 0,
        mtime: Math.floor((h.mtime?.getTime() ?? 0) / 1000),
        size: h.size ?? 0,
        linkname: h.linkname,
      });
      if (!entry || entry.type !== 'file') {
        await drain(item);
        if (entry) yield {entry};
        continue;
      }
      const chunks: Buffer[] = [];
      for await (const chunk of item) chunks.push(chunk as Buffer);
      const data = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      if (data.length !== entry.size) throw new KhpkgError('invalid-archive', `archive entry '${entry.path}': content is cut short`);
      yield {entry, data};
    }
  } catch (err) {
    throw asArchiveError(err, format);
  } finally {
    extract.destroy();
  }
  rules.finish();
}

async function drain(item: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of item) {
    // directories and links have no content; a lying header's bytes are skipped
  }
}

/** Library errors (liblzma, zlib, zstd, tar) become one line that says what is wrong with the input. */
export function asArchiveError(err: unknown, format: string): KhpkgError {
  if (err instanceof KhpkgError) return err;
  const msg = String((err as Error)?.message ?? err);
  // tar-stream's own words; anything else came from the decompressor.
  if (/tar header|Unexpected end of data|Invalid (tar|header)/i.test(msg)) {
    return new KhpkgError('corrupt-input', `tar data is corrupt or cut short (${msg})`);
  }
  if (format === 'tar') return new KhpkgError('corrupt-input', `cannot read the tar archive (${msg})`);
  const what = /No progress is possible|unexpected end|ended in middle/i.test(msg) ? 'cut short' : 'corrupt';
  return new KhpkgError('corrupt-input', `${format} data is ${what} (${msg})`);
}
