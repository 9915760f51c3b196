import {ARCHITECTURES} from '../archive/arch.js';
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

/** The CPUs a release is built for: those of the architecture table where Node ships a runtime khpkg is tested with. */
const RELEASE_NODES = ['x64', 'arm64', 'ppc64', 's390x', 'riscv64'];
const TARGETS: readonly ReleaseTarget[] = RELEASE_NODES.map((node) => {
  const a = ARCHITECTURES.find((x) => x.node === node)!;
  return {node, deb: a.deb, rpm: a.rpm, oci: a.oci!, gnu: a.gnu!, elfMachine: a.elfMachine};
});

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
