import {decompressAll} from '../../archive/compression.js';
import type {Entry, EntryType} from '../../archive/entry.js';
import {readTar} from '../../archive/tar.js';
import {KhpkgError} from '../../errors.js';
import {readAr} from './ar.js';
import {parseParagraphs, type Paragraph} from './deb822.js';

/** A member of a package's payload, read back: the archive's Entry with its content (files only). */
export interface PayloadEntry extends Entry {
  data?: Buffer;
}

/**
 * The reading side of the .deb format, beside its writer: the outer ar, the control member and the
 * data member. Nothing else in khpkg parses a .deb.
 */
export class DebReader {
  private readonly members: Map<string, Buffer>;

  constructor(bytes: Buffer) {
    this.members = readAr(bytes);
  }

  /** The `control` file's first paragraph (`Package`, `Version`, `Description`...). */
  async control(maxBytes: number): Promise<Paragraph> {
    const entries = await tarEntries(await decompressAll(this.member('control.tar'), maxBytes));
    const text = entries.find((e) => e.path === 'control')?.data?.toString('utf8');
    const p = text === undefined ? undefined : parseParagraphs(text)[0];
    if (!p) throw new KhpkgError('bad-input', 'the deb has no control file');
    return p;
  }

  /** Every entry of `data.tar`, paths relative to `/` without `./`. */
  async data(maxBytes: number): Promise<PayloadEntry[]> {
    return tarEntries(await decompressAll(this.member('data.tar'), maxBytes));
  }

  private member(prefix: string): Buffer {
    const name = [...this.members.keys()].find((k) => k.startsWith(prefix));
    if (!name) throw new KhpkgError('bad-input', `the deb has no ${prefix}* member`);
    return this.members.get(name)!;
  }
}

async function tarEntries(bytes: Buffer): Promise<PayloadEntry[]> {
  const out: PayloadEntry[] = [];
  for await (const item of readTar([bytes])) {
    const h = item.header;
    const type: EntryType = h.type === 'directory' ? 'dir' : h.type === 'symlink' ? 'symlink' : 'file';
    const data = type === 'file' ? await item.body() : undefined;
    out.push({
      path: Buffer.from(h.rawName, 'latin1').toString('utf8').replace(/^\.\//, '').replace(/\/$/, ''),
      type,
      mode: h.mode & 0o7777,
      mtime: h.mtime,
      size: data?.length ?? 0,
      data,
      linkTarget: h.linkname == null ? undefined : Buffer.from(h.linkname, 'latin1').toString('utf8'),
    });
  }
  return out;
}
