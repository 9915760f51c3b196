import {decompressAll, decompressedStream, sniff} from '../../archive/compression.js';
import type {ByteSource} from '../../archive/byte-source.js';
import {KhpkgError} from '../../errors.js';
import {AR_HEADER_SIZE} from './ar.js';
import {parseParagraphs, type Paragraph} from './deb822.js';
import {payloadEntries, tarPayload, type PayloadItem} from '../payload.js';

/** An ar member's place in the file: its content is read only when asked for. */
interface MemberAt {
  name: string;
  at: number;
  size: number;
}

/** What a .deb's control member says: the `control` paragraph, and the files listed in `md5sums`. */
export interface DebControl {
  control: Paragraph;
  /** Paths of `md5sums` (relative to `/`, no `./`): every regular file the package ships. */
  files: string[];
}

/** dpkg's own bound on control.tar is far below this; a larger one is not a package. */
const MAX_CONTROL = 64 * 1024 * 1024;

/**
 * The reading side of the .deb format, beside its writer: the outer ar (its member headers only),
 * the control member (small, read whole) and the data member, streamed as it is decompressed.
 * Nothing else in khpkg parses a .deb.
 */
export class DebReader {
  private constructor(
    private readonly source: ByteSource,
    private readonly members: MemberAt[],
  ) {}

  /** Reads the ar member headers (60 bytes each, three members in a .deb). */
  static async open(source: ByteSource): Promise<DebReader> {
    const magic = await source.read(0, Math.min(8, source.size), 'the ar magic');
    if (magic.toString('latin1') !== '!<arch>\n') throw new KhpkgError('bad-input', `${source.name} is not a .deb (no ar magic)`);
    const members: MemberAt[] = [];
    let at = 8;
    while (at + AR_HEADER_SIZE <= source.size && members.length < 64) {
      const h = await source.read(at, AR_HEADER_SIZE, 'an ar member header');
      const name = h.toString('latin1', 0, 16).trim().replace(/\/$/, '');
      const size = Number(h.toString('latin1', 48, 58).trim());
      if (!Number.isSafeInteger(size) || size < 0 || at + AR_HEADER_SIZE + size > source.size)
        throw new KhpkgError('corrupt-input', `${source.name}: the ar member ${name} is cut short`);
      members.push({name, at: at + AR_HEADER_SIZE, size});
      at += AR_HEADER_SIZE + size + (size % 2);
    }
    return new DebReader(source, members);
  }

  /** The `control` file's first paragraph (`Package`, `Version`, `Description`...) and md5sums' file list. */
  async control(maxBytes = MAX_CONTROL): Promise<DebControl> {
    const m = this.member('control.tar');
    if (m.size > MAX_CONTROL) throw new KhpkgError('bad-input', `${this.source.name}: control member of ${m.size} bytes`);
    const raw = await this.source.read(m.at, m.size, 'the control member');
    const entries = await payloadEntries(tarPayload([await decompressAll(raw, maxBytes)]));
    const text = entries.find((e) => e.path === 'control')?.data?.toString('utf8');
    const control = text === undefined ? undefined : parseParagraphs(text)[0];
    if (!control) throw new KhpkgError('bad-input', `${this.source.name}: the deb has no control file`);
    const md5sums = entries.find((e) => e.path === 'md5sums')?.data?.toString('utf8') ?? '';
    const files = md5sums
      .split('\n')
      .map((l) => /^[0-9a-f]{32}\s+(.+)$/.exec(l)?.[1])
      .filter((f): f is string => f !== undefined)
      .map((f) => f.replace(/^\.?\//, ''));
    return {control, files};
  }

  /** Every entry of `data.tar`, paths relative to `/` without `./`, as the member is decompressed. */
  async *data(): AsyncGenerator<PayloadItem> {
    const m = this.member('data.tar');
    const head = await this.source.read(m.at, Math.min(m.size, 512), 'the data member');
    const format = sniff(head);
    if (format !== 'xz' && format !== 'gzip' && format !== 'zstd' && format !== 'tar')
      throw new KhpkgError('bad-input', `${this.source.name}: data member compressed as ${format}, which khpkg cannot read (xz, zstd, gzip or none)`);
    const stream = await decompressedStream(this.source.stream(m.at, m.at + m.size), format);
    try {
      yield* tarPayload(stream);
    } finally {
      stream.destroy();
    }
  }

  private member(prefix: string): MemberAt {
    const m = this.members.find((k) => k.name.startsWith(prefix));
    if (!m) throw new KhpkgError('bad-input', `${this.source.name}: the deb has no ${prefix}* member`);
    return m;
  }
}
