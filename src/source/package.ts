import {KhpkgError} from '../errors.js';
import {decompressAll} from '../archive/compression.js';
import {readTar} from '../archive/tar.js';
import {readAr} from '../formats/deb/ar.js';
import {parseParagraphs} from '../formats/deb/deb822.js';
import {TAR_END, tarHeader, tarPadding} from '../formats/deb/tar.js';
import {readCpio} from '../formats/rpm/cpio.js';
import {readHeader} from '../formats/rpm/header.js';
import {TAG} from '../formats/rpm/tags.js';
import type {EntryType} from '../archive/entry.js';

/** What a package khpkg built gives back: its header tree as a plain tar, its config, its origin. */
export interface PackagedTree {
  tar: Buffer;
  config?: Buffer;
  /** The sha256 of the kheaders archive the package was built from (its description says). */
  archiveSha256: string;
}

interface TreeEntry {
  path: string;
  type: EntryType;
  mode: number;
  mtime: number;
  data?: Buffer;
  linkTarget?: string;
}

const TREE = /^usr\/src\/(?:linux-headers-|kernels\/)([^/]+)(?:\/(.*))?$/;
const SHA = /Built from the kheaders archive with sha256\s+([0-9a-f]{64})/;

/**
 * Reads a .deb or .rpm that `khpkg build` made, without dpkg or rpm, and gives back the archive's
 * tree: what was packaged, minus what khpkg added (.config, auto.conf, the Makefile stub), which
 * the install makes again. The tree then passes the same validation as any archive.
 */
export async function treeFromPackage(bytes: Buffer, format: 'deb' | 'rpm', maxBytes: number): Promise<PackagedTree> {
  try {
    return format === 'deb' ? await fromDeb(bytes, maxBytes) : await fromRpm(bytes, maxBytes);
  } catch (e) {
    if (e instanceof KhpkgError) throw e;
    throw new KhpkgError('bad-input', `the ${format} package is damaged (${(e as Error).message})`);
  }
}

async function fromDeb(bytes: Buffer, maxBytes: number): Promise<PackagedTree> {
  const members = readAr(bytes);
  const member = (prefix: string): Buffer => {
    const name = [...members.keys()].find((k) => k.startsWith(prefix));
    if (!name) throw new KhpkgError('bad-input', `the deb has no ${prefix}* member`);
    return members.get(name)!;
  };
  const control = await tarEntries(await decompressAll(member('control.tar'), maxBytes));
  const fields = parseParagraphs(control.find((e) => e.path === 'control')?.data?.toString('utf8') ?? '')[0];
  const archiveSha256 = SHA.exec((fields?.get('Description') ?? '').replace(/\n/g, ' '))?.[1];
  if (!archiveSha256) throw new KhpkgError('bad-input', 'this .deb was not built by khpkg (its description names no kheaders archive)');
  return treeOf(await tarEntries(await decompressAll(member('data.tar'), maxBytes)), archiveSha256);
}

async function fromRpm(bytes: Buffer, maxBytes: number): Promise<PackagedTree> {
  const sig = readHeader(bytes, 96);
  const mainAt = 96 + sig.length + ((8 - (sig.length % 8)) % 8);
  const main = readHeader(bytes, mainAt);
  const archiveSha256 = SHA.exec((main.string(TAG.DESCRIPTION) ?? '').replace(/\n/g, ' '))?.[1];
  if (!archiveSha256) throw new KhpkgError('bad-input', 'this .rpm was not built by khpkg (its description names no kheaders archive)');
  const cpio = readCpio(await decompressAll(bytes.subarray(mainAt + main.length), maxBytes));
  const entries = cpio.map((c): TreeEntry => {
    const kind = c.mode & 0o170000;
    const type: EntryType = kind === 0o040000 ? 'dir' : kind === 0o120000 ? 'symlink' : 'file';
    return {path: c.name.replace(/^\.\//, ''), type, mode: c.mode & 0o7777, mtime: c.mtime, data: type === 'file' ? c.data : undefined, linkTarget: type === 'symlink' ? c.data.toString('utf8') : undefined};
  });
  return treeOf(entries, archiveSha256);
}

/** The entries under the header tree, renamed to the archive's `./...`, extras taken out. */
function treeOf(entries: TreeEntry[], archiveSha256: string): PackagedTree {
  const parts: Buffer[] = [];
  let config: Buffer | undefined;
  let rootSeen = false;
  for (const e of entries) {
    const m = TREE.exec(e.path.replace(/\/$/, ''));
    if (!m) continue;
    const rel = m[2] ?? '';
    if (rel === '.config') {
      config = e.data;
      continue;
    }
    if (rel === 'include/config' || rel.startsWith('include/config/')) continue;
    if (rel === 'Makefile' && e.data?.subarray(0, 15).toString() === '# Made by khpkg') continue;
    if (rel === '') {
      if (rootSeen) continue;
      rootSeen = true;
    }
    parts.push(tarHeader({path: rel, type: e.type, mode: e.mode, mtime: e.mtime, size: e.data?.length ?? 0, linkTarget: e.linkTarget}));
    if (e.type === 'file' && e.data) parts.push(e.data, tarPadding(e.data.length));
  }
  if (parts.length === 0) throw new KhpkgError('bad-input', 'the package holds no header tree under /usr/src');
  parts.push(TAR_END);
  return {tar: Buffer.concat(parts), config, archiveSha256};
}

async function tarEntries(bytes: Buffer): Promise<TreeEntry[]> {
  const out: TreeEntry[] = [];
  for await (const item of readTar([bytes])) {
    const h = item.header;
    const type: EntryType = h.type === 'directory' ? 'dir' : h.type === 'symlink' ? 'symlink' : 'file';
    out.push({
      path: Buffer.from(h.rawName, 'latin1').toString('utf8').replace(/^\.\//, '').replace(/\/$/, ''),
      type,
      mode: h.mode & 0o7777,
      mtime: h.mtime,
      data: type === 'file' ? await item.body() : undefined,
      linkTarget: h.linkname == null ? undefined : Buffer.from(h.linkname, 'latin1').toString('utf8'),
    });
  }
  return out;
}
