import type {ByteSource} from '../archive/byte-source.js';
import type {KernelIdentity} from '../archive/info.js';
import {debHeadersMeta, rpmHeadersMeta, type HeadersPackageOptions} from '../content/headers-meta.js';
import type {Layout} from '../content/headers.js';
import type {PackageMeta} from '../content/package-meta.js';
import {KhpkgError} from '../errors.js';
import {debPackager} from './deb/deb.js';
import {DebReader} from './deb/read.js';
import type {PayloadItem} from './payload.js';
import {RpmReader} from './rpm/read.js';
import {rpmPackager} from './rpm/rpm.js';
import {TAG} from './rpm/tags.js';
import {compareDebVersions, compareRpmVersions} from './versions.js';
import type {Format, Packager} from './writer.js';

/** What a package of this format says about itself without its payload: for telling sources apart. */
export interface PackageSummary {
  name?: string;
  description?: string;
  /** Every path it holds, relative to `/` (deb: md5sums, or the payload's names; rpm: its header). */
  files: string[];
}

/**
 * Everything khpkg knows about one package format, in one row beside its writer and reader (nfpm's
 * one folder per format, behind one interface): a third format is a folder under `formats/` and a
 * row here. Nothing outside `formats/` decides a layout, a tool or an index kind by a format's name.
 */
export interface FormatRow {
  format: Format;
  packager: Packager;
  /** Where its headers tree lives (`/usr/src/linux-headers-<rel>`, `/usr/src/kernels/<rel>`). */
  layout: Layout;
  /** The headers package's metadata in this format's spelling. */
  headersMeta: (kernel: KernelIdentity, opts: HeadersPackageOptions) => PackageMeta;
  /** The package manager that installs it for `install --via`, and where it keeps its database under a root. */
  manager: {via: 'dpkg' | 'rpm'; databases: readonly string[]};
  /** The repository index `khpkg repo` writes for it. */
  repoIndex: 'apt' | 'rpm-md';
  /** The canonical file name (dpkg-name's, rpm's NVRA), from its name, version (epoch dropped) and arch. */
  fileName(name: string, version: string, arch: string): string;
  /** Version order, as the package manager sorts (dpkg's and rpm's rules). */
  compareVersions(a: string, b: string): number;
  /** Its first bytes. */
  magic(head: Buffer): boolean;
  /** Reads the metadata only; the payload's names only where the format keeps no list of files and `files` are wanted. */
  summary(source: ByteSource, files?: boolean): Promise<PackageSummary>;
  /** The payload, streamed. */
  payload(source: ByteSource): Promise<AsyncIterable<PayloadItem>>;
}

export const FORMAT_TABLE: Readonly<Record<Format, FormatRow>> = {
  deb: {
    format: 'deb',
    packager: debPackager,
    layout: 'debian',
    headersMeta: debHeadersMeta,
    manager: {via: 'dpkg', databases: ['var/lib/dpkg/status']},
    repoIndex: 'apt',
    fileName: (name, version, arch) => `${name}_${version}_${arch}.deb`,
    compareVersions: compareDebVersions,
    magic: (head) => head.toString('latin1', 0, 8) === '!<arch>\n',
    async summary(source, wanted = true) {
      const deb = await DebReader.open(source);
      const {control, files} = await deb.control();
      // md5sums is optional (dpkg-deb -b does not make one): then the payload's names, contents skipped.
      if (files.length === 0 && wanted) for await (const {entry} of deb.data()) files.push(entry.path);
      return {name: control.get('Package'), description: control.get('Description'), files};
    },
    payload: async (source) => (await DebReader.open(source)).data(),
  },
  rpm: {
    format: 'rpm',
    packager: rpmPackager,
    layout: 'kernels',
    headersMeta: rpmHeadersMeta,
    manager: {via: 'rpm', databases: ['var/lib/rpm', 'usr/lib/sysimage/rpm']},
    repoIndex: 'rpm-md',
    fileName: (name, version, arch) => `${name}-${version}.${arch}.rpm`,
    compareVersions: compareRpmVersions,
    magic: (head) => head.length >= 4 && head.readUInt32BE(0) === 0xedabeedb,
    async summary(source) {
      const rpm = await RpmReader.open(source);
      return {name: rpm.header.string(TAG.NAME), description: rpm.header.string(TAG.DESCRIPTION), files: rpm.files()};
    },
    payload: async (source) => (await RpmReader.open(source)).payload(),
  },
};

/** The row of a format by name; an unknown one is a usage error. */
export function formatRow(format: Format): FormatRow {
  const row = FORMAT_TABLE[format];
  if (!row) throw new KhpkgError('usage', `format '${format}' is not supported yet`);
  return row;
}

/** The format registry (nfpm's `nfpm.Get(format)`): the build pipeline knows formats only by name. */
export function packagerFor(format: Format): Packager {
  return formatRow(format).packager;
}

/** The row whose package manager `--via` names. */
export function rowForManager(via: 'dpkg' | 'rpm'): FormatRow {
  return Object.values(FORMAT_TABLE).find((r) => r.manager.via === via)!;
}

/** The format of a package file, by its first bytes; undefined for anything else. */
export function formatOf(head: Buffer): FormatRow | undefined {
  return Object.values(FORMAT_TABLE).find((r) => r.magic(head));
}
