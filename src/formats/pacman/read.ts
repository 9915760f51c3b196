import {Readable} from 'node:stream';
import {gunzipBounded} from '../../codec/decompress.js';
import type {ByteSource} from '../../archive/byte-source.js';
import {decompressStream, methodOf} from '../../codec/decompress.js';
import {KhpkgError} from '../../errors.js';
import {tarPayload, type PayloadItem} from '../payload.js';

/** The metadata files at the top of a pacman package: never installed, never part of the payload. */
const METADATA = new Set(['.BUILDINFO', '.MTREE', '.PKGINFO', '.INSTALL', '.CHANGELOG']);

/** `.PKGINFO`'s `key = value` lines, each key with every value it was given. */
export function parsePkginfo(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const m = /^([a-z0-9_]+) = (.*)$/.exec(line);
    if (m) out.set(m[1]!, [...(out.get(m[1]!) ?? []), m[2]!]);
  }
  return out;
}

/**
 * The reading side of pacman's format, beside its writer: a .pkg.tar.{zst,xz,gz} is one compressed
 * tar (of one or more frames), its metadata files first. `.PKGINFO` and `.MTREE` are read from the
 * stream's start; the payload is the rest, streamed.
 */
export class PacmanReader {
  private constructor(
    private readonly source: ByteSource,
    private readonly method: 'zstd' | 'xz' | 'gzip',
  ) {}

  static async open(source: ByteSource): Promise<PacmanReader> {
    const head = await source.read(0, Math.min(16, source.size), 'its first bytes');
    const method = methodOf(head);
    if (method !== 'zstd' && method !== 'xz' && method !== 'gzip')
      throw new KhpkgError('bad-input', `${source.name} is not a pacman package (not a zstd, xz or gzip tar)`);
    return new PacmanReader(source, method);
  }

  /** Every member, metadata included, as the stream is decompressed. */
  private async *members(): AsyncGenerator<PayloadItem> {
    const stream = await decompressStream(this.source.stream(0, this.source.size), this.method);
    try {
      yield* tarPayload(stream);
    } finally {
      stream.destroy();
    }
  }

  /** `.PKGINFO` (parsed, and its text) and the entries `.MTREE` lists (relative to `/`), read from the members that come first. */
  async metadata(): Promise<{info: Map<string, string[]>; pkginfo: string; entries: {path: string; dir: boolean}[]}> {
    let pkginfo: string | undefined;
    let entries: {path: string; dir: boolean}[] | undefined;
    for await (const {entry, body} of this.members()) {
      if (entry.path === '.PKGINFO') pkginfo = (await body()).toString('utf8');
      else if (entry.path === '.MTREE') entries = mtreeEntries(gunzipBounded(await body(), 256 << 20).toString('latin1'));
      else if (!METADATA.has(entry.path)) break; // the metadata comes first; the tree is not read for it
      if (pkginfo !== undefined && entries) break;
    }
    if (pkginfo === undefined) throw new KhpkgError('bad-input', `${this.source.name} is not a pacman package (no .PKGINFO first)`);
    return {info: parsePkginfo(pkginfo), pkginfo, entries: entries ?? []};
  }

  /** The package's files (its metadata left out), paths relative to `/`. */
  async *payload(): AsyncGenerator<PayloadItem> {
    for await (const item of this.members()) if (!METADATA.has(item.entry.path)) yield item;
  }
}

/** The entries of an mtree spec (`./path attrs...`, `\ooo` escapes): their paths and which are dirs, metadata files left out. */
function mtreeEntries(text: string): {path: string; dir: boolean}[] {
  const out: {path: string; dir: boolean}[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('./')) continue;
    const [raw, ...attrs] = line.slice(2).split(' ');
    const path = Buffer.from(
      raw!.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))),
      'latin1',
    ).toString('utf8');
    if (!METADATA.has(path)) out.push({path, dir: attrs.includes('type=dir')});
  }
  return out;
}

/**
 * A .pkg.tar.*: a compressed stream (as a kheaders archive may be too) whose first member is one of
 * pacman's metadata files. `head` is the file's start (64 KiB holds the first frame's first block).
 */
export async function isPacmanPackage(head: Buffer): Promise<boolean> {
  const method = methodOf(head);
  if (method !== 'zstd' && method !== 'xz' && method !== 'gzip') return false;
  const stream = await decompressStream(Readable.from([head]), method);
  try {
    for await (const chunk of stream) {
      const tar = chunk as Buffer;
      return tar.length >= 512 && METADATA.has(tar.toString('latin1', 0, 100).replace(/\0.*$/s, '')) && tar.toString('latin1', 257, 262) === 'ustar';
    }
    return false;
  } catch {
    return false; // the head alone decoded to nothing whole: no pacman package's metadata frame is that large
  } finally {
    stream.destroy();
  }
}
