import {KhpkgError} from '../errors.js';
import {archNames, type ArchNames} from './arch.js';

/** Who the kernel is, from its generated headers: known a third of the way into a sorted archive. */
export interface KernelIdentity extends ArchNames {
  /** `UTS_RELEASE`, what `uname -r` prints: the key of everything khpkg does. */
  release: string;
  /** `major.minor.sublevel` from version.h (e.g. `6.12.117`). */
  version: string;
  /** The compiler that built the kernel, when the archive says. */
  compiler?: string;
  /** sha256 of the compressed archive: identifies exactly this build of the release. */
  sha256: string;
}

/** What a kheaders archive says about the kernel it came from, and how much it holds. */
export interface KheadersInfo extends KernelIdentity {
  /** Regular files and symlinks. */
  files: number;
  /** Sum of regular file sizes. */
  bytes: number;
  /** What a compile against these headers needs beyond include paths (see consumerCflags). */
  consumerCflags: string[];
}

/** The generated headers the info is read from, as captured while streaming. */
export const INFO_FILES = {
  utsrelease: 'include/generated/utsrelease.h',
  version: 'include/generated/uapi/linux/version.h',
  autoconf: 'include/generated/autoconf.h',
  compile: 'include/generated/compile.h',
} as const;

/**
 * Releases become file names, package names and shell words in maintainer scripts: keep to what real
 * kernels use (`uname -r` of Debian, Fedora, Android, WSL2...), which is also safe in all three.
 */
const SAFE_RELEASE = /^[A-Za-z0-9][A-Za-z0-9._+~-]{0,127}$/;

export function readInfo(captured: Map<string, Buffer>, srcarch: string, counts: {files: number; bytes: number; sha256: string}): KheadersInfo {
  return {
    ...readIdentity(captured, srcarch, counts.sha256),
    files: counts.files,
    bytes: counts.bytes,
    consumerCflags: consumerCflags(captured.get(INFO_FILES.autoconf)?.toString('utf8') ?? ''),
  };
}

/**
 * The flags a BPF or module compile against these headers needs beyond include paths, which kbuild
 * adds itself but BCC and clang do not: 7.x headers use anonymous struct members of tagged types
 * (`struct filename { struct __filename_head; ... }`), which need `-fms-extensions`
 * (CONFIG_CC_MS_EXTENSIONS, kbuild's CC_FLAGS_DIALECT); clang then also warns about them.
 */
export function consumerCflags(autoconfText: string): string[] {
  const ms = parseAutoconf(autoconfText).get('CONFIG_CC_MS_EXTENSIONS');
  if (ms === undefined) return [];
  const flags = ms.replace(/^"|"$/g, '').split(/\s+/).filter(Boolean);
  return flags.includes('-fms-extensions') ? [...flags, '-Wno-microsoft-anon-tag'] : flags;
}

/** True once every generated header the identity is read from was captured. */
export function identityComplete(captured: Map<string, Buffer>): boolean {
  return Object.values(INFO_FILES).every((p) => captured.has(p));
}

export function readIdentity(captured: Map<string, Buffer>, srcarch: string, sha256: string): KernelIdentity {
  const text = (p: string): string | undefined => captured.get(p)?.toString('utf8');
  const uts = text(INFO_FILES.utsrelease);
  const release = uts === undefined ? undefined : /#define\s+UTS_RELEASE\s+"([^"\n]*)"/.exec(uts)?.[1];
  if (!release) throw new KhpkgError('not-kheaders', `${INFO_FILES.utsrelease}: no UTS_RELEASE found`);
  if (!SAFE_RELEASE.test(release) || release.includes('..')) {
    throw new KhpkgError('not-kheaders', `${INFO_FILES.utsrelease}: release '${release}' has characters unsafe in paths`);
  }
  const autoconf = parseAutoconf(text(INFO_FILES.autoconf) ?? '');
  const on = (sym: string): boolean => autoconf.has(`CONFIG_${sym}`);
  return {
    release,
    version: kernelVersion(text(INFO_FILES.version), release),
    ...archNames(srcarch, on),
    compiler: compilerOf(text(INFO_FILES.compile), autoconf),
    sha256,
  };
}

/** `#define CONFIG_FOO 1` / `"string"` / `0x10` lines of autoconf.h, as symbol → raw value. */
export function parseAutoconf(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(/^#define\s+(CONFIG_\w+)\s+(.*)$/gm)) out.set(m[1]!, m[2]!.trim());
  return out;
}

function kernelVersion(versionH: string | undefined, release: string): string {
  const num = (name: string): string | undefined => (versionH === undefined ? undefined : new RegExp(`#define\\s+${name}\\s+(\\d+)`).exec(versionH)?.[1]);
  const [maj, min, sub] = [num('LINUX_VERSION_MAJOR'), num('LINUX_VERSION_PATCHLEVEL'), num('LINUX_VERSION_SUBLEVEL')];
  if (maj && min && sub) return `${maj}.${min}.${sub}`;
  // Before 5.14 only LINUX_VERSION_CODE exists, and it caps the sublevel at 255: prefer the release.
  const fromRelease = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(release);
  if (fromRelease) return `${fromRelease[1]}.${fromRelease[2]}.${fromRelease[3] ?? '0'}`;
  const code = num('LINUX_VERSION_CODE');
  if (code) {
    const c = Number(code);
    return `${c >> 16}.${(c >> 8) & 0xff}.${c & 0xff}`;
  }
  throw new KhpkgError('not-kheaders', `${INFO_FILES.version}: no kernel version found`);
}

function compilerOf(compileH: string | undefined, autoconf: Map<string, string>): string | undefined {
  const fromCompile = compileH === undefined ? undefined : /#define\s+LINUX_COMPILER\s+"([^"\n]*)"/.exec(compileH)?.[1];
  if (fromCompile) return fromCompile;
  const cc = autoconf.get('CONFIG_CC_VERSION_TEXT');
  return cc ? cc.replace(/^"|"$/g, '') : undefined;
}
