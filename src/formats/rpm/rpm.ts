import {createHash, type Hash} from 'node:crypto';
import {join, posix} from 'node:path';
import {KhpkgError} from '../../errors.js';
import type {ContentPlan, ExtraFile, PackageEntry} from '../../content/plan.js';
import type {PackageMeta} from '../../content/package-meta.js';
import type {Compression} from '../compression.js';
import {DeferredSection, hashFileRange, writePackageFile} from '../output.js';
import type {Artifact, BuildInput, Packager, PackageSink} from '../writer.js';
import {CPIO_TRAILER, cpioHeader, cpioPadding} from './cpio.js';
import {bin, headerBytes, i18n, int16, int32, str, strArray, type TagValue} from './header.js';
import {rpmDependency, rpmIdentity, rpmlibRequires, type Dependency, type RpmIdentity} from './identity.js';
import {lead, LEAD_SIZE} from './lead.js';
import {HASH_SHA256, HEADER_IMMUTABLE, HEADER_SIGNATURES, SIG, TAG} from './tags.js';

/** rpm's names for payload compressors, and the level recorded in PAYLOADFLAGS. */
const COMPRESSOR: Record<Compression, {name: string; flags: string} | undefined> = {
  xz: {name: 'xz', flags: '6'},
  zstd: {name: 'zstd', flags: '3'},
  gzip: {name: 'gzip', flags: '9'},
  none: undefined,
};

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const TYPE_BITS = {dir: S_IFDIR, file: S_IFREG, symlink: S_IFLNK} as const;

/** <name>-<version>-<release>.<arch>.rpm, written without rpmbuild. */
export const rpmPackager: Packager = {
  format: 'rpm',
  digests: ['sha256'],
  async open(input: BuildInput) {
    const compressor = COMPRESSOR[input.compression];
    if (!compressor) throw new KhpkgError('usage', `--compression ${input.compression} is not available for rpm (xz, zstd or gzip)`);
    return RpmWriter.open(input, rpmIdentity(input.meta), compressor);
  },
};

/**
 * The cpio payload is compressed as entries arrive, into a temp file (DeferredSection): the header
 * that precedes it lists every file's digest, known only at the end. Then the lead, signature and
 * header are written, the payload copied in behind them, and the file renamed into place.
 */
class RpmWriter implements PackageSink {
  private readonly cpioHash: Hash = createHash('sha256');
  private cpioBytes = 0;
  /** cpio inode numbers in the order entries arrive; the header lists the same ones. */
  private readonly inodes = new Map<string, number>();

  private constructor(
    private readonly input: BuildInput,
    private readonly id: RpmIdentity,
    private readonly compressor: {name: string; flags: string},
    private readonly payload: DeferredSection,
  ) {}

  static async open(input: BuildInput, id: RpmIdentity, compressor: {name: string; flags: string}): Promise<RpmWriter> {
    const payload = await DeferredSection.open(input.outDir, input.compression, input.packagesAtOnce, {digest: true});
    return new RpmWriter(input, id, compressor, payload);
  }

  async add(e: PackageEntry, data: Buffer | undefined): Promise<void> {
    if (e.shared) return; // a shared system directory: not ours to own
    const ino = this.inodes.size + 1;
    this.inodes.set(e.path, ino);
    const body = e.type === 'symlink' ? Buffer.from(e.linkTarget ?? '') : e.type === 'file' ? (data ?? Buffer.alloc(0)) : undefined;
    const size = body?.length ?? 0;
    await this.write(cpioHeader({name: `./${e.path}`, ino, mode: TYPE_BITS[e.type] | e.mode, mtime: e.mtime, size, nlink: e.type === 'dir' ? 2 : 1}));
    if (body && size > 0) {
      await this.write(body);
      const pad = cpioPadding(size);
      if (pad.length > 0) await this.write(pad);
    }
  }

  extras(): ExtraFile[] {
    return [];
  }

  private async write(b: Buffer): Promise<void> {
    this.cpioHash.update(b);
    this.cpioBytes += b.length;
    await this.payload.write(b);
  }

