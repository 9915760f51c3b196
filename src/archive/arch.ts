import {KhpkgError} from '../errors.js';

/**
 * One CPU architecture in every vocabulary khpkg meets: the kernel's (`arch/<srcarch>`), Debian's,
 * RPM's (which pacman shares), Node's (`process.arch`, the machine khpkg runs on), the GNU triplet of
 * Debian's cross toolchain, OCI's image platform, systemd's, and ELF's (machine number, word size, byte order),
 * which a BTF-only vmlinux and every binary of a release must carry.
 */
export interface Architecture {
  srcarch: string;
  deb: string;
  rpm: string;
  /** systemd's (os-release's and extension-release's `ARCHITECTURE=`, `ConditionArchitecture=`). */
  systemd: string;
  /** Where Node runs on it, the name process.arch gives it. */
  node?: string;
  /** Debian's cross toolchain prefix (`g++-aarch64-linux-gnu`). */
  gnu?: string;
  oci?: string;
  elfMachine: number;
  bits: 32 | 64;
  littleEndian: boolean;
}

type Row = [
  srcarch: string,
  deb: string,
  rpm: string,
  systemd: string,
  elfMachine: number,
  bits: 32 | 64,
  endian: 'le' | 'be',
  node?: [node: string, gnu: string, oci?: string],
];

/** The one table: Debian's names as mkdebian's set_debarch gives them, RPM's as `make rpm-pkg` and Fedora use. */
const ROWS: Row[] = [
  ['x86', 'amd64', 'x86_64', 'x86-64', 62, 64, 'le', ['x64', 'x86_64-linux-gnu', 'amd64']],
  ['x86', 'i386', 'i686', 'x86', 3, 32, 'le', ['ia32', 'i686-linux-gnu', '386']],
  ['arm64', 'arm64', 'aarch64', 'arm64', 183, 64, 'le', ['arm64', 'aarch64-linux-gnu', 'arm64']],
  ['arm64', 'arm64be', 'aarch64_be', 'arm64-be', 183, 64, 'be'],
  ['arm', 'armhf', 'armv7hl', 'arm', 40, 32, 'le', ['arm', 'arm-linux-gnueabihf', 'arm']],
  ['arm', 'armel', 'armv5tel', 'arm', 40, 32, 'le'],
  ['arm', 'arm', 'armv5tl', 'arm', 40, 32, 'le'],
  ['riscv', 'riscv64', 'riscv64', 'riscv64', 243, 64, 'le', ['riscv64', 'riscv64-linux-gnu', 'riscv64']],
  ['riscv', 'riscv32', 'riscv32', 'riscv32', 243, 32, 'le'],
  ['powerpc', 'ppc64el', 'ppc64le', 'ppc64-le', 21, 64, 'le', ['ppc64', 'powerpc64le-linux-gnu', 'ppc64le']],
  ['powerpc', 'ppc64', 'ppc64', 'ppc64', 21, 64, 'be'],
  ['powerpc', 'powerpc', 'ppc', 'ppc', 20, 32, 'be'],
  ['s390', 's390x', 's390x', 's390x', 22, 64, 'be', ['s390x', 's390x-linux-gnu', 's390x']],
  ['s390', 's390', 's390', 's390', 22, 32, 'be'],
  ['loongarch', 'loong64', 'loongarch64', 'loongarch64', 258, 64, 'le', ['loong64', 'loongarch64-linux-gnu', 'loong64']],
  ['mips', 'mips64el', 'mips64el', 'mips64-le', 8, 64, 'le', ['mips64el', 'mips64el-linux-gnuabi64', 'mips64le']],
  ['mips', 'mips64', 'mips64', 'mips64', 8, 64, 'be'],
  ['mips', 'mips64r6el', 'mips64r6el', 'mips64-le', 8, 64, 'le'],
  ['mips', 'mips64r6', 'mips64r6', 'mips64', 8, 64, 'be'],
  ['mips', 'mipsel', 'mipsel', 'mips-le', 8, 32, 'le', ['mipsel', 'mipsel-linux-gnu']],
  ['mips', 'mips', 'mips', 'mips', 8, 32, 'be', ['mips', 'mips-linux-gnu']],
  ['mips', 'mipsr6el', 'mipsr6el', 'mips-le', 8, 32, 'le'],
  ['mips', 'mipsr6', 'mipsr6', 'mips', 8, 32, 'be'],
  ['sparc', 'sparc64', 'sparc64', 'sparc64', 43, 64, 'be'],
  ['sparc', 'sparc', 'sparc', 'sparc', 2, 32, 'be'],
  ['parisc', 'hppa', 'hppa', 'parisc', 15, 32, 'be'],
  ['parisc', 'hppa', 'hppa64', 'parisc64', 15, 64, 'be'],
  ['alpha', 'alpha', 'alpha', 'alpha', 0x9026, 64, 'le'],
  ['m68k', 'm68k', 'm68k', 'm68k', 4, 32, 'be'],
  ['sh', 'sh4', 'sh4', 'sh', 42, 32, 'le'],
  ['ia64', 'ia64', 'ia64', 'ia64', 50, 64, 'le'],
];

