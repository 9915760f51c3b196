import {existsSync} from 'node:fs';
import {basename, join} from 'node:path';
import {bufferSource} from '../../archive/byte-source.js';
import {parseOsRelease} from '../../content/os-release.js';
import {KhpkgError} from '../../errors.js';
import type {IndexFile, RepoFamily} from '../family.js';
import {ErofsReader} from './erofs-read.js';
import {EXTENSION_RELEASE_DIR} from './sysext.js';

const REPO_DIR = 'sysext';

/** An image's file name: its extension's name (which its extension-release must repeat), `.raw`. */
export const sysextFileName = (name: string): string => `${name}.raw`;

/**
 * An image's name in a repository: `<name>_<version>.raw` (SYSEXT_VERSION_ID), since
 * systemd-sysupdate tells revisions apart only by the `@v` of a file name, and a node picks its own
 * kernel's with `MatchPattern=linux-headers-%v_@v.raw` (packaging/sysupdate). Installed, it is
 * `<name>.raw` again (CurrentSymlink), the name its extension-release repeats.
 */
export const sysextRepoFileName = (name: string, version: string): string => `${name}_${version}.raw`;

/**
 * The system extensions of a repository, `sysext/<name>_<version>.raw`, with the `SHA256SUMS`
 * manifest (sha256sum's lines) that systemd-sysupdate reads, and `SHA256SUMS.gpg` beside it when
 * signed.
 */
export const sysextRepo: RepoFamily = {
  dir: REPO_DIR,
  packageFile: /\.raw$/,
  place: (p) => `${REPO_DIR}/${sysextRepoFileName(p.name, p.version)}`,
  async entry(bytes, filename, {mtimeMs, sha256}) {
    const reader = await ErofsReader.open(bufferSource(bytes, filename));
    const found = await extensionReleaseOf(reader);
    if (!found)
      throw new KhpkgError(
        'bad-input',
        `${basename(filename)} is an erofs image with no ${EXTENSION_RELEASE_DIR}/extension-release.* (not a system extension)`,
      );
    const version = found.fields.get('SYSEXT_VERSION_ID') ?? '0';
    const arch = found.fields.get('ARCHITECTURE') ?? 'any';
    return {format: 'sysext', filename, name: found.name, version, arch, group: found.name, size: bytes.length, mtimeMs, sha256, index: {}};
  },
  async indexes(images, ctx) {
    if (images.length === 0) return [];
    const sums = Buffer.from(images.map((p) => `${p.sha256}  ${basename(p.filename)}\n`).join(''));
    const out: IndexFile[] = [{path: `${REPO_DIR}/SHA256SUMS`, data: sums, last: true}];
    if (ctx.signer) out.push({path: `${REPO_DIR}/SHA256SUMS.gpg`, data: await ctx.signer.detach(sums, false), last: true});
    return out;
  },
  ownIndexes: async (top) => ['SHA256SUMS', 'SHA256SUMS.gpg'].map((f) => `${REPO_DIR}/${f}`).filter((f) => existsSync(join(top, f))),
};

/** The image's extension-release file: its name (what follows `extension-release.`) and its fields. */
export async function extensionReleaseOf(reader: ErofsReader): Promise<{name: string; fields: Map<string, string>} | undefined> {
  const names = await reader.list(EXTENSION_RELEASE_DIR);
  const file = names.find((n) => n.startsWith('extension-release.'));
  if (!file) return undefined;
  const text = (await reader.read(`${EXTENSION_RELEASE_DIR}/${file}`))?.toString('utf8') ?? '';
  const fields = new Map<string, string>();
  for (const m of text.matchAll(/^([A-Z_][A-Z0-9_]*)=(.*)$/gm)) fields.set(m[1]!, m[2]!.replace(/^(["'])(.*)\1$/, '$2'));
  // The fields are os-release's; an ID is what makes it one.
  if (!fields.has('ID')) parseOsRelease(text, file);
  return {name: file.slice('extension-release.'.length), fields};
}
