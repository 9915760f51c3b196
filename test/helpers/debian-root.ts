import assert from 'node:assert/strict';
import {existsSync, mkdirSync, readdirSync, readFileSync} from 'node:fs';
import {join} from 'node:path';
import {mustRun, needInput, scratch, tool, type RunResult} from './run.js';
import {CACHE} from './cache.js';

export {CACHE};

export const PROJECT = new URL('../..', import.meta.url).pathname;
export const VERSION = (JSON.parse(readFileSync(join(PROJECT, 'package.json'), 'utf8')) as {version: string}).version;
/** The minimal Debian root bin/make-test-root.sh made once: debootstrap minbase, no Node.js, no compiler. */
export const MINBASE = join(CACHE, 'minbase-bookworm');
/** The same with Debian's dkms, linux-base, kbuild's build needs and two real DKMS packages (bin/make-test-root.sh). */
export const DKMS_ROOT = join(CACHE, 'dkms-bookworm');
/** What a program in a chroot sees: none of this machine's Node settings (NODE_EXTRA_CA_CERTS...). */
export const CLEAN_ENV = ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOME=/root', 'LANG=C.UTF-8'];

export interface Release {
  dir: string;
  tar: string;
  deb: string;
  rpm: string;
  pacman: string;
  sysext: string;
}

/**
 * `npm run dist` into `dir` for a CPU (Node's name; this machine's by default), with a fixed
 * SOURCE_DATE_EPOCH. Cross-built addons are kept in a cache of this test run only (ADDON_CACHE): the
 * run's first foreign dist compiles them, whatever an earlier run or the developer's own dists left.
 */
export function dist(dir: string, arch = process.arch): Release {
  // dist itself is not rebuilt: npm test built it, and the other test files (run side by side) use it meanwhile.
  mustRun('bash', [join(PROJECT, 'bin/dist.sh'), '--out', dir, '--arch', arch], {
    env: {SOURCE_DATE_EPOCH: '1700000000', KHPKG_ADDON_CACHE: addonCache(), KHPKG_DIST_PREBUILT: '1'},
  });
  const find = (re: RegExp): string => join(dir, readdirSync(dir).find((f) => re.test(f)) ?? assert.fail(`dist wrote no file like ${re} in ${dir}`));
  return {
    dir,
    tar: find(/^khpkg-.*-linux-.*\.tar\.xz$/),
    deb: find(/^khpkg_.*\.deb$/),
    rpm: find(/^khpkg-.*\.rpm$/),
    pacman: find(/^khpkg-.*\.pkg\.tar\.zst$/),
    sysext: find(/^khpkg\.raw$/),
  };
}

/** A copy of the minimal root with /proc and /dev bound, and a way to run things in it. */
export class TestRoot {
  private readonly mounts: string[] = [];
  /** A fresh copy of the minimal root (or of `from`) at `dir`, or (adopt) the root already there. */
  constructor(
    readonly dir: string,
    opts: {adopt?: boolean; from?: string} = {},
  ) {
    if (!opts.adopt) mustRun('cp', ['-a', `${opts.from ?? MINBASE}/.`, dir]);
    this.bind('/proc', 'proc');
    this.bind('/dev', 'dev');
  }
  bind(from: string, at: string): void {
    mkdirSync(join(this.dir, at), {recursive: true});
    mustRun('mount', ['--bind', from, join(this.dir, at)]);
    this.mounts.push(join(this.dir, at));
  }
  run(args: string[], env: string[] = []): RunResult {
    return tool('env', ['-i', ...CLEAN_ENV, ...env, 'chroot', this.dir, ...args]);
  }
  must(args: string[], env: string[] = []): string {
    const r = this.run(args, env);
    if (r.code !== 0) assert.fail(`${args.join(' ')} in ${this.dir} exited ${r.code}:\n${r.stderr}${r.stdout}`);
    return r.stdout;
  }
  /** Paths under the root whose name says khpkg, outside /proc, /dev and /tmp. */
  khpkgPaths(): string[] {
    const r = mustRun('find', [
      this.dir,
      '(',
      '-path',
      `${this.dir}/proc`,
      '-o',
      '-path',
      `${this.dir}/dev`,
      '-o',
      '-path',
      `${this.dir}/tmp`,
      ')',
      '-prune',
      '-o',
      '-name',
      '*khpkg*',
      '-print',
    ]);
    return r
      .split('\n')
      .filter(Boolean)
      .map((p) => p.slice(this.dir.length));
  }
  unmount(): void {
    for (const m of this.mounts.reverse()) tool('umount', ['-l', m]);
    this.mounts.length = 0;
  }
}

/** The arm64 sysroot bin/make-test-root.sh made once: debootstrap --foreign, only unpacked (no binfmt_misc here to configure it). */
export const ARM64_SYSROOT = join(CACHE, 'minbase-bookworm-arm64');

let built: Release | undefined;
let builtArm64: Release | undefined;
let work: {dir: string; cleanup: () => void} | undefined;
// Every suite of this process shares the release (mocha's parallel workers each have theirs); it goes with the process.
process.on('exit', () => work?.cleanup());
/** Where the shared release and other dists are written. */
export function releaseDir(): string {
  work ??= scratch('khpkg-release-');
  return work.dir;
}
/** Where this test run's dists keep the addons they cross-compiled (see dist). */
export function addonCache(): string {
  return join(releaseDir(), 'addon-cache');
}
/** One release for every test that needs one (a dist takes about a minute). */
export function release(): Release {
  built ??= dist(join(releaseDir(), 'a'));
  return built;
}

/** The arm64 release, cross-built once for every test that needs it (a few minutes: the addons are compiled). */
export function arm64Release(): Release {
  builtArm64 ??= dist(join(releaseDir(), 'arm64-a'), 'arm64');
  return builtArm64;
}

/** In a suite's before(): fail naming what is missing unless running as root with the cached Debian root `dir` (made by npm run setup). */
export function needDebianRoot(dir: string, marker: string): void {
  needInput(process.getuid?.() === 0, 'these tests need root: chroot, bind mounts and dpkg');
  needInput(existsSync(join(dir, marker)), `no test root at ${dir}: 'npm run setup' makes it (bin/make-test-root.sh)`);
}
