import {decompressAll} from '../../archive/compression.js';
import type {EntryType} from '../../archive/entry.js';
import type {PayloadEntry} from '../deb/read.js';
import {readCpio} from './cpio.js';
import {readHeader, type ParsedHeader} from './header.js';
import {rpmLayout} from './signature.js';

/**
 * The reading side of the .rpm format, beside its writer: lead, signature header, main header and
 * the cpio payload. Nothing else in khpkg parses an .rpm.
 */
export class RpmReader {
  readonly layout: ReturnType<typeof rpmLayout>;
  readonly signature: ParsedHeader;
  readonly header: ParsedHeader;

  constructor(private readonly bytes: Buffer) {
    this.layout = rpmLayout(bytes);
    this.signature = readHeader(bytes, this.layout.sigAt);
    this.header = readHeader(bytes, this.layout.headerAt);
  }

  /** Every entry of the payload, paths relative to `/` without `./`. */
  async payload(maxBytes: number): Promise<PayloadEntry[]> {
    const cpio = readCpio(await decompressAll(this.bytes.subarray(this.layout.payloadAt), maxBytes));
    return cpio.map((c) => {
      const kind = c.mode & 0o170000;
      const type: EntryType = kind === 0o040000 ? 'dir' : kind === 0o120000 ? 'symlink' : 'file';
      const data = type === 'file' ? c.data : undefined;
      return {
        path: c.name.replace(/^\.\//, ''),
        type,
        mode: c.mode & 0o7777,
        mtime: c.mtime,
        size: data?.length ?? 0,
        data,
        linkTarget: type === 'symlink' ? c.data.toString('utf8') : undefined,
      };
    });
  }
}
