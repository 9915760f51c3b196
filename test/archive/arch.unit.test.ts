import assert from 'node:assert/strict';
import {archNames} from '../../src/archive/arch.js';

describe('SRCARCH + config → Debian and RPM architecture', () => {
  const table: [string, string[], string, string][] = [
    ['x86', ['X86_64', '64BIT'], 'amd64', 'x86_64'],
    ['x86', [], 'i386', 'i686'],
    ['arm64', ['64BIT'], 'arm64', 'aarch64'],
    ['arm', ['AEABI', 'VFP'], 'armhf', 'armv7hl'],
    ['arm', ['AEABI'], 'armel', 'armv5tel'],
    ['riscv', ['64BIT'], 'riscv64', 'riscv64'],
    ['powerpc', ['64BIT', 'CPU_LITTLE_ENDIAN'], 'ppc64el', 'ppc64le'],
    ['powerpc', ['64BIT'], 'ppc64', 'ppc64'],
    ['powerpc', [], 'powerpc', 'ppc'],
    ['s390', ['64BIT'], 's390x', 's390x'],
    ['loongarch', ['64BIT'], 'loong64', 'loongarch64'],
    ['mips', ['64BIT', 'CPU_LITTLE_ENDIAN'], 'mips64el', 'mips64el'],
    ['mips', ['CPU_BIG_ENDIAN'], 'mips', 'mips'],
    ['mips', ['64BIT', 'CPU_MIPSR6'], 'mips64r6el', 'mips64r6el'],
    ['sparc', ['64BIT'], 'sparc64', 'sparc64'],
  ];
  for (const [srcarch, on, deb, rpm] of table) {
    it(`${srcarch} with ${on.join(',') || 'nothing'} → ${deb} / ${rpm}`, () => {
      assert.deepEqual(
        archNames(srcarch, (s) => on.includes(s)),
        {srcarch, debArch: deb, rpmArch: rpm},
      );
    });
  }
  it('an unknown architecture is a clear error', () => {
    assert.throws(() => archNames('hexagon', () => false), /arch\/hexagon: no Debian or RPM architecture/);
  });
});
