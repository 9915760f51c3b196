import {KhpkgError} from '../errors.js';

/** The architecture of a headers tree in the three vocabularies that matter. */
export interface ArchNames {
  /** The kernel's source directory name, `arch/<srcarch>`. */
  srcarch: string;
  /** dpkg architecture (what the kernel's `scripts/package/mkdebian` picks). */
  debArch: string;
  /** rpm architecture (what `make rpm-pkg` and Fedora use). */
  rpmArch: string;
}

/** Reads `CONFIG_*` answers from autoconf.h: `y`/`m` symbols are set, anything else is not. */
export type ConfigQuery = (symbol: string) => boolean;

/**
 * Maps SRCARCH plus the config to dpkg/rpm names, following mkdebian's `set_debarch` so a package
 * lands where Debian's own would.
 */
export function archNames(srcarch: string, on: ConfigQuery): ArchNames {
  const le = on('CPU_LITTLE_ENDIAN');
  const is64 = on('64BIT');
  const pick = (debArch: string, rpmArch: string): ArchNames => ({srcarch, debArch, rpmArch});
  switch (srcarch) {
    case 'x86':
      return on('X86_64') || is64 ? pick('amd64', 'x86_64') : pick('i386', 'i686');
    case 'arm64':
      return on('CPU_BIG_ENDIAN') ? pick('arm64be', 'aarch64_be') : pick('arm64', 'aarch64');
    case 'arm':
      if (!on('AEABI')) return pick('arm', 'armv5tl');
      return on('VFP') ? pick('armhf', 'armv7hl') : pick('armel', 'armv5tel');
    case 'riscv':
      return is64 ? pick('riscv64', 'riscv64') : pick('riscv32', 'riscv32');
    case 'powerpc':
      if (!is64) return pick('powerpc', 'ppc');
      return le ? pick('ppc64el', 'ppc64le') : pick('ppc64', 'ppc64');
    case 's390':
      return is64 ? pick('s390x', 's390x') : pick('s390', 's390');
    case 'loongarch':
      return pick('loong64', 'loongarch64');
    case 'mips': {
      const r6 = on('CPU_MIPSR6') ? 'r6' : '';
      const el = on('CPU_BIG_ENDIAN') ? '' : 'el';
      const base = is64 ? 'mips64' : 'mips';
      return pick(`${base}${r6}${el}`, `${base}${r6}${el}`);
    }
    case 'sparc':
      return is64 ? pick('sparc64', 'sparc64') : pick('sparc', 'sparc');
    case 'parisc':
      return pick('hppa', is64 ? 'hppa64' : 'hppa');
    case 'alpha':
      return pick('alpha', 'alpha');
    case 'm68k':
      return pick('m68k', 'm68k');
    case 'sh':
      return pick('sh4', 'sh4');
    case 'ia64':
      return pick('ia64', 'ia64');
    default:
      throw new KhpkgError('unsupported-arch', `arch/${srcarch}: no Debian or RPM architecture is known for this kernel architecture`);
  }
}
