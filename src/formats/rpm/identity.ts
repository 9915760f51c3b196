import {KhpkgError} from '../../errors.js';
import type {BuildInput} from '../writer.js';
import {SENSE} from './tags.js';

export interface Dependency {
  name: string;
  flags: number;
  version: string;
}

/** Name, version, release, arch and relations of the .rpm, following kernel.spec and Fedora. */
export interface RpmIdentity {
  name: string;
  version: string;
  release: string;
  arch: string;
  provides: Dependency[];
}

/**
 * RPM versions may not hold `-`: like kernel.spec (`sed -e s/-/_/g`), map it to `_`. An EVR holds at
 * most one `-`, so `kernel-devel-uname-r = <release>` keeps the release verbatim where it has one
 * `-` at most (Fedora's `6.5.6-300.fc39.x86_64`) and maps it the same way otherwise
 * (`6.1.0-56-amd64` → `6.1.0_56_amd64`).
 */
export function rpmIdentity(input: BuildInput): RpmIdentity {
  const {release, rpmArch} = input.kernel;
  const version = (input.version ?? release).replace(/-/g, '_');
  if (!/^[A-Za-z0-9._+~^]+$/.test(version)) throw new KhpkgError('usage', `'${version}' is not an RPM version`);
  if (!/^[A-Za-z0-9._+~^]+$/.test(input.revision)) throw new KhpkgError('usage', `--revision '${input.revision}' is not an RPM release`);
  const evr = `${version}-${input.revision}`;
  const unameR = (release.match(/-/g) ?? []).length <= 1 ? release : release.replace(/-/g, '_');
  return {
    name: 'kernel-devel',
    version,
    release: input.revision,
    arch: rpmArch,
    provides: [
      {name: 'kernel-devel', flags: SENSE.EQUAL, version: evr},
      {name: `kernel-devel-${rpmArch}`, flags: SENSE.EQUAL, version: evr},
      {name: 'kernel-devel-uname-r', flags: SENSE.EQUAL, version: unameR},
      {name: 'installonlypkg(kernel)', flags: SENSE.ANY, version: ''},
    ],
  };
}

/** The rpmlib() features a package uses: rpm refuses it politely where it lacks one. */
export function rpmlibRequires(compressor: string): Dependency[] {
  const lib = (name: string, version: string): Dependency => ({name: `rpmlib(${name})`, flags: SENSE.RPMLIB | SENSE.LESS | SENSE.EQUAL, version});
  const deps = [lib('CompressedFileNames', '3.0.4-1'), lib('FileDigests', '4.6.0-1'), lib('PayloadFilesHavePrefix', '4.0-1')];
  if (compressor === 'xz') deps.push(lib('PayloadIsXz', '5.2-1'));
  if (compressor === 'zstd') deps.push(lib('PayloadIsZstd', '5.4.18-1'));
  return deps.sort((a, b) => (a.name < b.name ? -1 : 1));
}
