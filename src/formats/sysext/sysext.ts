import {join, posix} from 'node:path';
import type {ContentPlan, ExtraFile, PackageEntry} from '../../content/plan.js';
import type {PackageMeta} from '../../content/package-meta.js';
import {KhpkgError} from '../../errors.js';
import {DeferredSection, hashFileRange, writePackageFile} from '../output.js';
import type {Artifact, BuildInput, Packager, PackageSink} from '../writer.js';
import {writeErofs, type ErofsNode} from './erofs.js';

/** Where systemd-sysext looks for an extension's identity inside it. */
export const EXTENSION_RELEASE_DIR = 'usr/lib/extension-release.d';

/** The `extension-release.<name>` an image carries, with what it says. */
export function extensionRelease(meta: PackageMeta): {path: string; text: string} {
  const ext = meta.extension;
  if (!ext) throw new KhpkgError('internal', `${meta.name}: a system extension without extension-release fields`);
  // What it is, as a package's description says it (and the kheaders archive it was built from), in comments os-release allows.
  const lines = [meta.summary, ...meta.description].map((l) => `# ${l.replace(/\n/g, ' ')}`);
  lines.push(`ID=${ext.id}`);
  // systemd-sysext: SYSEXT_LEVEL where the host has one, else VERSION_ID; `_any` needs neither.
  if (ext.sysextLevel) lines.push(`SYSEXT_LEVEL=${ext.sysextLevel}`);
  else if (ext.versionId) lines.push(`VERSION_ID=${ext.versionId}`);
  lines.push(`ARCHITECTURE=${ext.architecture}`);
  // The extension's own version (os-release(5)), which the repository's index and --keep order by.
  lines.push(`SYSEXT_VERSION_ID=${meta.version}-${meta.release}`);
  return {path: `${EXTENSION_RELEASE_DIR}/extension-release.${meta.name}`, text: `${lines.join('\n')}\n`};
}

/**
 * A system extension only reaches `/usr` (and `/opt`): what a plan puts under `/lib` (the links in
 * `/lib/modules/<rel>`) goes to `/usr/lib`, where every host that merges extensions has it
 * (merged /usr), and a link to an absolute path becomes relative, so the image reads the same
 * mounted anywhere.
 */
export function toExtensionPath(path: string): string {
  return path === 'lib' || path.startsWith('lib/') ? `usr/${path}` : path;
}

function relativeTarget(path: string, target: string): string {
  return target.startsWith('/') ? posix.relative(posix.dirname(path), target.slice(1)) || '.' : target;
}

/**
 * `<name>.raw`: a systemd system extension image, an erofs file system written by khpkg (no mkfs on
 * the machine, the same bytes from the same input). The image's name is the extension's name,
 * which its `extension-release.<name>` must repeat. Content is spooled to an unlinked temp file as
 * the archive is read; the image is laid out and written once the whole tree is known.
 */
export const sysextPackager: Packager = {
  format: 'sysext',
  digests: [],
  async open(input: BuildInput) {
    if (input.compression !== 'none')
      throw new KhpkgError(
        'usage',
        `--compression ${input.compression} is not available for sysext: its erofs image is uncompressed, so every kernel reads it`,
      );
    if (!input.meta.extension) throw new KhpkgError('internal', 'a system extension needs its host (HeadersPackageOptions.host)');
    return SysextWriter.open(input);
  },
};

class SysextWriter implements PackageSink {
  private readonly at = new Map<string, number>();
  private written = 0;

  private constructor(
    private readonly input: BuildInput,
    private readonly spool: DeferredSection,
  ) {}

  static async open(input: BuildInput): Promise<SysextWriter> {
    return new SysextWriter(input, await DeferredSection.open(input.outDir, 'none', input.packagesAtOnce));
  }

  async add(e: PackageEntry, data: Buffer | undefined): Promise<void> {
    if (e.type !== 'file' || !data) return;
    this.at.set(e.path, this.written);
    await this.spool.write(data);
    this.written += data.length;
  }

  extras(): ExtraFile[] {
    const {path, text} = extensionRelease(this.input.meta);
    return [{path, data: Buffer.from(text), absolute: true}];
  }

  async finish(plan: ContentPlan): Promise<Artifact> {
    await this.spool.end();
    const nodes: ErofsNode[] = [];
    const seen = new Set<string>();
    for (const e of plan.entries) {
      const path = toExtensionPath(e.path);
      if (seen.has(path)) continue; // /lib/modules's dirs land on /usr/lib's
      seen.add(path);
      if (e.type === 'symlink')
        nodes.push({path, type: 'symlink', mode: e.mode, mtime: e.mtime, size: 0, linkTarget: relativeTarget(path, e.linkTarget ?? '')});
      else if (e.type === 'dir') nodes.push({path, type: 'dir', mode: e.mode, mtime: e.mtime, size: 0});
      else nodes.push({path, type: 'file', mode: e.mode, mtime: e.mtime, size: e.size, at: this.at.get(e.path)});
    }
    for (const n of nodes) if (n.type === 'symlink') n.size = Buffer.byteLength(n.linkTarget!);
    const {meta} = this.input;
    const path = join(this.input.outDir, `${meta.name}.raw`);
    let sha256 = '';
    const size = await writePackageFile(path, async (fh) => {
      const total = await writeErofs(fh, nodes, (at, length) => this.spool.read(at, length), plan.timestamp);
      sha256 = (await hashFileRange(fh, 'sha256', 0, total)).toString('hex');
      return total;
    });
    await this.spool.close();
    return {format: 'sysext', path, name: meta.name, version: `${meta.version}-${meta.release}`, arch: meta.arch, sha256, size};
  }

  async abort(): Promise<void> {
    await this.spool.close();
  }
}
