import {createHash} from 'node:crypto';
import {join} from 'node:path';
import type {ContentPlan, ExtraFile, PackageEntry} from '../../content/plan.js';
import {compressBuffer, SUFFIX} from '../compression.js';
import {khpkgVersion} from '../../content/templates.js';
import {KhpkgError} from '../../errors.js';
import {DeferredSection, writePackageFile} from '../output.js';
import {TAR_END, tarHeader, tarPadding} from '../tar.js';
import type {Artifact, BuildInput, Packager, PackageSink} from '../writer.js';
import {buildinfo, mtree, pacmanIdentity, pkginfo, type PacmanIdentity} from './info.js';

/** The program that made the package, as .PKGINFO's first line and .BUILDINFO's buildtool say. */
const TOOL = 'khpkg';

/**
 * `<name>-<pkgver>-<pkgrel>-<arch>.pkg.tar.zst`, written without makepkg or bsdtar: one tar of
 * `.BUILDINFO`, `.MTREE`, `.PKGINFO` (first, as makepkg orders them) and the tree, compressed as two
 * zstd frames one after the other, which every zstd reader (libarchive's, pacman's) reads as one
 * stream. The tree's frame is compressed as the archive is read, into a temp file; the metadata's
 * frame, which lists every file's digests, is made at the end and written first.
 */
export const pacmanPackager: Packager = {
  format: 'pacman',
  digests: ['md5', 'sha256'],
  async open(input: BuildInput) {
    return PacmanWriter.open(input, pacmanIdentity(input.meta));
  },
};

class PacmanWriter implements PackageSink {
  private constructor(
    private readonly input: BuildInput,
    private readonly id: PacmanIdentity,
    private readonly data: DeferredSection,
  ) {}

  static async open(input: BuildInput, id: PacmanIdentity): Promise<PacmanWriter> {
    if (input.compression === 'none') throw new KhpkgError('usage', '--compression none is not available for pacman (zstd, xz or gzip)');
    return new PacmanWriter(input, id, await DeferredSection.open(input.outDir, input.compression, input.packagesAtOnce));
  }

  async add(e: PackageEntry, data: Buffer | undefined): Promise<void> {
    await this.data.write(tarHeader(e, {plain: true}));
    if (e.type === 'file' && data) {
      await this.data.write(data);
      const pad = tarPadding(data.length);
      if (pad.length > 0) await this.data.write(pad);
    }
  }

  extras(): ExtraFile[] {
    return [];
  }

  async finish(plan: ContentPlan): Promise<Artifact> {
    await this.data.write(TAR_END);
    const {size} = await this.data.end();
    const t = plan.timestamp;
    const version = khpkgVersion();
    const info = pkginfo(this.id, this.input.meta, plan.entries, t, `${TOOL} ${version}`);
    const build = buildinfo(this.id, this.input.meta, t, TOOL, version);
    const file = (path: string, bytes: Buffer) => ({
      path,
      type: 'file' as const,
      mode: 0o644,
      mtime: t,
      size: bytes.length,
      md5: md5(bytes),
      sha256: sha256(bytes),
    });
    const listed = [file('.BUILDINFO', build), file('.PKGINFO', info), ...plan.entries];
    const tree = mtree(listed);
    const head: Buffer[] = [];
    for (const [path, bytes] of [
      ['.BUILDINFO', build],
      ['.MTREE', tree],
      ['.PKGINFO', info],
    ] as const) {
      head.push(tarHeader({path, type: 'file', mode: 0o644, mtime: t, size: bytes.length}, {plain: true}), bytes, tarPadding(bytes.length));
    }
    const first = await compressBuffer(this.input.compression, Buffer.concat(head));
    const path = join(this.input.outDir, `${this.id.name}-${this.id.version}-${this.id.arch}.pkg.tar${SUFFIX[this.input.compression]}`);
    const hash = createHash('sha256').update(first);
    const total = await writePackageFile(path, async (fh) => {
      await fh.write(first, 0, first.length, 0);
      await this.data.copyTo(fh, first.length, size, [hash]);
      return first.length + size;
    });
    await this.data.close();
    return {format: 'pacman', path, name: this.id.name, version: this.id.version, arch: this.id.arch, sha256: hash.digest('hex'), size: total};
  }

  async abort(): Promise<void> {
    await this.data.close();
  }
}

const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
