import {KhpkgError} from '../errors.js';
import {decompressBuffer, methodOf, type Method} from '../codec/decompress.js';

/** The largest kernel file read (a vmlinux with its DWARF, /usr/lib/debug/boot/vmlinux-<rel>, is hundreds of MB). */
export const MAX_IMAGE_BYTES = 1024 * 1024 * 1024;
/** A decompressed kernel is 20-150 MB; nothing real is larger. Bounds what a hostile payload (a decompression bomb) can make khpkg allocate. */
export const MAX_PAYLOAD_BYTES = 256 * 1024 * 1024;

/** A kernel image opened down to the kernel proper, told by content, never by name. */
export interface KernelImage {
  /** The kernel itself: a vmlinux ELF (x86's payload, a vmlinux file) or a flat image (arm64's Image). */
  kernel: Buffer;
  elf: boolean;
  /** What the file was: `vmlinux ELF`, `x86 bzImage (zstd)`, `arm64 Image (gzip)`, `arm64 EFI zboot (lz4)`... */
  from: string;
  /** The release its banner (`Linux version <rel> (...`) or its setup header names. */
  release?: string;
}

/** Is this the start of a kernel image khpkg opens (before any decompression)? For telling sources apart. */
export function looksLikeKernelImage(head: Buffer): boolean {
  return (
    (head.length >= 0x206 && head.toString('latin1', 0x202, 0x206) === 'HdrS') ||
    (head.length >= 0x3c && head.toString('latin1', 0x38, 0x3c) === 'ARM\x64') ||
    (head.length >= 8 && head[0] === 0x4d && head[1] === 0x5a && head.toString('latin1', 4, 8) === 'zimg')
  );
}

/**
 * Opens a vmlinux ELF, an x86 bzImage (the setup header's payload, decompressed in-process), an
 * arm64 Image, an EFI zboot image, or any of them compressed whole (Image.gz, Image.lz4): every
 * method the kernel builds images with (gzip, xz, lzma, zstd, bzip2, lz4, lzo). One line for
 * anything else, and for a payload that does not decompress.
 */
export async function openKernelImage(bytes: Buffer, name: string, depth = 0): Promise<KernelImage> {
  if (depth > 3) throw new KhpkgError('bad-input', `${name}: compressed more than three times over: not a kernel image`);
  if (bytes.length >= 4 && bytes.readUInt32BE(0) === 0x7f454c46) return {kernel: bytes, elf: true, from: 'vmlinux ELF', release: bannerRelease(bytes)};
  if (bytes.length > 0x250 && bytes.toString('latin1', 0x202, 0x206) === 'HdrS') return fromBzImage(bytes, name);
  if (bytes.length > 0x40 && bytes.toString('latin1', 0x38, 0x3c) === 'ARM\x64')
    return {kernel: bytes, elf: false, from: 'arm64 Image', release: bannerRelease(bytes)};
  if (bytes.length > 32 && bytes[0] === 0x4d && bytes[1] === 0x5a && bytes.toString('latin1', 4, 8) === 'zimg') return fromZboot(bytes, name);
  const method = methodOf(bytes);
  if (method) {
    const inner = await openKernelImage(await unpack(bytes, method, name), name, depth + 1);
    return {...inner, from: `${inner.from} (${method})`};
  }
  throw new KhpkgError('bad-input', `${name} is not a kernel image, a vmlinux or a BTF file (told by content)`);
}

