import {KhpkgError} from '../errors.js';
import {decompressAll} from '../archive/compression.js';
import {findXzStreams, rangeBetweenSymbols} from '../elf/elf.js';

/**
 * Takes the kheaders archive out of a `kheaders.ko` (plain, `.ko.xz` or `.ko.zst`): first by the
 * kernel's own symbols, else by the xz framing. The bytes returned are exactly what the kernel would
 * serve as /sys/kernel/kheaders.tar.xz, so a package built from either is the same.
 */
export async function archiveFromModule(bytes: Buffer, maxBytes: number): Promise<Buffer> {
  const elf = await decompressAll(bytes, maxBytes);
  if (elf.readUInt32BE(0) !== 0x7f454c46) throw new KhpkgError('bad-input', 'the compressed file holds neither a tar archive nor an ELF module');
  const bySymbol = rangeBetweenSymbols(elf, 'kernel_headers_data', 'kernel_headers_data_end');
  if (bySymbol && bySymbol.end > bySymbol.start) {
    return elf.subarray(bySymbol.start, bySymbol.end);
  }
  const streams = findXzStreams(elf);
  if (streams.length === 0) {
    throw new KhpkgError('bad-input', 'the ELF file holds no kheaders archive (no kernel_headers_data symbol and no complete xz stream)');
  }
  // The kheaders payload dwarfs anything else xz-compressed a module might carry.
  const largest = streams.reduce((a, b) => (b.end - b.start > a.end - a.start ? b : a));
  return elf.subarray(largest.start, largest.end);
}
