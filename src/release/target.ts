import {KhpkgError} from '../errors.js';

/**
 * A CPU a release is built for, in each spelling that building one meets: Node's (process.arch,
 * the npm runtime package), Debian's, RPM's, OCI's (image platforms), the GNU triplet of Debian's
 * cross toolchain (`g++-aarch64-linux-gnu`), and ELF's e_machine, which every binary staged for it
 * must carry.
 */
export interface ReleaseTarget {
  node: string;
  deb: string;
  rpm: string;
  oci: string;
  gnu: string;
  elfMachine: number;
}

const TARGETS: readonly ReleaseTarget[] = [
  {node: 'x64', deb: 'amd64', rpm: 'x86_64', oci: 'amd64', gnu: 'x86_64-linux-gnu', elfMachine: 62},
  {node: 'arm64', deb: 'arm64', rpm: 'aarch64', oci: 'arm64', gnu: 'aarch64-linux-gnu', elfMachine: 183},
  {node: 'ppc64', deb: 'ppc64el', rpm: 'ppc64le', oci: 'ppc64le', gnu: 'powerpc64le-linux-gnu', elfMachine: 21},
  {node: 's390x', deb: 's390x', rpm: 's390x', oci: 's390x', gnu: 's390x-linux-gnu', elfMachine: 22},
  {node: 'riscv64', deb: 'riscv64', rpm: 'riscv64', oci: 'riscv64', gnu: 'riscv64-linux-gnu', elfMachine: 243},
];

/** The target Node calls `arch` (x64, arm64, ...); a usage error naming the known ones otherwise. */
export function releaseTarget(arch: string): ReleaseTarget {
  const t = TARGETS.find((x) => x.node === arch || x.deb === arch || x.rpm === arch);
  if (!t) throw new KhpkgError('usage', `no release target '${arch}' (${TARGETS.map((x) => x.node).join(', ')})`);
  return t;
}

/** The machine running this build: its runtime and addons are used as they are, not cross-built. */
export function isNative(target: ReleaseTarget): boolean {
  return target.node === process.arch;
}

/** binutils' program for a target: the machine's own, or the cross toolchain's prefixed one. */
export function toolFor(target: ReleaseTarget, tool: string): string {
  return isNative(target) ? tool : `${target.gnu}-${tool}`;
}