/** `Linux version <rel> (...)`, the banner every kernel image carries (init/version.c). */
export function bannerRelease(bytes: Buffer): string | undefined {
  for (let at = bytes.indexOf('Linux version ', 0, 'latin1'); at >= 0; at = bytes.indexOf('Linux version ', at + 1, 'latin1')) {
    const m = /^Linux version ([A-Za-z0-9._+~-]+) \(/.exec(bytes.toString('latin1', at, at + 200));
    if (m) return m[1];
  }
  return undefined;
}

/**
 * x86's bzImage (Documentation/arch/x86/boot.rst): the setup header's payload_offset and
 * payload_length give the compressed vmlinux inside the protected-mode part, which starts after
 * (setup_sects + 1) sectors. Every method but gzip appends the uncompressed size (4 bytes).
 */
async function fromBzImage(bytes: Buffer, name: string): Promise<KernelImage> {
  const setupSects = bytes[0x1f1] || 4;
  const pm = (setupSects + 1) * 512;
  const [offset, length] = [bytes.readUInt32LE(0x248), bytes.readUInt32LE(0x24c)];
  if (offset === 0 || pm + offset + length > bytes.length)
    throw new KhpkgError('bad-input', `${name}: a bzImage whose payload (${length} bytes at ${pm + offset}) is past its end`);
  const payload = bytes.subarray(pm + offset, pm + offset + length);
  const method = methodOf(payload);
  if (!method) throw new KhpkgError('bad-input', `${name}: a bzImage whose payload is compressed in a way khpkg does not know`);
  const kernel = await unpack(method === 'gzip' ? payload : payload.subarray(0, payload.length - 4), method, name, sizeTrailer(payload));
  // The setup header names the release too (kernel_version): the banner, when there is one, says it first.
  const kv = bytes.readUInt16LE(0x20e);
  const headerRelease = kv > 0 && kv + 0x200 < bytes.length ? /^([A-Za-z0-9._+~-]+)/.exec(bytes.toString('latin1', kv + 0x200, kv + 0x300))?.[1] : undefined;
  const elf = kernel.length >= 4 && kernel.readUInt32BE(0) === 0x7f454c46;
  return {kernel, elf, from: `x86 bzImage (${method})`, release: bannerRelease(kernel) ?? headerRelease};
}

/** arm64's EFI zboot (drivers/firmware/efi/libstub/zboot-header.S): `zimg`, then the payload's offset and size and its method's name. */
async function fromZboot(bytes: Buffer, name: string): Promise<KernelImage> {
  const [offset, size] = [bytes.readUInt32LE(8), bytes.readUInt32LE(12)];
  const methodName = bytes.toString('latin1', 24, 32).replace(/\0.*$/s, '');
  if (offset + size > bytes.length) throw new KhpkgError('bad-input', `${name}: an EFI zboot image whose payload is past its end`);
  const method =
    ({gzip: 'gzip', xzkern: 'xz', zstd22: 'zstd', lzma: 'lzma', bzip2: 'bzip2', lz4: 'lz4', lzo: 'lzo'} as Record<string, Method>)[methodName] ??
    methodOf(bytes.subarray(offset));
  if (!method) throw new KhpkgError('bad-input', `${name}: an EFI zboot image compressed with '${methodName}', which khpkg does not know`);
  const payload = bytes.subarray(offset, offset + size);
  const kernel = await unpack(method === 'gzip' ? payload : payload.subarray(0, payload.length - 4), method, name, sizeTrailer(payload));
  return {kernel, elf: false, from: `arm64 EFI zboot (${method})`, release: bannerRelease(kernel)};
}

/** The uncompressed size the kernel's build appends to a payload (gzip's own trailer says it too). */
function sizeTrailer(payload: Buffer): number | undefined {
  return payload.length >= 4 ? payload.readUInt32LE(payload.length - 4) : undefined;
}

/** A payload decompressed, bounded by MAX_PAYLOAD_BYTES; one line naming the image when it does not decompress. */
async function unpack(data: Buffer, method: Method, name: string, expected?: number): Promise<Buffer> {
  try {
    return await decompressBuffer(data, method, MAX_PAYLOAD_BYTES, expected);
  } catch (e) {
    const why = e instanceof KhpkgError ? e.message.replace(/^\w+ data /, '') : (e as Error).message.split('\n')[0];
    throw new KhpkgError('corrupt-input', `${name}: its ${method} payload does not decompress (${why})`);
  }
}
