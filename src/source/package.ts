import type {ByteSource} from '../archive/byte-source.js';
import {KhpkgError} from '../errors.js';
import {HEADERS_ONLY_BUILD} from '../content/headers.js';
import type {PayloadItem} from '../formats/payload.js';
import {formatRow} from '../formats/table.js';
import {TAR_END, tarHeader, tarPadding} from '../formats/tar.js';
import type {Format} from '../formats/writer.js';

/** What a package khpkg built gives back: its header tree as a plain tar, its config, its origin. */
export interface PackagedTree {
  tar: Buffer;
  config?: Buffer;
  /** The sha256 of the kheaders archive the package was built from (its description says). */
  archiveSha256: string;
}

/** Where each layout puts the tree (content/headers.ts LAYOUTS): `usr/src/linux-headers-<rel>`, `usr/src/kernels/<rel>`, `usr/lib/modules/<rel>/build`. */
const TREE = /^(?:usr\/src\/(?:linux-headers-|kernels\/)([^/]+)|usr\/lib\/modules\/([^/]+)\/build)(?:\/(.*))?$/;
const SHA = /Built from the kheaders archive with sha256\s+([0-9a-f]{64})/;

/** The kheaders archive a package khpkg built names in its description; undefined for anyone else's package. */
export function builtFromArchive(description: string | undefined): string | undefined {
  return SHA.exec((description ?? '').replace(/\n/g, ' '))?.[1];
}

/**
 * Reads a .deb or .rpm that `khpkg build` made, without dpkg or rpm, and gives back the archive's
 * tree: what was packaged, minus what khpkg added (.config, auto.conf, the Makefile stub, a headers-only tree's links), which
 * the install makes again. The tree then passes the same validation as any archive.
 */
export async function treeFromPackage(source: ByteSource, format: Format): Promise<PackagedTree> {
  try {
    const row = formatRow(format);
    const archiveSha256 = builtFromArchive((await row.summary(source, false)).description);
    if (!archiveSha256) throw new KhpkgError('bad-input', `this .${format} was not built by khpkg (its description names no kheaders archive)`);
    return await treeOf(await row.payload(source), archiveSha256);
  } catch (e) {
    if (e instanceof KhpkgError) throw e;
    throw new KhpkgError('bad-input', `the ${format} package is damaged (${(e as Error).message})`);
  }
}

/** The entries under the header tree, renamed to the archive's `./...`, extras taken out. */
async function treeOf(items: AsyncIterable<PayloadItem>, archiveSha256: string): Promise<PackagedTree> {
  const parts: Buffer[] = [];
  let config: Buffer | undefined;
  let rootSeen = false;
  for await (const {entry: e, body} of items) {
    const m = TREE.exec(e.path.replace(/\/$/, ''));
    if (!m) continue;
    const rel = m[3] ?? '';
    const data = e.type === 'file' ? await body() : undefined;
    if (rel === '.config') {
      config = data;
      continue;
    }
    if (rel === 'include/config' || rel.startsWith('include/config/')) continue;
    if (rel === 'Makefile' && data?.subarray(0, 15).toString() === '# Made by khpkg') continue;
    // A headers-only tree's build dir and its <linux/version.h> link (content/headers.ts): made again by the install.
    if (rel === HEADERS_ONLY_BUILD || rel.startsWith(`${HEADERS_ONLY_BUILD}/`)) continue;
    if (rel === 'include/linux/version.h' && e.type === 'symlink' && e.linkTarget === '../generated/uapi/linux/version.h') continue;
    if (rel === '') {
      // The tree's own dir; a `build` link to it (an extension's /usr/lib/modules/<rel>/build, read before /usr/src) is not the tree.
      if (rootSeen || e.type !== 'dir') continue;
      rootSeen = true;
    }
    parts.push(tarHeader({path: rel, type: e.type, mode: e.mode, mtime: e.mtime, size: data?.length ?? 0, linkTarget: e.linkTarget}));
    if (e.type === 'file' && data) parts.push(data, tarPadding(data.length));
  }
  if (parts.length === 0) throw new KhpkgError('bad-input', 'the package holds no header tree (under /usr/src or /usr/lib/modules/<release>/build)');
  parts.push(TAR_END);
  return {tar: Buffer.concat(parts), config, archiveSha256};
}
