import type {ByteSource} from '../../archive/byte-source.js';
import type {Entry} from '../../archive/entry.js';
import {KhpkgError} from '../../errors.js';
import type {PayloadItem} from '../payload.js';
import {EROFS_MAGIC, LAYOUT, SUPER_OFFSET} from './erofs.js';

/** The most directory depth and inodes an image may have: a loop of dirents or a lying count stops here. */
const MAX_DEPTH = 64;
const MAX_INODES = 1 << 22;

interface Inode {
  nid: number;
  mode: number;
  size: number;
  mtime: number;
  layout: number;
  blkaddr: number;
  /** Where the inode's inline data starts (after the inode and its xattrs). */
  inlineAt: number;
}

/** Whether a file's first bytes (past 1024) are an erofs superblock. */
export function isErofs(head: Buffer): boolean {
  return head.length >= SUPER_OFFSET + 4 && head.readUInt32LE(SUPER_OFFSET) === EROFS_MAGIC;
}

/**
 * Reads an uncompressed erofs image back (what khpkg writes, and any mkfs.erofs image without
 * compression, chunks or extra devices), every offset checked against the image: the entries in
 * directory order with their contents, for `install` from an image, the conformance test and
 * verifying an image against its record.
 */
export class ErofsReader {
  private constructor(
    private readonly source: ByteSource,
    private readonly blockBits: number,
    private readonly metaBlkaddr: number,
    private readonly rootNid: number,
  ) {}

  static async open(source: ByteSource): Promise<ErofsReader> {
    if (source.size < SUPER_OFFSET + 128) throw bad(source, 'shorter than an erofs superblock');
    const sb = await source.read(SUPER_OFFSET, 128, 'its erofs superblock');
    if (sb.readUInt32LE(0) !== EROFS_MAGIC) throw bad(source, 'no erofs superblock at 1024');
    const blockBits = sb[12]!;
    if (blockBits < 9 || blockBits > 16) throw bad(source, `a block size of 2^${blockBits}`);
    const incompat = sb.readUInt32LE(80);
    // Compression, chunks and extra devices are layouts this reader does not follow; it says so rather than misread them.
    if (incompat & ~0x1) throw bad(source, `erofs features 0x${incompat.toString(16)} (compressed or chunked), which khpkg does not read`);
    return new ErofsReader(source, blockBits, sb.readUInt32LE(40), sb.readUInt16LE(14));
  }

  /** Every entry below the root, directories before what they hold, paths relative to the image's root. */
  async *entries(): AsyncGenerator<PayloadItem> {
    let seen = 0;
    const walk = async function* (this: ErofsReader, dir: Inode, prefix: string, depth: number): AsyncGenerator<PayloadItem> {
      if (depth > MAX_DEPTH) throw bad(this.source, `directories nested past ${MAX_DEPTH}`);
      for (const {name, nid} of await this.dirents(dir)) {
        if (name === '.' || name === '..') continue;
        if (++seen > MAX_INODES) throw bad(this.source, `more than ${MAX_INODES} inodes`);
        if (name.includes('/') || name === '') throw bad(this.source, `a name '${name}' no file system holds`);
        const inode = await this.inode(nid);
        const path = `${prefix}${name}`;
        const type = typeOf(inode.mode);
        if (!type) throw bad(this.source, `${path} is neither a file, a directory nor a link`);
        const entry: Entry = {path, type, mode: inode.mode & 0o7777, mtime: inode.mtime, size: type === 'file' ? inode.size : 0};
        if (type === 'symlink') entry.linkTarget = (await this.data(inode)).toString('utf8');
        yield {entry, body: type === 'file' ? () => this.data(inode) : async () => Buffer.alloc(0)};
        if (type === 'dir') yield* walk.call(this, inode, `${path}/`, depth + 1);
      }
    };
    yield* walk.call(this, await this.inode(this.rootNid), '', 0);
  }

  /** A file's whole content by path (the extension-release file, for the repository's index). */
  async read(path: string): Promise<Buffer | undefined> {
    const inode = await this.lookup(path);
    return inode && typeOf(inode.mode) === 'file' ? this.data(inode) : undefined;
  }

  /** The names in a directory by path; none when it is not there. */
  async list(path: string): Promise<string[]> {
    const inode = await this.lookup(path);
    if (!inode || typeOf(inode.mode) !== 'dir') return [];
    return (await this.dirents(inode)).map((d) => d.name).filter((n) => n !== '.' && n !== '..');
  }

  private async lookup(path: string): Promise<Inode | undefined> {
    let inode = await this.inode(this.rootNid);
    for (const part of path.split('/')) {
      if (typeOf(inode.mode) !== 'dir') return undefined;
      const hit = (await this.dirents(inode)).find((d) => d.name === part);
      if (!hit) return undefined;
      inode = await this.inode(hit.nid);
    }
    return inode;
  }

