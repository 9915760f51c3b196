import {createReadStream} from 'node:fs';
import {lstat, open, readdir, readFile} from 'node:fs/promises';
import {join} from 'node:path';
import {decompressStream, methodOf} from '../codec/decompress.js';
import {readTar} from '../archive/tar.js';
import {KhpkgError} from '../errors.js';
import type {KitFile} from '../content/headers.js';

/** A file kbuild needs from the kernel source, relative to the tree's top. */

export interface KernelSource {
  /** `6.12.117`, from the source's own top-level Makefile. */
  version: string;
  files: KitFile[];
}

/**
 * What a module build takes from a kernel source: the top-level and arch Makefiles, `scripts/`
 * (kbuild's makefiles and the sources of its host programs), and the parts of `tools/` objtool and
 * resolve_btfids (module BTF) are built from. Never `include/` or `arch/<arch>/include/`: the archive's headers are the truth.
 */
export function wantedFromSource(rel: string, srcarch: string): boolean {
  if (rel === 'Makefile') return true;
  if (rel.startsWith(`arch/${srcarch}/`)) return /^arch\/[^/]+\/(Makefile[^/]*|Kbuild\.platforms|Platform)$/.test(rel);
  if (rel.startsWith('scripts/')) return true;
  return (
    /^tools\/(Makefile$|objtool\/|bpf\/resolve_btfids\/|build\/|include\/|lib\/|scripts\/|arch\/[^/]+\/)/.test(rel) &&
    (!rel.startsWith('tools/arch/') || rel.startsWith(`tools/arch/${srcarch}/`))
  );
}

/** Reads the kit out of a source directory or a `linux-*.tar.{xz,gz,zst}` (streamed, never unpacked whole). */
export async function readKernelSource(path: string, srcarch: string): Promise<KernelSource> {
  const st = await lstat(path).catch(() => undefined);
  if (!st) throw new KhpkgError('not-found', `--kbuild ${path}: no such file or directory`);
  const files = st.isDirectory() ? await fromDirectory(path, srcarch) : await fromTarball(path, srcarch);
  const makefile = files.find((f) => f.path === 'Makefile');
  const version = makefile?.data && kernelVersion(makefile.data.toString('utf8'));
  if (!version) throw new KhpkgError('bad-input', `--kbuild ${path} is not a Linux kernel source (no top-level Makefile with VERSION and PATCHLEVEL)`);
  if (!files.some((f) => f.path === 'scripts/Makefile.build'))
    throw new KhpkgError('bad-input', `--kbuild ${path} has no scripts/Makefile.build: not a complete kernel source`);
  if (!files.some((f) => f.path === `arch/${srcarch}/Makefile`)) throw new KhpkgError('bad-input', `--kbuild ${path} has no arch/${srcarch}/Makefile`);
  return {version, files};
}

function kernelVersion(makefile: string): string | undefined {
  const v = (name: string): string | undefined => new RegExp(`^${name}\\s*=\\s*(\\d+)\\s*$`, 'm').exec(makefile)?.[1];
  const [major, minor, sub] = [v('VERSION'), v('PATCHLEVEL'), v('SUBLEVEL')];
  return major && minor ? `${major}.${minor}.${sub ?? '0'}` : undefined;
}

async function fromDirectory(dir: string, srcarch: string): Promise<KitFile[]> {
  const out: KitFile[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const e of await readdir(join(dir, rel), {withFileTypes: true})) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        // Descend only where something wanted can be.
        if (
          ['scripts', 'tools', 'arch'].includes(r) ||
          r === `arch/${srcarch}` ||
          r.startsWith('scripts/') ||
          (r.startsWith('tools/') && wantedFromSource(`${r}/x`, srcarch))
        )
          await walk(r);
        continue;
      }
      if (!wantedFromSource(r, srcarch)) continue;
      const abs = join(dir, r);
      // Symlinks are left out: the few in scripts/ (dtc include prefixes, dummy tools) serve no module build.
      if (e.isFile()) out.push({path: r, mode: (await lstat(abs)).mode & 0o7777, data: await readFile(abs)});
    }
  };
  await walk('');
  return out;
}

async function fromTarball(path: string, srcarch: string): Promise<KitFile[]> {
  const head = Buffer.alloc(512);
  const fh = await open(path, 'r');
  try {
    await fh.read(head, 0, 512, 0);
  } finally {
    await fh.close();
  }
  // Ubuntu's linux-source-X.Y.Z ships a .tar.bz2 (decompressed by the machine's bzip2, streamed like the rest).
  const method = methodOf(head);
  const isTar = head.toString('latin1', 257, 262) === 'ustar';
  if (method === undefined ? !isTar : !['xz', 'gzip', 'zstd', 'bzip2'].includes(method))
    throw new KhpkgError('bad-input', `--kbuild ${path} is neither a directory nor a tar (.tar.xz, .tar.gz, .tar.zst, .tar.bz2) of a kernel source`);
  const out: KitFile[] = [];
  let prefix: string | undefined;
  const file = createReadStream(path);
  try {
    await collect(method ? await decompressStream(file, method) : file);
  } catch (e) {
    if (e instanceof KhpkgError) throw e;
    const why = (e as Error).message;
    // No bzip2 on the machine is a kbuild step that cannot run: the hooks then make a headers-only tree.
    throw new KhpkgError(/not installed/.test(why) ? 'kbuild' : 'bad-input', `--kbuild ${path}: ${why}`);
  } finally {
    file.destroy();
  }
  return out;

  async function collect(stream: AsyncIterable<Buffer>): Promise<void> {
    for await (const item of readTar(stream)) {
      const name = Buffer.from(item.header.rawName, 'latin1').toString('utf8').replace(/^\.\//, '');
      // linux-6.12.117/..., linux-source-6.12/...: one top directory, whatever its name.
      prefix ??= name.includes('/') ? name.slice(0, name.indexOf('/') + 1) : `${name.replace(/\/$/, '')}/`;
      if (!name.startsWith(prefix)) continue;
      const rel = name.slice(prefix.length).replace(/\/$/, '');
      if (rel === '' || rel.split('/').includes('..') || !wantedFromSource(rel, srcarch)) continue;
      if (item.header.type === 'file' || item.header.type === 'contiguous-file')
        out.push({path: rel, mode: item.header.mode & 0o7777, data: await item.body()});
    }
  }
}
