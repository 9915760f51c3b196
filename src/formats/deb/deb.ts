import {open, rename, rm, type FileHandle} from 'node:fs/promises';
import {join} from 'node:path';
import {gzipSync, constants} from 'node:zlib';
import {headersPlan} from '../../content/headers.js';
import type {ContentPlan, PackageEntry} from '../../content/plan.js';
import {compressBuffer, createCompressor, inputQueueBytes, SUFFIX, type Compression} from '../compression.js';
import {CompressedSection, hashFileRange} from '../output.js';
import {renderTemplate} from '../../content/templates.js';
import type {Artifact, BuildInput, Packager, PackageSink} from '../writer.js';
import {AR_MAGIC, AR_SIZE_OFFSET, arHeader, arMember, arSizeField} from './ar.js';
import {controlParagraph, debIdentity, md5sums, postinst, type DebIdentity} from './control.js';
import {TAR_END, tarHeader, tarPadding, type TarMember} from './tar.js';

/** linux-headers-<release>_<version>_<arch>.deb, written without dpkg-deb (Android has none). */
export const debPackager: Packager = {
  format: 'deb',
  async prepare(input: BuildInput) {
    const id = debIdentity(input);
    const {info} = input.scan;
    const builder = headersPlan(input.scan, 'debian', input.config, input.time, input.kit);
    const doc = `usr/share/doc/${id.name}`;
    builder.addExtra({path: `${doc}/copyright`, data: Buffer.from(renderTemplate('deb/copyright', {RELEASE: info.release})), absolute: true});
    builder.addExtra({path: `${doc}/changelog.Debian.gz`, data: changelog(id, input), absolute: true});
    const plan = builder.build();
    const control = await controlArchive(id, input, plan);
    const path = join(input.outDir, `${id.name}_${id.version}_${id.arch}.deb`);
    const sink = await DebWriter.open(path, id, control, input.compression, input.packagesAtOnce, plan.timestamp);
    return {plan, sink};
  },
};

/** changelog.Debian.gz as `gzip -9n` makes it: no name, no time, so builds stay identical. */
function changelog(id: DebIdentity, input: BuildInput): Buffer {
  const date = new Date(input.time.timestamp * 1000).toUTCString().replace('GMT', '+0000');
  const text = renderTemplate('deb/changelog', {
    PACKAGE: id.name,
    VERSION: id.version,
    RELEASE: input.scan.info.release,
    SHA256: input.scan.info.sha256,
    MAINTAINER: input.maintainer,
    DATE: date,
  });
  return gzipSync(text, {level: constants.Z_BEST_COMPRESSION});
}

async function controlArchive(id: DebIdentity, input: BuildInput, plan: ContentPlan): Promise<{name: string; bytes: Buffer}> {
  const t = plan.timestamp;
  const members: [TarMember, Buffer?][] = [
    [{path: '', type: 'dir', mode: 0o755, mtime: t, size: 0}],
    ...(
      [
        ['control', Buffer.from(controlParagraph(id, input, plan.entries).toString()), 0o644],
        ['md5sums', md5sums(plan.entries), 0o644],
        ['postinst', postinst(id, input.scan.info.release), 0o755],
      ] as const
    ).map(([path, data, mode]): [TarMember, Buffer] => [{path, type: 'file', mode, mtime: t, size: data.length}, data]),
  ];
  const parts: Buffer[] = [];
  for (const [m, data] of members) {
    parts.push(tarHeader(m));
    if (data) parts.push(data, tarPadding(data.length));
  }
  parts.push(TAR_END);
  return {name: `control.tar${SUFFIX[input.compression]}`, bytes: await compressBuffer(input.compression, Buffer.concat(parts))};
}

/**
 * Streams data.tar through the compressor straight into the ar member; the member's size is patched
 * into its header at the end, so the compressed data is never held in memory. Written to a hidden
 * temp name and renamed into place only when complete.
 */
class DebWriter implements PackageSink {
  private constructor(
    private readonly path: string,
    private readonly tmp: string,
    private readonly id: DebIdentity,
    private readonly fh: FileHandle,
    private readonly dataHeaderAt: number,
    private readonly data: CompressedSection,
  ) {}

  static async open(path: string, id: DebIdentity, control: {name: string; bytes: Buffer}, compression: Compression, sharing: number, mtime: number): Promise<DebWriter> {
    const tmp = `${path}.partial-${process.pid}`;
    const fh = await open(tmp, 'w+', 0o644);
    try {
      const head = Buffer.concat([AR_MAGIC, arMember('debian-binary', Buffer.from('2.0\n'), mtime), arMember(control.name, control.bytes, mtime)]);
      const dataHeader = arHeader(`data.tar${SUFFIX[compression]}`, 0, mtime);
      await fh.write(Buffer.concat([head, dataHeader]), 0, head.length + dataHeader.length, 0);
      const section = new CompressedSection(await createCompressor(compression, sharing), fh, head.length + dataHeader.length, {maxQueued: inputQueueBytes(compression, sharing)});
      const writer = new DebWriter(path, tmp, id, fh, head.length, section);
      await section.write(tarHeader({path: '', type: 'dir', mode: 0o755, mtime, size: 0}));
      return writer;
    } catch (e) {
      await fh.close().catch(() => undefined);
      await rm(tmp, {force: true});
      throw e;
    }
  }

  async add(e: PackageEntry, data: Buffer | undefined): Promise<void> {
    await this.data.write(tarHeader(e));
    if (e.type === 'file' && data) {
      await this.data.write(data);
      const pad = tarPadding(data.length);
      if (pad.length > 0) await this.data.write(pad);
    }
  }

  async finish(): Promise<Artifact> {
    await this.data.write(TAR_END);
    const {size} = await this.data.end();
    await this.fh.write(arSizeField(size), 0, 10, this.dataHeaderAt + AR_SIZE_OFFSET);
    const end = this.dataHeaderAt + 60 + size;
    if (size % 2 === 1) await this.fh.write(Buffer.from('\n'), 0, 1, end);
    await this.fh.sync();
    const total = end + (size % 2);
    const fileSha256 = (await hashFileRange(this.fh, 'sha256', 0, total)).toString('hex');
    await this.fh.close();
    await rename(this.tmp, this.path);
    return {
      format: 'deb',
      path: this.path,
      name: this.id.name,
      version: this.id.version,
      arch: this.id.arch,
      sha256: fileSha256,
      size: total,
    };
  }

  async abort(): Promise<void> {
    this.data.destroy();
    await this.fh.close().catch(() => undefined);
    await rm(this.tmp, {force: true});
  }
}
