import {spawn} from 'node:child_process';
import {gunzipSync} from 'node:zlib';
import {KhpkgError} from '../errors.js';
import {parseElf} from '../elf/elf.js';
import {btfLength, isBtfHeader, parseBtf} from './btf.js';

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

/** A decompressed kernel is 20-150 MB; nothing real is larger. Bounds what a hostile file can make khpkg allocate. */
export const MAX_IMAGE_BYTES = 1024 * 1024 * 1024;

/**
 * Finds the BTF in a raw BTF file, a vmlinux ELF (its .BTF section), an x86 bzImage (its payload
 * decompressed in-process: gzip, xz, zstd, lzma; bzip2 through the machine's bzip2), an arm64
 * Image, Image.gz or EFI zboot image (the BTF header found in the decompressed image), or a
 * gzip/xz/zstd of any of these. One line for anything else, and for a kernel built without BTF.
 */
export async function findBtf(bytes: Buffer, name: string, depth = 0): Promise<FoundBtf> {
  if (depth > 3) throw new KhpkgError('bad-input', `${name}: compressed more than three times over: not a kernel image`);
  if (isBtfHeader(bytes)) return {btf: bytes, from: 'raw BTF'};
  const at = (sig: number[], off = 0): boolean => sig.every((b, i) => bytes[off + i] === b);
  if (at([0x7f, 0x45, 0x4c, 0x46])) return fromElf(bytes, name, 'vmlinux ELF');
  if (bytes.length > 0x250 && bytes.toString('latin1', 0x202, 0x206) === 'HdrS') return fromBzImage(bytes, name);
  if (bytes.length > 0x40 && bytes.toString('latin1', 0x38, 0x3c) === 'ARM\x64') return fromFlat(bytes, name, 'arm64 Image');
  if (at([0x4d, 0x5a]) && bytes.toString('latin1', 4, 8) === 'zimg') return fromZboot(bytes, name);
  const method = compressionOf(bytes);
  if (method) {
    const inner = await decompress(bytes, method, name);
    const found = await findBtf(inner, name, depth + 1);
    return {...found, from: `${found.from} (${method})`};
  }
  throw new KhpkgError('bad-input', `${name} is not a kernel image, a vmlinux or a BTF file (told by content)`);
}

type Method = 'gzip' | 'xz' | 'zstd' | 'lzma' | 'bzip2' | 'lz4' | 'lzo';

