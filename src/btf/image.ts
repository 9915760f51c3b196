import {KhpkgError} from '../errors.js';
import {parseElf} from '../elf/elf.js';
import {btfLength, isBtfHeader, parseBtf} from './btf.js';
import {openKernelImage} from '../image/kernel-image.js';

/** The kernel's BTF as found in a file, told by content, never by name. */
export interface FoundBtf {
  /** The .BTF blob. */
  btf: Buffer;
  /** vmlinux's .BTF_ids (kbuild's resolve_btfids table), when the file is an ELF that has it. */
  btfIds?: Buffer;
  /** What the file was: `raw BTF`, `vmlinux ELF`, `x86 bzImage (zstd)`, `arm64 Image`, ... */
  from: string;
  /** The release the image's banner names (`Linux version <rel> ...`); undefined for raw BTF, which cannot be checked. */
  release?: string;
}

/**
 * Finds the BTF in a raw BTF file, a vmlinux ELF (its .BTF section), or any kernel image khpkg opens
 * (image/kernel-image.ts: bzImage, arm64 Image, EFI zboot, compressed whole, every method): in the
 * kernel's ELF by section, in a flat kernel by its header. One line for anything else, and for a
 * kernel built without BTF.
 */
export async function findBtf(bytes: Buffer, name: string): Promise<FoundBtf> {
  if (isBtfHeader(bytes)) return {btf: bytes, from: 'raw BTF'};
  const image = await openKernelImage(bytes, name);
  return image.elf ? fromElf(image.kernel, name, image.from, image.release) : fromFlat(image.kernel, name, image.from, image.release);
}

function fromElf(bytes: Buffer, name: string, from: string, release: string | undefined): FoundBtf {
  const elf = parseElf(bytes);
  if (!elf) throw new KhpkgError('bad-input', `${name}: a damaged ELF file`);
  const sec = elf.section('.BTF');
  const btf = sec && elf.data(sec);
  if (!btf) throw new KhpkgError('no-btf', `${name} has no .BTF section: the kernel was built without CONFIG_DEBUG_INFO_BTF`);
  const ids = elf.section('.BTF_ids');
  return {btf, btfIds: ids && elf.data(ids), from, release};
}

/**
 * A flat kernel image (arm64's Image, an x86 payload that is no ELF) has no sections: the BTF is
 * found by its header, the largest blob that parses.
 */
function fromFlat(bytes: Buffer, name: string, from: string, release: string | undefined): FoundBtf {
  const magic = Buffer.from([0x9f, 0xeb, 0x01]);
  let best: Buffer | undefined;
  for (let at = bytes.indexOf(magic); at >= 0; at = bytes.indexOf(magic, at + 1)) {
    const len = btfLength(bytes, at);
    if (len === undefined || (best && len <= best.length)) continue;
    const blob = bytes.subarray(at, at + len);
    try {
      parseBtf(blob);
      best = blob;
    } catch {
      // a magic number by chance
    }
  }
  if (!best) throw new KhpkgError('no-btf', `${name} (${from}) carries no BTF: the kernel was built without CONFIG_DEBUG_INFO_BTF`);
  return {btf: best, from, release};
}
