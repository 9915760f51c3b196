import {createHash} from 'node:crypto';
import {open, readFile} from 'node:fs/promises';
import {setFlagsFromString} from 'node:v8';
import {runInNewContext} from 'node:vm';
import {isBtfHeader, parseBtf, type Btf} from '../btf/btf.js';
import {writeVmlinuxH} from '../btf/c-dump.js';
import {btfOnlyElf} from '../btf/elf.js';
import {architecture, type ArchNames} from '../archive/arch.js';
import {findBtf} from '../btf/image.js';
import {MAX_IMAGE_BYTES} from '../image/kernel-image.js';
import {resolve} from 'node:path';
import {KhpkgError} from '../errors.js';
import {kernelPaths, runningRelease} from './kernel.js';

/** Where a kernel's BTF is to be read from. */
export interface BtfSource {
  path: string;
  /** As shown to people and kept by the registry (`/boot/vmlinuz-<rel>`, `/sys/kernel/btf/vmlinux`). */
  origin: string;
  /** `--btf FILE`: a file without BTF is an error; found by khpkg, it only means a set without BTF. */
  given: boolean;
  /** The image's bytes when they are already held (a kernel package's member, read as it streamed by). */
  bytes?: Buffer;
}

/** The kernel's BTF, found and checked: what a header set gets from it. */
export interface KernelBtf {
  origin: string;
  /** What the file was: `x86 bzImage (zstd)`, `raw BTF`, ... */
  from: string;
  /** The release the image's banner names; undefined for raw BTF (sysfs, a .btf file). */
  release?: string;
  btf: Btf;
  blob: Buffer;
  ids?: Buffer;
  /** sha256 of the .BTF bytes: part of a set's identity. */
  sha256: string;
  types: number;
  /** Named with --btf (a mismatch is refused), or found by khpkg (a mismatch only drops it). */
  given: boolean;
  /** Read from the running kernel's /sys/kernel/btf/vmlinux: that kernel's BTF, whatever the file says. */
  sysfs?: boolean;
}

/** What the registry and `info --json` keep of a set's BTF. */
export interface BtfRecord {
  source: string;
  sha256: string;
  types: number;
}

/**
 * Reads and checks the BTF a source points at (see ArchiveSource.btf). A file given with `--btf`
 * must hold BTF, or the command fails in one line. One khpkg found itself is an extra: when it cannot
 * be used (no BTF, empty, cut short, a format khpkg cannot read) the set is made without BTF, and
 * `note` says what was left out and why; the headers never fail for their image.
 */
export async function readKernelBtf(src: BtfSource | undefined): Promise<{btf?: KernelBtf; note?: string}> {
  if (!src) return {};
  try {
    const btf = await readBtf(src);
    // Out of readBtf, nothing holds the image or the kernel decompressed from it any more.
    if (btf && btf.from !== 'raw BTF') collectGarbage();
    return {btf};
  } catch (e) {
    if (src.given || !(e instanceof KhpkgError)) throw e;
    return e.code === 'no-btf' ? {} : {note: `${e.message.replace(/^--btf /, '')}: the set is made without BTF`};
  }
}

/**
 * The digest a set records of raw BTF (the running kernel's /sys/kernel/btf/vmlinux), from the
 * file's bytes alone: nothing parsed. Undefined for anything else (an image must be opened to find
 * its BTF), and for a file that is gone.
 */
export async function rawBtfDigest(src: BtfSource): Promise<string | undefined> {
  const bytes = src.bytes ?? (await readFile(src.path).catch(() => undefined));
  return bytes && isBtfHeader(bytes) ? createHash('sha256').update(bytes).digest('hex') : undefined;
}

/** The running kernel's own BTF file (sysfs, or KHPKG_SYSFS_BTF): by definition that kernel's, and no other's. */
function isSysfsBtf(path: string): boolean {
  return resolve(path) === resolve(kernelPaths().btf) || resolve(path) === '/sys/kernel/btf/vmlinux';
}

