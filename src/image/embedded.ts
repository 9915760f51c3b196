import {peekDecompressed} from '../archive/compression.js';
import {findXzStreams, rangeBetweenSymbols} from '../elf/elf.js';
import type {KernelImage} from './kernel-image.js';

/**
 * CONFIG_IKHEADERS=y: the kheaders archive is in the kernel itself, in .rodata between
 * `kernel_headers_data` and `kernel_headers_data_end` (kernel/kheaders.c), with no marker around
 * it. In a vmlinux with its symbols it is found by them; in a stripped one (x86's bzImage payload)
 * or a flat one (arm64's Image) by content: every complete xz stream (header and footer checksums,
 * findXzStreams) whose first bytes decompress to the tar `kernel/gen_kheaders.sh` makes (its first
 * entries `./`, `./arch/` or `./include/`), the largest first. The bytes returned are a copy, exactly
 * what the running kernel serves as /sys/kernel/kheaders.tar.xz, and are validated as any archive
 * is by whoever reads them. Undefined when the kernel holds none (built without it, or `=m`).
 */
export async function embeddedKheaders(image: KernelImage): Promise<Buffer | undefined> {
  const {kernel} = image;
  if (image.elf) {
    const bySymbol = rangeBetweenSymbols(kernel, 'kernel_headers_data', 'kernel_headers_data_end');
    if (bySymbol && bySymbol.end > bySymbol.start) return Buffer.from(kernel.subarray(bySymbol.start, bySymbol.end));
  }
  const streams = findXzStreams(kernel).sort((a, b) => b.end - b.start - (a.end - a.start));
  for (const s of streams) {
    const xz = kernel.subarray(s.start, s.end);
    if (await startsLikeKheaders(xz)) return Buffer.from(xz);
  }
  return undefined;
}

/**
 * The first decompressed bytes are gen_kheaders.sh's sorted tar of `.`: its first entry `./`, then
 * one under `./arch/` or `./include/` (or those first, in a tar made without the root's entry).
 */
async function startsLikeKheaders(xz: Buffer): Promise<boolean> {
  try {
    const head = await peekDecompressed(xz, 'xz');
    const name = (at: number): string | undefined =>
      head.length >= at + 512 && head.toString('latin1', at + 257, at + 262) === 'ustar'
        ? head.toString('latin1', at, at + 100).replace(/\0.*$/s, '')
        : undefined;
    const ours = (n: string | undefined): boolean => n !== undefined && (n.startsWith('./include/') || n.startsWith('./arch/'));
    const first = name(0);
    return ours(first) || (first === './' && ours(name(512)));
  } catch {
    return false; // not an xz stream that decodes: a magic number by chance
  }
}
