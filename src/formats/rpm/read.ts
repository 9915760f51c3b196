import {decompressedStream, sniff} from '../../archive/compression.js';
import type {ByteSource} from '../../archive/byte-source.js';
import type {EntryType} from '../../archive/entry.js';
import {KhpkgError} from '../../errors.js';
import type {PayloadItem} from '../payload.js';
import {readCpio} from './cpio.js';
import {readHeader, type ParsedHeader} from './header.js';
import {TAG} from './tags.js';

const LEAD_SIZE = 96;
/** A kernel-modules rpm's header lists thousands of files in a few MB; more is not an rpm. */
const MAX_HEADER = 256 * 1024 * 1024;

/**
 * The reading side of the .rpm format, beside its writer: lead, signature header and main header
 * (read whole: they are metadata), then the cpio payload streamed as it is decompressed. Nothing
 * else in khpkg parses an .rpm.
 */
export class RpmReader {
  private constructor(
    private readonly source: ByteSource,
    readonly signature: ParsedHeader,
    readonly header: ParsedHeader,
    /** Where the main header and the payload start: repodata's header-range. */
    readonly layout: {headerAt: number; payloadAt: number},
  ) {}

  private get payloadAt(): number {
    return this.layout.payloadAt;
  }

  static async open(source: ByteSource): Promise<RpmReader> {
    const lead = await source.read(0, Math.min(LEAD_SIZE, source.size), 'the lead');
    if (lead.length < LEAD_SIZE || lead.readUInt32BE(0) !== 0xedabeedb) throw new KhpkgError('bad-input', `${source.name} is not an .rpm (no lead)`);
    const headerAt = async (at: number, what: string): Promise<ParsedHeader> => {
      const intro = await source.read(at, 16, what);
      const length = 16 + 16 * intro.readUInt32BE(8) + intro.readUInt32BE(12);
      if (length > MAX_HEADER) throw new KhpkgError('bad-input', `${source.name}: ${what} of ${length} bytes`);
      try {
        return readHeader(await source.read(at, length, what), 0);
      } catch (e) {
        throw new KhpkgError('corrupt-input', `${source.name}: ${what} is damaged (${(e as Error).message})`);
      }
    };
    const signature = await headerAt(LEAD_SIZE, 'the signature header');
    const mainAt = LEAD_SIZE + signature.length + ((8 - (signature.length % 8)) % 8);
    const header = await headerAt(mainAt, 'the main header');
    return new RpmReader(source, signature, header, {headerAt: mainAt, payloadAt: mainAt + header.length});
  }

  /** Every path the header lists, relative to `/` without `./` (without reading the payload). */
  files(): string[] {
    const dirs = this.header.strings(TAG.DIRNAMES);
    const index = this.header.numbers(TAG.DIRINDEXES);
    return this.header.strings(TAG.BASENAMES).map((b, i) => `${dirs[index[i] ?? -1] ?? ''}${b}`.replace(/^\.?\//, ''));
  }

  /** Every entry of the payload, paths relative to `/` without `./`, as it is decompressed. */
  async *payload(): AsyncGenerator<PayloadItem> {
    const head = await this.source.read(this.payloadAt, Math.min(512, this.source.size - this.payloadAt), 'the payload');
    const format = head.length === 0 ? 'tar' : sniff(head);
    if (format !== 'xz' && format !== 'gzip' && format !== 'zstd')
      throw new KhpkgError('bad-input', `${this.source.name}: payload compressed as ${format}, which khpkg cannot read (xz, zstd or gzip)`);
    const stream = await decompressedStream(this.source.stream(this.payloadAt, this.source.size), format);
    try {
      for await (const c of readCpio(stream)) {
        const kind = c.mode & 0o170000;
        const type: EntryType = kind === 0o040000 ? 'dir' : kind === 0o120000 ? 'symlink' : 'file';
        const path = c.name.replace(/^\.\//, '').replace(/^\//, '');
        const base = {path, type, mode: c.mode & 0o7777, mtime: c.mtime};
        if (type === 'symlink') {
          const target = (await c.body()).toString('utf8');
          yield {entry: {...base, size: 0, linkTarget: target}, body: async () => Buffer.alloc(0)};
        } else yield {entry: {...base, size: type === 'file' ? c.size : 0}, body: type === 'file' ? c.body : async () => Buffer.alloc(0)};
      }
    } finally {
      stream.destroy();
    }
  }
}
