import {KhpkgError} from '../../errors.js';
import type {PackageMeta, Relation} from '../../content/package-meta.js';
import {SENSE} from './tags.js';

export interface Dependency {
  name: string;
  flags: number;
  version: string;
}

/** Name, version, release, arch and relations of the .rpm, as rpm checks them. */
export interface RpmIdentity {
  name: string;
  version: string;
  release: string;
  arch: string;
  provides: Dependency[];
}

const SENSE_OF: Record<NonNullable<Relation['op']>, number> = {'=': SENSE.EQUAL, '>=': SENSE.GREATER | SENSE.EQUAL, '<=': SENSE.LESS | SENSE.EQUAL};

export function rpmDependency(r: Relation): Dependency {
  return {name: r.name, flags: r.op ? SENSE_OF[r.op] : SENSE.ANY, version: r.version ?? ''};
}

/** The package's identity as rpm checks it: a bad version is refused before anything is written. */
export function rpmIdentity(meta: PackageMeta): RpmIdentity {
  if (!/^[A-Za-z0-9._+~^]+$/.test(meta.version)) throw new KhpkgError('usage', `'${meta.version}' is not an RPM version`);
  if (!/^[A-Za-z0-9._+~^]+$/.test(meta.release)) throw new KhpkgError('usage', `--revision '${meta.release}' is not an RPM release`);
  return {name: meta.name, version: meta.version, release: meta.release, arch: meta.arch, provides: meta.provides.map(rpmDependency)};
}

/** The rpmlib() features a package uses: rpm refuses it politely where it lacks one. */
export function rpmlibRequires(compressor: string): Dependency[] {
  const lib = (name: string, version: string): Dependency => ({name: `rpmlib(${name})`, flags: SENSE.RPMLIB | SENSE.LESS | SENSE.EQUAL, version});
  const deps = [lib('CompressedFileNames', '3.0.4-1'), lib('FileDigests', '4.6.0-1'), lib('PayloadFilesHavePrefix', '4.0-1')];
  if (compressor === 'xz') deps.push(lib('PayloadIsXz', '5.2-1'));
  if (compressor === 'zstd') deps.push(lib('PayloadIsZstd', '5.4.18-1'));
  return deps.sort((a, b) => (a.name < b.name ? -1 : 1));
}