export const ARCHITECTURES: readonly Architecture[] = ROWS.map(([srcarch, deb, rpm, systemd, elfMachine, bits, endian, node]) => ({
  srcarch,
  deb,
  rpm,
  systemd,
  elfMachine,
  bits,
  littleEndian: endian === 'le',
  ...(node ? {node: node[0], gnu: node[1], ...(node[2] ? {oci: node[2]} : {})} : {}),
}));

/** The architecture of a headers tree in the three vocabularies a package needs. */
export interface ArchNames {
  /** The kernel's source directory name, `arch/<srcarch>`. */
  srcarch: string;
  /** dpkg architecture (what the kernel's `scripts/package/mkdebian` picks). */
  debArch: string;
  /** rpm architecture (what `make rpm-pkg` and Fedora use; pacman's too). */
  rpmArch: string;
}

/** Reads `CONFIG_*` answers from autoconf.h: `y`/`m` symbols are set, anything else is not. */
export type ConfigQuery = (symbol: string) => boolean;

/**
 * The row of an architecture by its RPM name (unique in the table: Debian calls both PA-RISC
 * kernels hppa) or else its Debian one; an architecture the table lacks is an error, never a guess.
 */
export function architecture(name: string): Architecture {
  const a = ARCHITECTURES.find((x) => x.rpm === name) ?? ARCHITECTURES.find((x) => x.deb === name);
  if (!a) throw new KhpkgError('unsupported-arch', `architecture '${name}' is not one khpkg knows (${ARCHITECTURES.map((x) => x.rpm).join(', ')})`);
  return a;
}

/** The architecture of the machine khpkg runs on (Node's process.arch), if the table has it. */
export function hostArchitecture(): Architecture | undefined {
  return ARCHITECTURES.find((x) => x.node === process.arch);
}

/**
 * Maps SRCARCH plus the config to the table's row, following mkdebian's `set_debarch` so a package
 * lands where Debian's own would.
 */
export function archNames(srcarch: string, on: ConfigQuery): ArchNames {
  const a = architecture(rpmArchOf(srcarch, on));
  return {srcarch, debArch: a.deb, rpmArch: a.rpm};
}

function rpmArchOf(srcarch: string, on: ConfigQuery): string {
  const is64 = on('64BIT');
  switch (srcarch) {
    case 'x86':
      return on('X86_64') || is64 ? 'x86_64' : 'i686';
    case 'arm64':
      return on('CPU_BIG_ENDIAN') ? 'aarch64_be' : 'aarch64';
    case 'arm':
      if (!on('AEABI')) return 'armv5tl';
      return on('VFP') ? 'armv7hl' : 'armv5tel';
    case 'riscv':
      return is64 ? 'riscv64' : 'riscv32';
    case 'powerpc':
      if (!is64) return 'ppc';
      return on('CPU_LITTLE_ENDIAN') ? 'ppc64le' : 'ppc64';
    case 's390':
      return is64 ? 's390x' : 's390';
    case 'loongarch':
      return 'loongarch64';
    case 'mips':
      return `${is64 ? 'mips64' : 'mips'}${on('CPU_MIPSR6') ? 'r6' : ''}${on('CPU_BIG_ENDIAN') ? '' : 'el'}`;
    case 'sparc':
      return is64 ? 'sparc64' : 'sparc';
    case 'parisc':
      return is64 ? 'hppa64' : 'hppa';
    case 'alpha':
    case 'm68k':
    case 'ia64':
      return srcarch;
    case 'sh':
      return 'sh4';
    default:
      throw new KhpkgError('unsupported-arch', `arch/${srcarch}: no Debian or RPM architecture is known for this kernel architecture`);
  }
}
