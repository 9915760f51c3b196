import type {FileHandle} from 'node:fs/promises';
import {KhpkgError} from '../../errors.js';

/**
 * An EROFS image (the kernel's fs/erofs/erofs_fs.h), written by khpkg itself as mkfs.erofs would
 * write an uncompressed one: 4 KiB blocks, the superblock at 1024, 64-byte extended inodes (each
 * with its own mtime) in the metadata area from there on, each file's, directory's or link's last
 * partial block packed inline right after its inode (FLAT_INLINE) where it fits in that inode's
 * block, every full block in the data area behind the inodes. No compression and no feature flag
 * at all, so every kernel since erofs left staging (5.4) mounts it, EROFS_FS_ZIP or not.
 */

export const EROFS_MAGIC = 0xe0f5e1e2;
export const SUPER_OFFSET = 1024;
export const BLOCK = 4096;
const BLOCK_BITS = 12;
const INODE_SLOT = 32;
const EXTENDED_INODE = 64;
const DIRENT = 12;
const MAX_NAME = 255;

export const LAYOUT = {flatPlain: 0, flatInline: 2} as const;
export const FILE_TYPE = {file: 1, dir: 2, symlink: 7} as const;
const S_IF = {file: 0o100000, dir: 0o040000, symlink: 0o120000} as const;

/** One entry of the image: paths relative to its root, every directory listed; a file's bytes come from `read`. */
export interface ErofsNode {
  path: string;
  type: 'file' | 'dir' | 'symlink';
  mode: number;
  mtime: number;
  size: number;
  linkTarget?: string;
  /** Where a file's bytes are in the content `read` gives. */
  at?: number;
}

interface Placed {
  node: ErofsNode;
  name: string;
  children: Placed[];
  parent?: Placed;
  nid: number;
  ino: number;
  /** Bytes of the inode's content: a file's size, a directory's dirent blocks, a link's target. */
  size: number;
  inline: boolean;
  blkaddr: number;
  /** A directory's blocks of dirents, made once the nids are known. */
  dirBlocks?: {names: Buffer[]; children: {placed: Placed; name: Buffer}[]}[];
}

/**
 * Writes the image of `nodes` into `fh` from offset 0; `read(at, length)` gives file bytes. The
 * whole layout is decided first (it depends only on sizes and names), then the metadata area is
 * written in one piece and the data blocks behind it, file by file. Returns the image's size.
 */
export async function writeErofs(
  fh: FileHandle,
  nodes: readonly ErofsNode[],
  read: (at: number, length: number) => Promise<Buffer>,
  buildTime: number,
): Promise<number> {
  const root = tree(nodes);
  const all = flatten(root);
  // Directory contents are sized by their names alone; inodes and inline tails are laid out in order, the root first.
  for (const p of all) if (p.node.type === 'dir') p.size = dirSize(p);
  let pos = SUPER_OFFSET + 128;
  all.forEach((p, i) => {
    const tail = p.size % BLOCK;
    p.inline = tail > 0 && EXTENDED_INODE + tail <= BLOCK;
    const need = EXTENDED_INODE + (p.inline ? tail : 0);
    if ((pos % BLOCK) + need > BLOCK) pos = roundUp(pos, BLOCK);
    p.nid = pos / INODE_SLOT;
    p.ino = i + 1;
    pos += roundUp(need, INODE_SLOT);
  });
  if (root.nid > 0xffff) throw new KhpkgError('internal', 'the erofs root inode is past what root_nid can address');
  const metaBlocks = Math.ceil(pos / BLOCK);
  let next = metaBlocks;
  for (const p of all) {
    const blocks = p.inline ? Math.floor(p.size / BLOCK) : Math.ceil(p.size / BLOCK);
    p.blkaddr = blocks > 0 ? next : 0;
    next += blocks;
  }
  const meta = Buffer.alloc(metaBlocks * BLOCK);
  superblock(meta, {rootNid: root.nid, inodes: all.length, blocks: next, buildTime});
  for (const p of all) {
    const content = await contentOf(p, read);
    const at = p.nid * INODE_SLOT;
    extendedInode(meta, at, p);
    const full = p.inline ? Math.floor(p.size / BLOCK) * BLOCK : content.length;
    if (p.inline) content.copy(meta, at + EXTENDED_INODE, full);
    if (full > 0) {
      const block = p.inline ? content.subarray(0, full) : content;
      await fh.write(block, 0, block.length, p.blkaddr * BLOCK);
    }
  }
  await fh.write(meta, 0, meta.length, 0);
  // The last data block's unused end, and a data area with no blocks at all, are zeros to the end.
  await fh.truncate(next * BLOCK);
  return next * BLOCK;
}

