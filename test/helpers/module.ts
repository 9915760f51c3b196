import {existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs';
import {homedir} from 'node:os';
import {join} from 'node:path';

/** A hello module that uses the kernel's headers for real (`current->pid`) and imports symbols. */
export const HELLO_C = `#include <linux/module.h>
#include <linux/sched.h>
static int __init hello_init(void) { pr_info("hello from %d\\n", current->pid); return 0; }
static void __exit hello_exit(void) { }
module_init(hello_init);
module_exit(hello_exit);
MODULE_LICENSE("GPL");
`;

/** `dir` with hello.c and its kbuild Makefile; with `dkms`, laid out as DKMS's source tree wants. */
export function writeHello(dir: string, opts: {dkms?: boolean} = {}): string {
  const src = opts.dkms ? join(dir, 'hello-1.0') : dir;
  mkdirSync(src, {recursive: true});
  writeFileSync(join(src, 'hello.c'), HELLO_C);
  writeFileSync(join(src, 'Makefile'), 'obj-m := hello.o\n');
  if (opts.dkms) {
    writeFileSync(
      join(src, 'dkms.conf'),
      'PACKAGE_NAME="hello"\nPACKAGE_VERSION="1.0"\nBUILT_MODULE_NAME[0]="hello"\nDEST_MODULE_LOCATION[0]="/updates/dkms"\nAUTOINSTALL="no"\n',
    );
  }
  return src;
}

/** `dkms build` of the hello module against `kdir`, with every DKMS tree inside `dir`. */
export function dkmsBuildArgs(dir: string, release: string, kdir: string): string[] {
  for (const d of ['dkms', 'inst']) mkdirSync(join(dir, d), {recursive: true});
  return [
    'build',
    '-m',
    'hello',
    '-v',
    '1.0',
    '-k',
    release,
    '--kernelsourcedir',
    kdir,
    '--sourcetree',
    join(dir, 'src'),
    '--dkmstree',
    join(dir, 'dkms'),
    '--installtree',
    join(dir, 'inst'),
  ];
}

/** The Debian packages `bin/fetch-kbuild-test-debs.sh` (run by `npm run setup`) unpacked for the module-build tests. */
/** Debian sid's linux-source-7.2, fetched once by `npm run setup` like the 6.12 inputs. */
export function kbuildSource72(): string {
  const dir = process.env.KHPKG_TEST_DEBS ?? (process.getuid?.() === 0 ? '/var/cache/khpkg-test' : join(homedir(), '.cache/khpkg-test'));
  const source = join(dir, 'linux-source-7.2.tar.xz');
  if (!existsSync(source)) throw new Error(`no ${source}: run 'npm run setup' (bin/fetch-kbuild-test-debs.sh fetches it from Debian sid)`);
  return source;
}

export function kbuildTestInputs(): {source: string; abi: string; modules: string; debianSymvers: string} {
  const dir = process.env.KHPKG_TEST_DEBS ?? (process.getuid?.() === 0 ? '/var/cache/khpkg-test' : join(homedir(), '.cache/khpkg-test'));
  if (!existsSync(join(dir, 'abi'))) throw new Error(`no module-build test inputs in ${dir}: run 'npm run setup' (bin/fetch-kbuild-test-debs.sh fetches them)`);
  const abi = readFileSync(join(dir, 'abi'), 'utf8').trim();
  return {
    source: join(dir, 'linux-source-6.12.tar.xz'),
    abi,
    modules: join(dir, `image-${abi}/lib/modules/${abi}`),
    debianSymvers: join(dir, `image-${abi}/usr/src/linux-headers-${abi}/Module.symvers`),
  };
}