async function readBtf(src: BtfSource): Promise<KernelBtf | undefined> {
  let bytes: Buffer;
  if (src.bytes) bytes = src.bytes;
  else
    try {
      const fh = await open(src.path, 'r');
      try {
        const size = (await fh.stat()).size;
        if (size > MAX_IMAGE_BYTES) throw new KhpkgError('bad-input', `--btf ${src.origin}: ${size} bytes, larger than any kernel image`);
        // sysfs files report size 4096 or 0: read to the end, bounded.
        bytes = await fh.readFile();
      } finally {
        await fh.close();
      }
    } catch (e) {
      if (e instanceof KhpkgError) throw e;
      if (!src.given) return undefined; // gone since it was found: as if it never was
      throw new KhpkgError('not-found', `--btf ${src.origin}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    }
  try {
    const found = await findBtf(bytes, src.origin);
    // Copies: the blobs are views of a decompressed image (60-150 MB) that need not stay in memory.
    found.btf = Buffer.from(found.btf);
    if (found.btfIds) found.btfIds = Buffer.from(found.btfIds);
    const btf = parseBtf(found.btf);
    return {
      origin: src.origin,
      sysfs: isSysfsBtf(src.path),
      from: found.from,
      release: found.release,
      btf,
      blob: found.btf,
      ids: found.btfIds,
      sha256: createHash('sha256').update(found.btf).digest('hex'),
      types: btf.count - 1,
      given: src.given,
    };
  } catch (e) {
    if (!src.given && e instanceof KhpkgError && e.code === 'no-btf') return undefined;
    throw e;
  }
}

/**
 * A full garbage collection, now: the decompressed kernel just dropped is one allocation of 60-150
 * MB that V8 would free only at its next major GC, after the build has begun streaming beside it
 * (peak RSS of a build with --btf 209 -> 159 MB). `gc` is V8's own, reached from a fresh context.
 */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/**
 * The BTF must be that of the kernel whose headers these are. An image given with --btf whose
 * banner names another release is refused in one line; one khpkg found itself (a /boot/vmlinuz of
 * another build) is left out, and said so: a kernel's headers never fail for its image. Raw BTF
 * cannot be checked: taken, and said so.
 */
export function settleBtf(k: KernelBtf | undefined, release: string): {btf?: KernelBtf; note?: string} {
  if (!k) return {};
  if (k.sysfs && release !== runningRelease()) {
    const why = `${k.origin} is the running kernel's BTF (${runningRelease()}), but the headers are ${release}'s`;
    if (k.given) throw new KhpkgError('bad-input', `${why}: give ${release}'s image with --btf`);
    return {note: `${why}: the set is made without BTF`};
  }
  if (k.release !== undefined && k.release !== release) {
    const why = `${k.origin} is the kernel image of ${k.release}, but the headers are ${release}'s`;
    if (k.given) throw new KhpkgError('bad-input', `${why}: give ${release}'s image with --btf`);
    return {note: `${why}: the set is made without BTF (give the right image with --btf)`};
  }
  return {btf: k, note: k.release === undefined ? `${k.origin} is raw BTF, which names no release: taken as ${release}'s` : undefined};
}

/** vmlinux.h at the top of the tree (where Fedora's kernel-devel has it) and the BTF-only vmlinux (Debian's headers' way). */
export function btfFiles(k: KernelBtf, arch: ArchNames): {path: string; mode: number; data: Buffer}[] {
  const elf = architecture(arch.rpmArch);
  // A BTF of the other byte order is another machine's kernel: no ELF of this one can carry it.
  if (k.btf.littleEndian !== elf.littleEndian)
    throw new KhpkgError(
      'bad-input',
      `${k.origin} holds ${k.btf.littleEndian ? 'little' : 'big'}-endian BTF, but the headers are ${arch.rpmArch}'s (${elf.littleEndian ? 'little' : 'big'}-endian)`,
    );
  return [
    {path: 'vmlinux.h', mode: 0o644, data: writeVmlinuxH(k.btf)},
    {path: 'vmlinux', mode: 0o644, data: btfOnlyElf(elf, k.blob, k.ids)},
  ];
}

export function btfRecord(k: KernelBtf): BtfRecord {
  return {source: k.origin, sha256: k.sha256, types: k.types};
}