/** The directory tree of the nodes, checked: one root, every parent listed, no name twice. */
function tree(nodes: readonly ErofsNode[]): Placed {
  const placed = (node: ErofsNode, name: string): Placed => ({node, name, children: [], nid: 0, ino: 0, size: node.size, inline: false, blkaddr: 0});
  const root = placed({path: '', type: 'dir', mode: 0o755, mtime: nodes[0]?.mtime ?? 0, size: 0}, '');
  const byPath = new Map<string, Placed>([['', root]]);
  for (const node of nodes) {
    if (node.path === '') {
      root.node = node;
      continue;
    }
    const slash = node.path.lastIndexOf('/');
    const parent = byPath.get(slash < 0 ? '' : node.path.slice(0, slash));
    const name = node.path.slice(slash + 1);
    if (!parent || parent.node.type !== 'dir') throw new KhpkgError('internal', `${node.path}: its directory is not in the image before it`);
    if (byPath.has(node.path)) throw new KhpkgError('internal', `${node.path} is in the image twice`);
    if (Buffer.byteLength(name) > MAX_NAME) throw new KhpkgError('bad-input', `${node.path}: a name longer than ${MAX_NAME} bytes cannot be in an erofs image`);
    const p = placed(node, name);
    p.parent = parent;
    parent.children.push(p);
    byPath.set(node.path, p);
  }
  return root;
}

/** Every inode, the root first, each directory before what it holds. */
function flatten(root: Placed): Placed[] {
  const out: Placed[] = [];
  const walk = (p: Placed): void => {
    out.push(p);
    for (const c of sortedChildren(p)) if (c.placed.parent === p) walk(c.placed);
  };
  walk(root);
  return out;
}

/** A directory's entries in byte order (the kernel looks names up by binary search), `.` and `..` among them. */
function sortedChildren(dir: Placed): {placed: Placed; name: Buffer}[] {
  const entries = [
    {placed: dir, name: Buffer.from('.')},
    {placed: dir.parent ?? dir, name: Buffer.from('..')},
    ...dir.children.map((c) => ({placed: c, name: Buffer.from(c.name)})),
  ];
  return entries.sort((a, b) => Buffer.compare(a.name, b.name));
}

/** Packs a directory's entries into blocks (dirents first, then their names) and says its size. */
function dirSize(dir: Placed): number {
  const blocks: NonNullable<Placed['dirBlocks']> = [];
  let current: {names: Buffer[]; children: {placed: Placed; name: Buffer}[]} = {names: [], children: []};
  let used = 0;
  for (const entry of sortedChildren(dir)) {
    const need = DIRENT + entry.name.length;
    if (used + need > BLOCK) {
      blocks.push(current);
      current = {names: [], children: []};
      used = 0;
    }
    current.children.push(entry);
    used += need;
  }
  blocks.push(current);
  dir.dirBlocks = blocks;
  const last = blocks[blocks.length - 1]!;
  const lastUsed = last.children.reduce((n, c) => n + DIRENT + c.name.length, 0);
  return (blocks.length - 1) * BLOCK + lastUsed;
}

/** The bytes an inode holds: a file's from `read`, a link's target, a directory's dirent blocks (whole blocks, the last cut at its size). */
async function contentOf(p: Placed, read: (at: number, length: number) => Promise<Buffer>): Promise<Buffer> {
  const {node} = p;
  if (node.type === 'symlink') return Buffer.from(node.linkTarget ?? '');
  if (node.type === 'file') return p.size === 0 ? Buffer.alloc(0) : read(node.at ?? 0, p.size);
  const out = Buffer.alloc(roundUp(p.size, BLOCK));
  p.dirBlocks!.forEach((b, i) => {
    const base = i * BLOCK;
    let nameAt = b.children.length * DIRENT;
    b.children.forEach((c, j) => {
      const d = base + j * DIRENT;
      out.writeBigUInt64LE(BigInt(c.placed.nid), d);
      out.writeUInt16LE(nameAt, d + 8);
      out[d + 10] = FILE_TYPE[c.placed.node.type];
      c.name.copy(out, base + nameAt);
      nameAt += c.name.length;
    });
  });
  return out.subarray(0, p.size);
}

function extendedInode(meta: Buffer, at: number, p: Placed): void {
  const {node} = p;
  meta.writeUInt16LE(1 | ((p.inline ? LAYOUT.flatInline : LAYOUT.flatPlain) << 1), at); // i_format: extended, data layout
  meta.writeUInt16LE(0, at + 2); // no xattrs
  meta.writeUInt16LE(S_IF[node.type] | (node.mode & 0o7777), at + 4);
  meta.writeBigUInt64LE(BigInt(p.size), at + 8);
  meta.writeUInt32LE(p.blkaddr, at + 16);
  meta.writeUInt32LE(p.ino, at + 20);
  // uid and gid 0: the files are root's, as a package's are.
  meta.writeBigUInt64LE(BigInt(Math.max(0, node.mtime)), at + 32);
  const subdirs = p.children.filter((c) => c.node.type === 'dir').length;
  meta.writeUInt32LE(node.type === 'dir' ? 2 + subdirs : 1, at + 44);
}

function superblock(meta: Buffer, s: {rootNid: number; inodes: number; blocks: number; buildTime: number}): void {
  const at = SUPER_OFFSET;
  meta.writeUInt32LE(EROFS_MAGIC, at);
  meta[at + 12] = BLOCK_BITS;
  meta.writeUInt16LE(s.rootNid, at + 14);
  meta.writeBigUInt64LE(BigInt(s.inodes), at + 16);
  meta.writeBigUInt64LE(BigInt(Math.max(0, s.buildTime)), at + 24);
  meta.writeUInt32LE(s.blocks, at + 36);
  // meta_blkaddr 0: nids count from the image's start; no shared xattrs, uuid and name zero (reproducible).
}

function roundUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}