  async finish(plan: ContentPlan): Promise<Artifact> {
    await this.write(CPIO_TRAILER);
    const {size, sha256} = await this.payload.end();
    // rpm looks files up by binary search: the header lists them sorted by path.
    const files = plan.entries.filter((e) => !e.shared).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const inodes = files.map((f) => this.inodes.get(f.path) ?? 0);
    if (inodes.includes(0) || files.length !== this.inodes.size) throw new KhpkgError('internal', 'the rpm header and payload list different files');
    const header = headerBytes(
      HEADER_IMMUTABLE,
      mainTags(this.id, this.input, plan, files, inodes, this.compressor, {payload: sha256!, payloadAlt: this.cpioHash.digest('hex')}),
    );
    const path = join(this.input.outDir, `${this.id.name}-${this.id.version}-${this.id.release}.${this.id.arch}.rpm`);
    let fileSha256 = '';
    const total = await writePackageFile(path, async (fh) => {
      const sigFor = (md5: Buffer): Buffer =>
        signatureBytes({
          headerAndPayload: header.length + size,
          md5,
          sha1: createHash('sha1').update(header).digest('hex'),
          sha256: createHash('sha256').update(header).digest('hex'),
          archiveSize: this.cpioBytes,
        });
      // The signature's size does not depend on its digests' values: the payload goes in behind it first.
      const payloadAt = LEAD_SIZE + sigFor(Buffer.alloc(16)).length + header.length;
      const md5 = createHash('md5').update(header);
      await this.payload.copyTo(fh, payloadAt, size, [md5]);
      const front = Buffer.concat([lead(`${this.id.name}-${this.id.version}-${this.id.release}`), sigFor(md5.digest()), header]);
      if (front.length !== payloadAt) throw new KhpkgError('internal', 'rpm signature and header do not fill their room');
      await fh.write(front, 0, front.length, 0);
      fileSha256 = (await hashFileRange(fh, 'sha256', 0, payloadAt + size)).toString('hex');
      return payloadAt + size;
    });
    await this.payload.close();
    return {format: 'rpm', path, name: this.id.name, version: `${this.id.version}-${this.id.release}`, arch: this.id.arch, sha256: fileSha256, size: total};
  }

  async abort(): Promise<void> {
    await this.payload.close();
  }
}

/** %post, %preun and %postun, each run by /bin/sh. */
function scriptTags(meta: PackageMeta): [number, TagValue][] {
  const {postInstall, preRemove, postRemove} = meta.scripts;
  const scripts: [number, number, string | undefined][] = [
    [TAG.POSTIN, TAG.POSTINPROG, postInstall],
    [TAG.PREUN, TAG.PREUNPROG, preRemove],
    [TAG.POSTUN, TAG.POSTUNPROG, postRemove],
  ];
  return scripts.flatMap(([tag, prog, text]): [number, TagValue][] =>
    text === undefined
      ? []
      : [
          [tag, str(text)],
          [prog, str('/bin/sh')],
        ],
  );
}

function payloadSize(e: PackageEntry): number {
  return e.type === 'symlink' ? Buffer.byteLength(e.linkTarget ?? '') : e.type === 'file' ? e.size : 0;
}

/** The signature header: sizes and digests of what follows, padded to 8 bytes as rpm expects. */
function signatureBytes(s: {headerAndPayload: number; md5: Buffer; sha1: string; sha256: string; archiveSize: number}): Buffer {
  const tags = new Map<number, TagValue>([
    [SIG.SIZE, int32([s.headerAndPayload])],
    [SIG.MD5, bin(s.md5)],
    [SIG.PAYLOADSIZE, int32([s.archiveSize])],
    [SIG.SHA1, str(s.sha1)],
    [SIG.SHA256, str(s.sha256)],
  ]);
  const h = headerBytes(HEADER_SIGNATURES, tags);
  return Buffer.concat([h, Buffer.alloc((8 - (h.length % 8)) % 8)]);
}