  private get block(): number {
    return 1 << this.blockBits;
  }

  private async inode(nid: number): Promise<Inode> {
    const at = this.metaBlkaddr * this.block + nid * 32;
    const head = await this.source.read(at, Math.min(64, this.source.size - at), `inode ${nid}`).catch(() => {
      throw bad(this.source, `inode ${nid} lies outside the image`);
    });
    if (head.length < 32) throw bad(this.source, `inode ${nid} lies outside the image`);
    const format = head.readUInt16LE(0);
    const extended = (format & 1) === 1;
    const layout = (format >> 1) & 7;
    if (layout !== LAYOUT.flatPlain && layout !== LAYOUT.flatInline)
      throw bad(this.source, `inode ${nid} has data layout ${layout}, which khpkg does not read`);
    const xattrCount = head.readUInt16LE(2);
    const xattrBytes = xattrCount === 0 ? 0 : 12 + 4 * (xattrCount - 1);
    if (extended) {
      if (head.length < 64) throw bad(this.source, `inode ${nid} is cut short`);
      const size = Number(head.readBigUInt64LE(8));
      return {
        nid,
        mode: head.readUInt16LE(4),
        size,
        mtime: Number(head.readBigUInt64LE(32)),
        layout,
        blkaddr: head.readUInt32LE(16),
        inlineAt: at + 64 + xattrBytes,
      };
    }
    return {nid, mode: head.readUInt16LE(4), size: head.readUInt32LE(8), mtime: 0, layout, blkaddr: head.readUInt32LE(16), inlineAt: at + 32 + xattrBytes};
  }

  /** An inode's bytes: whole blocks from its block address, the tail inline when it is FLAT_INLINE. */
  private async data(inode: Inode): Promise<Buffer> {
    if (inode.size > this.source.size) throw bad(this.source, `inode ${inode.nid} is larger than the image`);
    const inBlocks = inode.layout === LAYOUT.flatInline ? Math.floor(inode.size / this.block) * this.block : inode.size;
    const parts: Buffer[] = [];
    if (inBlocks > 0) {
      const from = inode.blkaddr * this.block;
      if (from + inBlocks > this.source.size) throw bad(this.source, `inode ${inode.nid}'s blocks lie outside the image`);
      parts.push(await this.source.read(from, inBlocks, `inode ${inode.nid}'s blocks`));
    }
    const tail = inode.size - inBlocks;
    if (tail > 0) {
      if ((inode.inlineAt % this.block) + tail > this.block || inode.inlineAt + tail > this.source.size)
        throw bad(this.source, `inode ${inode.nid}'s inline data crosses its block`);
      parts.push(await this.source.read(inode.inlineAt, tail, `inode ${inode.nid}'s inline data`));
    }
    return Buffer.concat(parts);
  }

  private async dirents(dir: Inode): Promise<{name: string; nid: number}[]> {
    if (typeOf(dir.mode) !== 'dir') throw bad(this.source, `inode ${dir.nid} is not a directory`);
    const bytes = await this.data(dir);
    const out: {name: string; nid: number}[] = [];
    for (let base = 0; base < bytes.length; base += this.block) {
      const block = bytes.subarray(base, Math.min(bytes.length, base + this.block));
      const first = block.readUInt16LE(8);
      if (first === 0 || first % 12 !== 0 || first > block.length) throw bad(this.source, `directory inode ${dir.nid} has a bad dirent block`);
      const count = first / 12;
      for (let i = 0; i < count; i++) {
        const nameoff = block.readUInt16LE(i * 12 + 8);
        const end = i + 1 < count ? block.readUInt16LE((i + 1) * 12 + 8) : nulOrEnd(block, nameoff);
        if (nameoff < first || end <= nameoff || end > block.length) throw bad(this.source, `directory inode ${dir.nid} has a bad name`);
        out.push({name: block.toString('utf8', nameoff, end), nid: Number(block.readBigUInt64LE(i * 12))});
      }
    }
    return out;
  }
}

function nulOrEnd(block: Buffer, from: number): number {
  const nul = block.indexOf(0, from);
  return nul < 0 ? block.length : nul;
}

function typeOf(mode: number): Entry['type'] | undefined {
  const fmt = mode & 0o170000;
  return fmt === 0o100000 ? 'file' : fmt === 0o040000 ? 'dir' : fmt === 0o120000 ? 'symlink' : undefined;
}

function bad(source: ByteSource, why: string): KhpkgError {
  return new KhpkgError('bad-input', `${source.name} is a damaged erofs image: ${why}`);
}
