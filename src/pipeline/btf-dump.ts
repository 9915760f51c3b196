import {open} from 'node:fs/promises';
import type {Limits} from '../archive/limits.js';
import {isBtfHeader} from '../btf/btf.js';
import {writeVmlinuxH} from '../btf/c-dump.js';
import {KhpkgError} from '../errors.js';
import {writePackageFile} from '../formats/output.js';
import {readKernelBtf, type KernelBtf} from '../source/btf.js';
import {identifyKernelPackage, readKernelParts} from '../source/kernel-package.js';
import {kernelPaths} from '../source/kernel.js';

/** What `btf dump` read: where from, what it was, how many types. */
export interface BtfDump {
  source: string;
  from: string;
  release?: string;
  types: number;
  sha256: string;
  /** vmlinux.h, latin1 bytes as bpftool writes them. */
  header: Buffer;
}

/**
 * vmlinux.h of a kernel, what people run `bpftool btf dump file F format c` for, on machines with
 * no bpftool: from a kernel image (bzImage, arm64 Image, zboot, compressed whole), a vmlinux ELF,
 * raw BTF, or a kernel package (its image); by default the running kernel's
 * /sys/kernel/btf/vmlinux. A file without BTF, or malformed BTF, is one line.
 */
export async function dumpBtf(spec: string | undefined, limits: Limits): Promise<BtfDump> {
  const k = await kernelBtfOf(spec, limits);
  return {source: k.origin, from: k.from, release: k.release, types: k.types, sha256: k.sha256, header: writeVmlinuxH(k.btf)};
}

async function kernelBtfOf(spec: string | undefined, limits: Limits): Promise<KernelBtf> {
  if (spec === undefined) {
    const path = kernelPaths().btf;
    const {btf} = await readKernelBtf({path, origin: path, given: true}).catch((e: unknown) => {
      if (e instanceof KhpkgError && e.code === 'not-found')
        throw new KhpkgError('no-btf', `${path}: no such file: the running kernel has no BTF (CONFIG_DEBUG_INFO_BTF); give a kernel image or a BTF file`);
      throw e;
    });
    return btf!;
  }
  // Raw BTF and ELF files go straight to the BTF reader: sysfs's /sys/kernel/btf/vmlinux says it
  // has 4096 bytes (or none) whatever it holds, which a package reader would take for cut short.
  const head = await readHead(spec);
  if (isBtfHeader(head) || head.readUInt32BE(0) === 0x7f454c46) return (await readKernelBtf({path: spec, origin: spec, given: true})).btf!;
  const pkg = await identifyKernelPackage(spec);
  if (pkg) {
    if (pkg.releases.length > 1)
      throw new KhpkgError('usage', `${spec} holds the files of ${pkg.releases.length} kernels (${pkg.releases.join(', ')}): give one kernel's package`);
    const parts = await readKernelParts({release: pkg.releases[0]!, packages: [pkg]}, limits);
    if (!parts.image) throw new KhpkgError('no-btf', `${spec}: ${pkg.name} holds no kernel image of ${pkg.releases[0]} (its BTF is in the image)`);
    const {btf} = await readKernelBtf({path: parts.image.origin, origin: parts.image.origin, given: true, bytes: parts.image.bytes});
    return btf!;
  }
  const {btf} = await readKernelBtf({path: spec, origin: spec, given: true});
  return btf!;
}

/** The first bytes of a file (fewer when it is shorter), or the one line saying why it cannot be read. */
async function readHead(path: string): Promise<Buffer> {
  const fh = await open(path, 'r').catch((e: NodeJS.ErrnoException) => {
    throw new KhpkgError('not-found', `${path}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  });
  try {
    const buf = Buffer.alloc(64);
    const {bytesRead} = await fh.read(buf, 0, buf.length, 0);
    return buf.subarray(0, Math.max(bytesRead, 4));
  } finally {
    await fh.close();
  }
}

/** vmlinux.h to `path`, whole or not at all (a temp file beside it, then a rename). */
export async function writeHeaderFile(path: string, header: Buffer): Promise<void> {
  try {
    await writePackageFile(path, async (fh) => (await fh.write(header)).bytesWritten);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new KhpkgError('io', `${path}: ${code === 'ENOENT' ? 'its directory does not exist' : (e as Error).message}`);
  }
}
