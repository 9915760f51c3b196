import {createHash} from 'node:crypto';
import {join} from 'node:path';
import {gzipSync, constants} from 'node:zlib';
import type {ContentPlan, ExtraFile, PackageEntry} from '../../content/plan.js';
import {compressBuffer, SUFFIX} from '../compression.js';
import {DeferredSection, writePackageFile} from '../output.js';
import {renderTemplate} from '../../content/templates.js';
import type {Artifact, BuildInput, Packager, PackageSink} from '../writer.js';
import {AR_MAGIC, arHeader, arMember} from './ar.js';
import {controlParagraph, debIdentity, maintainerScripts, md5sums, type DebIdentity} from './control.js';
import {TAR_END, tarHeader, tarPadding, type TarMember} from '../tar.js';

/** <name>_<version>_<arch>.deb, written without dpkg-deb (Android has none). */
export const debPackager: Packager = {
  format: 'deb',
  digests: ['md5'],
  async open(input: BuildInput) {
    return DebWriter.open(input, debIdentity(input.meta));
  },
};

/** changelog.Debian.gz as `gzip -9n` makes it: no name, no time, so builds stay identical. */
function changelog(id: DebIdentity, input: BuildInput, timestamp: number): Buffer {
  const date = new Date(timestamp * 1000).toUTCString().replace('GMT', '+0000');
  const changes = (input.meta.changes ?? `* Packaged by khpkg.`).trimEnd().replace(/^/gm, '  ');
  const text = renderTemplate('deb/changelog', {PACKAGE: id.name, VERSION: id.version, CHANGES: changes, MAINTAINER: input.meta.maintainer, DATE: date});
  return gzipSync(text, {level: constants.Z_BEST_COMPRESSION});
}

async function controlArchive(id: DebIdentity, input: BuildInput, plan: ContentPlan): Promise<{name: string; bytes: Buffer}> {
  const t = plan.timestamp;
  const members: [TarMember, Buffer?][] = [
    [{path: '', type: 'dir', mode: 0o755, mtime: t, size: 0}],
    ...(
      [
        ['control', Buffer.from(controlParagraph(id, input.meta, plan.entries).toString()), 0o644],
        ['md5sums', md5sums(plan.entries), 0o644],
        ...maintainerScripts(input.meta).map(([name, text]) => [name, text, 0o755] as const),
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
 * Streams data.tar through the compressor as entries arrive, into a temp file (DeferredSection):
 * the control member that precedes it lists every file's md5, known only at the end. Then the
 * package is written whole, under a hidden temp name renamed into place only when complete.
 */
class DebWriter implements PackageSink {
  private constructor(
    private readonly input: BuildInput,
    private readonly id: DebIdentity,
    private readonly data: DeferredSection,
  ) {}

  static async open(input: BuildInput, id: DebIdentity): Promise<DebWriter> {
    const data = await DeferredSection.open(input.outDir, input.compression, input.packagesAtOnce);
    const writer = new DebWriter(input, id, data);
    try {
      await data.write(tarHeader({path: '', type: 'dir', mode: 0o755, mtime: input.time.tree, size: 0}));
      return writer;
    } catch (e) {
      await data.close();
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

  extras(timestamp: number): ExtraFile[] {
    const doc = `usr/share/doc/${this.id.name}`;
    return [
      ...(this.input.meta.copyright === undefined ? [] : [{path: `${doc}/copyright`, data: Buffer.from(this.input.meta.copyright), absolute: true}]),
      {path: `${doc}/changelog.Debian.gz`, data: changelog(this.id, this.input, timestamp), absolute: true},
    ];
  }

  async finish(plan: ContentPlan): Promise<Artifact> {
    await this.data.write(TAR_END);
    const {size} = await this.data.end();
    const control = await controlArchive(this.id, this.input, plan);
    const mtime = plan.timestamp;
    const head = Buffer.concat([
      AR_MAGIC,
      arMember('debian-binary', Buffer.from('2.0\n'), mtime),
      arMember(control.name, control.bytes, mtime),
      arHeader(`data.tar${SUFFIX[this.input.compression]}`, size, mtime),
    ]);
    const tail = size % 2 === 1 ? Buffer.from('\n') : Buffer.alloc(0);
    const path = join(this.input.outDir, `${this.id.name}_${this.id.version}_${this.id.arch}.deb`);
    const hash = createHash('sha256').update(head);
    const total = await writePackageFile(path, async (fh) => {
      await fh.write(head, 0, head.length, 0);
      await this.data.copyTo(fh, head.length, size, [hash]);
      await fh.write(tail, 0, tail.length, head.length + size);
      return head.length + size + tail.length;
    });
    hash.update(tail);
    await this.data.close();
    return {format: 'deb', path, name: this.id.name, version: this.id.version, arch: this.id.arch, sha256: hash.digest('hex'), size: total};
  }

  async abort(): Promise<void> {
    await this.data.close();
  }
}
