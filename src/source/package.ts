import {KhpkgError} from '../errors.js';
import {DebReader, type PayloadEntry} from '../formats/deb/read.js';
import {TAR_END, tarHeader, tarPadding} from '../formats/deb/tar.js';
import {RpmReader} from '../formats/rpm/read.js';
import {TAG} from '../formats/rpm/tags.js';

/** What a package khpkg built gives back: its header tree as a plain tar, its config, its origin. */
export interface PackagedTree {
  tar: Buffer;
  config?: Buffer;
  /** The sha256 of the kheaders archive the package was built from (its description says). */
  archiveSha256: string;
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
  const deb = new DebReader(bytes);
  const archiveSha256 = SHA.exec(((await deb.control(maxBytes)).get('Description') ?? '').replace(/\n/g, ' '))?.[1];
  if (!archiveSha256) throw new KhpkgError('bad-input', 'this .deb was not built by khpkg (its description names no kheaders archive)');
  return treeOf(await deb.data(maxBytes), archiveSha256);
}

async function fromRpm(bytes: Buffer, maxBytes: number): Promise<PackagedTree> {
  const rpm = new RpmReader(bytes);
  const archiveSha256 = SHA.exec((rpm.header.string(TAG.DESCRIPTION) ?? '').replace(/\n/g, ' '))?.[1];
  if (!archiveSha256) throw new KhpkgError('bad-input', 'this .rpm was not built by khpkg (its description names no kheaders archive)');
  return treeOf(await rpm.payload(maxBytes), archiveSha256);
}

/** The entries under the header tree, renamed to the archive's `./...`, extras taken out. */
function treeOf(entries: PayloadEntry[], archiveSha256: string): PackagedTree {
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