function compressionOf(b: Buffer): Method | undefined {
  const at = (sig: number[]): boolean => sig.every((x, i) => b[i] === x);
  if (at([0x1f, 0x8b])) return 'gzip';
  if (at([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) return 'xz';
  if (at([0x28, 0xb5, 0x2f, 0xfd])) return 'zstd';
  if (at([0x42, 0x5a, 0x68])) return 'bzip2';
  if (at([0x02, 0x21, 0x4c, 0x18])) return 'lz4';
  if (at([0x89, 0x4c, 0x5a, 0x4f])) return 'lzo';
  if (at([0x5d, 0x00, 0x00])) return 'lzma';
  return undefined;
}

function fromElf(bytes: Buffer, name: string, from: string): FoundBtf {
  const elf = parseElf(bytes);
  if (!elf) throw new KhpkgError('bad-input', `${name}: a damaged ELF file`);
  const sec = elf.section('.BTF');
  const btf = sec && elf.data(sec);
  if (!btf) throw new KhpkgError('no-btf', `${name} has no .BTF section: the kernel was built without CONFIG_DEBUG_INFO_BTF`);
  const ids = elf.section('.BTF_ids');
  return {btf, btfIds: ids && elf.data(ids), from, release: bannerRelease(bytes)};
}

/** `Linux version <rel> (...)`, the banner every kernel image carries (init/version.c). */
function bannerRelease(bytes: Buffer): string | undefined {
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
async function fromBzImage(bytes: Buffer, name: string): Promise<FoundBtf> {
  const setupSects = bytes[0x1f1] || 4;
  const pm = (setupSects + 1) * 512;
  const [offset, length] = [bytes.readUInt32LE(0x248), bytes.readUInt32LE(0x24c)];
  if (offset === 0 || pm + offset + length > bytes.length)
    throw new KhpkgError('bad-input', `${name}: a bzImage whose payload (${length} bytes at ${pm + offset}) is past its end`);
  const payload = bytes.subarray(pm + offset, pm + offset + length);
  const method = compressionOf(payload);
  if (!method) throw new KhpkgError('bad-input', `${name}: a bzImage whose payload is compressed in a way khpkg does not know`);
  const vmlinux = await decompress(method === 'gzip' ? payload : payload.subarray(0, payload.length - 4), method, name);
  const found =
    vmlinux[0] === 0x7f && vmlinux.toString('latin1', 1, 4) === 'ELF'
      ? fromElf(vmlinux, name, `x86 bzImage (${method})`)
      : fromFlat(vmlinux, name, `x86 bzImage (${method})`);
  // The setup header names the release too (kernel_version): it must agree with the banner.
  const kv = bytes.readUInt16LE(0x20e);
  const headerRelease = kv > 0 && kv + 0x200 < bytes.length ? /^([A-Za-z0-9._+~-]+)/.exec(bytes.toString('latin1', kv + 0x200, kv + 0x300))?.[1] : undefined;
  return {...found, release: found.release ?? headerRelease};
}

/** arm64's EFI zboot (drivers/firmware/efi/libstub/zboot-header.S): `zimg`, then the payload's offset and size and its method's name. */
async function fromZboot(bytes: Buffer, name: string): Promise<FoundBtf> {
  const [offset, size] = [bytes.readUInt32LE(8), bytes.readUInt32LE(12)];
  const methodName = bytes.toString('latin1', 24, 32).replace(/\0.*$/s, '');
  if (offset + size > bytes.length) throw new KhpkgError('bad-input', `${name}: an EFI zboot image whose payload is past its end`);
  const method =
    ({gzip: 'gzip', xzkern: 'xz', zstd22: 'zstd', lzma: 'lzma', bzip2: 'bzip2', lz4: 'lz4', lzo: 'lzo'} as Record<string, Method>)[methodName] ??
    compressionOf(bytes.subarray(offset));
  if (!method) throw new KhpkgError('bad-input', `${name}: an EFI zboot image compressed with '${methodName}', which khpkg does not know`);
  const payload = bytes.subarray(offset, offset + size);
  const inner = await decompress(method === 'gzip' ? payload : payload.subarray(0, payload.length - 4), method, name);
  return fromFlat(inner, name, `arm64 EFI zboot (${method})`);
}

/**
 * A flat kernel image (arm64's Image, an x86 payload that is no ELF) has no sections: the BTF is
 * found by its header, the largest blob that parses.
 */
function fromFlat(bytes: Buffer, name: string, from: string): FoundBtf {
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
  return {btf: best, from, release: bannerRelease(bytes)};
}

/** Decompressed in-process (bzip2: the machine's bzip2), never past MAX_IMAGE_BYTES. */
async function decompress(data: Buffer, method: Method, name: string): Promise<Buffer> {
  const fail = (e: unknown): never => {
    throw new KhpkgError('corrupt-input', `${name}: its ${method} payload does not decompress (${(e as Error).message.split('\n')[0]})`);
  };
  switch (method) {
    case 'gzip':
      try {
        return gunzipSync(data, {maxOutputLength: MAX_IMAGE_BYTES});
      } catch (e) {
        return fail(e);
      }
    case 'xz':
    case 'lzma': {
      const lzma = (await import('lzma-native')).default;
      const decoder = method === 'xz' ? lzma.createDecompressor() : lzma.createStream('aloneDecoder');
      return collect(decoder, data).catch(fail);
    }
    case 'zstd': {
      const {DecompressStream} = await import('zstd-napi');
      return collect(new DecompressStream(), data).catch(fail);
    }
    case 'bzip2':
      return bunzip2(data, name);
    default:
      throw new KhpkgError(
        'bad-input',
        `${name}: a kernel image compressed with ${method}, which khpkg cannot decompress yet (gzip, xz, zstd, lzma and bzip2 it can)`,
      );
  }
}

function collect(stream: NodeJS.ReadWriteStream, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let total = 0;
    stream.on('data', (b: Buffer) => {
      total += b.length;
      if (total > MAX_IMAGE_BYTES) {
        reject(new Error(`more than ${MAX_IMAGE_BYTES} bytes decompressed`));
        (stream as unknown as {destroy(): void}).destroy();
        return;
      }
      parts.push(b);
    });
    stream.on('error', reject);
    stream.on('end', () => resolve(Buffer.concat(parts)));
    stream.end(data);
  });
}

function bunzip2(data: Buffer, name: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('bzip2', ['-dc'], {stdio: ['pipe', 'pipe', 'ignore']});
    const parts: Buffer[] = [];
    let total = 0;
    child.stdout.on('data', (b: Buffer) => {
      total += b.length;
      if (total > MAX_IMAGE_BYTES) child.kill();
      else parts.push(b);
    });
    child.on('error', (e: NodeJS.ErrnoException) =>
      reject(new KhpkgError('bad-input', e.code === 'ENOENT' ? `${name} is bzip2-compressed, and bzip2 is not installed` : `bzip2: ${e.message}`)),
    );
    child.on('close', (code) =>
      code === 0 ? resolve(Buffer.concat(parts)) : reject(new KhpkgError('corrupt-input', `${name}: its bzip2 payload does not decompress`)),
    );
    child.stdin.on('error', () => {});
    child.stdin.end(data);
  });
}