function mainTags(
  id: RpmIdentity,
  input: BuildInput,
  plan: ContentPlan,
  files: PackageEntry[],
  inodes: number[],
  compressor: {name: string; flags: string},
  digests: {payload: string; payloadAlt: string},
): Map<number, TagValue> {
  const meta = input.meta;
  const dirs: string[] = [];
  const dirIndex = new Map<string, number>();
  const dirIndexes: number[] = [];
  const basenames: string[] = [];
  for (const f of files) {
    const dir = `/${posix.dirname(f.path)}/`.replace(/^\/\.\/$/, '/');
    if (!dirIndex.has(dir)) {
      dirIndex.set(dir, dirs.length);
      dirs.push(dir);
    }
    dirIndexes.push(dirIndex.get(dir)!);
    basenames.push(posix.basename(f.path));
  }
  const requires = [...meta.depends.map(rpmDependency), ...rpmlibRequires(compressor.name)];
  const n = files.length;
  const each = <T>(v: T): T[] => new Array<T>(n).fill(v);
  return new Map<number, TagValue>([
    [TAG.HEADERI18NTABLE, strArray(['C'])],
    [TAG.NAME, str(id.name)],
    [TAG.VERSION, str(id.version)],
    [TAG.RELEASE, str(id.release)],
    [TAG.SUMMARY, i18n(meta.summary)],
    [TAG.DESCRIPTION, i18n(meta.description.join('\n\n'))],
    [TAG.BUILDTIME, int32([plan.timestamp])],
    // The real host would make builds differ from machine to machine.
    [TAG.BUILDHOST, str('khpkg')],
    [TAG.SIZE, int32([files.reduce((s, f) => s + payloadSize(f), 0)])],
    [TAG.LICENSE, str(meta.license)],
    [TAG.PACKAGER, str(meta.maintainer)],
    [TAG.GROUP, i18n(meta.section)],
    [TAG.URL, str(meta.homepage)],
    [TAG.OS, str('linux')],
    [TAG.ARCH, str(id.arch)],
    [TAG.FILESIZES, int32(files.map((f) => (f.type === 'dir' ? 4096 : payloadSize(f))))],
    [TAG.FILEMODES, int16(files.map((f) => TYPE_BITS[f.type] | f.mode))],
    [TAG.FILERDEVS, int16(each(0))],
    [TAG.FILEMTIMES, int32(files.map((f) => f.mtime))],
    [TAG.FILEDIGESTS, strArray(files.map((f) => (f.type === 'file' ? f.sha256! : '')))],
    [TAG.FILELINKTOS, strArray(files.map((f) => (f.type === 'symlink' ? f.linkTarget! : '')))],
    [TAG.FILEFLAGS, int32(each(0))],
    [TAG.FILEUSERNAME, strArray(each('root'))],
    [TAG.FILEGROUPNAME, strArray(each('root'))],
    [TAG.SOURCERPM, str(`${id.name}-${id.version}-${id.release}.src.rpm`)],
    [TAG.FILEVERIFYFLAGS, int32(each(0xffffffff))],
    [TAG.PROVIDENAME, strArray(id.provides.map((p) => p.name))],
    [TAG.REQUIREFLAGS, int32(requires.map((r) => r.flags))],
    [TAG.REQUIRENAME, strArray(requires.map((r) => r.name))],
    [TAG.REQUIREVERSION, strArray(requires.map((r) => r.version))],
    [TAG.RPMVERSION, str('4.18.0 (khpkg)')],
    ...scriptTags(meta),
    [TAG.FILEDEVICES, int32(each(1))],
    [TAG.FILEINODES, int32(inodes)],
    [TAG.FILELANGS, strArray(each(''))],
    [TAG.PROVIDEFLAGS, int32(id.provides.map((p: Dependency) => p.flags))],
    [TAG.PROVIDEVERSION, strArray(id.provides.map((p) => p.version))],
    [TAG.DIRINDEXES, int32(dirIndexes)],
    [TAG.BASENAMES, strArray(basenames)],
    [TAG.DIRNAMES, strArray(dirs)],
    [TAG.PAYLOADFORMAT, str('cpio')],
    [TAG.PAYLOADCOMPRESSOR, str(compressor.name)],
    [TAG.PAYLOADFLAGS, str(compressor.flags)],
    [TAG.FILEDIGESTALGO, int32([HASH_SHA256])],
    [TAG.ENCODING, str('utf-8')],
    [TAG.PAYLOADDIGEST, strArray([digests.payload])],
    [TAG.PAYLOADDIGESTALGO, int32([HASH_SHA256])],
    [TAG.PAYLOADDIGESTALT, strArray([digests.payloadAlt])],
  ]);
}
