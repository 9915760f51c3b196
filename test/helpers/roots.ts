import {spawn} from 'node:child_process';
import {copyFileSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {mustRun} from './run.js';
import {REAL} from './kheaders.js';

/** An empty dpkg database under `root`, as `dpkg --root` needs it. */
export function dpkgRoot(root: string): void {
  for (const d of ['info', 'updates', 'triggers']) mkdirSync(join(root, 'var/lib/dpkg', d), {recursive: true});
  writeFileSync(join(root, 'var/lib/dpkg/status'), '');
  writeFileSync(join(root, 'var/lib/dpkg/available'), '');
}

/** `rpm --root` arguments, with an rpm database made inside the root (Debian's rpm keeps it in ~/.rpmdb). */
export function rpmRoot(root: string): string[] {
  mkdirSync(root, {recursive: true});
  mustRun('rpm', ['--root', root, '--initdb']);
  return ['--root', root];
}

/**
 * A root holding an installed (not running) kernel made from the bundled archive, as Debian lays it
 * out: its kheaders.ko.xz under lib/modules/<rel>/kernel/kernel/, a modules.dep naming it, and its
 * config at boot/config-<rel>. The module is a real ELF object carrying the archive.
 */
export function installedKernelRoot(dir: string, root: string, release = REAL.release, opts: {kheaders?: 'module' | 'builtin' | 'none'} = {}): void {
  const mod = join(root, 'lib/modules', release);
  mkdirSync(join(mod, 'kernel/kernel'), {recursive: true});
  mkdirSync(join(root, 'boot'), {recursive: true});
  copyFileSync(REAL.config, join(root, 'boot', `config-${release}`));
  const kind = opts.kheaders ?? 'module';
  if (kind === 'module') {
    copyFileSync(kheadersModuleXz(dir, release), join(mod, 'kernel/kernel/kheaders.ko.xz'));
    writeFileSync(join(mod, 'modules.dep'), 'kernel/kernel/kheaders.ko.xz:\n');
  } else {
    writeFileSync(join(mod, 'modules.dep'), '');
    writeFileSync(join(mod, 'modules.builtin'), kind === 'builtin' ? 'kernel/kernel/kheaders.ko\n' : 'kernel/lib/crc32.ko\n');
  }
}

/** A real ELF object carrying the bundled archive as kheaders.ko does, xz-compressed as Debian ships modules; made once in `dir`. */
export function kheadersModuleXz(dir: string, release = REAL.release): string {
  const ko = join(dir, `kheaders-${release}.ko`);
  if (!existsSync(`${ko}.xz`)) {
    writeFileSync(join(dir, 'empty.c'), 'int khpkg_test;\n');
    mustRun('gcc', ['-c', join(dir, 'empty.c'), '-o', join(dir, 'empty.o')]);
    mustRun('objcopy', ['--add-section', `.rodata.kheaders=${REAL.archive}`, join(dir, 'empty.o'), ko]);
    mustRun('xz', ['-k', ko]);
  }
  return `${ko}.xz`;
}

/**
 * A root pacman can install into, as an Arch system has it: its local database, log and cache dirs,
 * and a pacman.conf with Arch's own LocalFileSigLevel (a package file given to `pacman -U` need not be signed).
 */
export function pacmanRoot(root: string): void {
  for (const d of ['var/lib/pacman/local', 'var/log', 'var/cache/pacman/pkg', 'etc']) mkdirSync(join(root, d), {recursive: true});
  writeFileSync(join(root, 'etc/pacman.conf'), '[options]\nArchitecture = auto\nSigLevel = Required DatabaseOptional\nLocalFileSigLevel = Optional\n');
}

/** pacman's own arguments for `root` (pacmanRoot's layout). */
export function pacmanArgs(root: string): string[] {
  return [
    '--root',
    root,
    '--dbpath',
    join(root, 'var/lib/pacman'),
    '--config',
    join(root, 'etc/pacman.conf'),
    '--logfile',
    join(root, 'var/log/pacman.log'),
    '--cachedir',
    join(root, 'var/cache/pacman/pkg'),
  ];
}

/** A root seen from inside a private mount namespace: how to run a command there, and a path as that namespace sees it. */
export interface NamespacedRoot {
  /** Prefix of a command line that runs it in the namespace (nsenter). */
  wrap: string[];
  /** `path` (absolute) as the namespace sees it, readable from the test (through /proc/<pid>/root). */
  view(path: string): string;
  /**
   * The extensions systemd-sysext merged on `root`'s /usr, in its own record of them (its `status`
   * reads the host's, not --root's, in 252); [] when nothing is merged.
   */
  merged(root: string): string[];
  close(): void;
}

/**
 * A root shaped like Flatcar Container Linux: its os-release (`ID`, `VERSION_ID`, `SYSEXT_LEVEL`),
 * merged /usr (`lib`, `bin` and `sbin` links into it), the kernel's modules dir under
 * /usr/lib/modules/<rel>, /etc and /var writable; and a private mount namespace, held open by a
 * sleeping process, in which /usr is mounted read-only and systemd-sysext can merge over it
 * (machine-notes: /run a tmpfs, the root a shared bind mount of itself).
 */
export function immutableRoot(root: string, release = REAL.release, os: {id?: string; versionId?: string; sysextLevel?: string} = {}): NamespacedRoot {
  for (const d of ['usr/lib', 'usr/bin', 'usr/sbin', `usr/lib/modules/${release}/kernel`, 'etc', 'var/lib', 'tmp']) mkdirSync(join(root, d), {recursive: true});
  for (const l of ['lib', 'bin', 'sbin']) if (!existsSync(join(root, l))) symlinkSync(`usr/${l}`, join(root, l));
  const {id = 'flatcar', versionId = '4081.2.0', sysextLevel = '1.0'} = os;
  const fields = [`NAME="Flatcar Container Linux by Kinvolk"`, `ID=${id}`, `VERSION_ID=${versionId}`, ...(sysextLevel ? [`SYSEXT_LEVEL=${sysextLevel}`] : [])];
  writeFileSync(join(root, 'usr/lib/os-release'), `${fields.join('\n')}\n`);
  if (!existsSync(join(root, 'etc/os-release'))) symlinkSync('../usr/lib/os-release', join(root, 'etc/os-release'));
  const ready = join(root, 'tmp/.namespace-ready');
  const script = [
    'set -e',
    'mount -t tmpfs tmpfs /run',
    `mount --bind '${root}' '${root}'`,
    `mount --make-rshared '${root}'`,
    `mount --bind '${root}/usr' '${root}/usr'`,
    `mount -o remount,ro,bind '${root}/usr'`,
    `touch '${ready}'`,
    'exec sleep infinity',
  ].join('\n');
  const holder = spawn('unshare', ['-m', '--propagation', 'private', 'bash', '-c', script], {stdio: 'ignore', detached: true});
  holder.unref();
  const started = Date.now();
  while (!existsSync(ready)) {
    if (holder.exitCode !== null || Date.now() - started > 10_000)
      throw new Error(`unshare could not make the mount namespace for ${root} (exit ${holder.exitCode})`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  }
  const pid = holder.pid!;
  return {
    wrap: ['nsenter', '-t', String(pid), '-m', '--'],
    view: (path) => `/proc/${pid}/root${path}`,
    merged: (root) => {
      const file = `/proc/${pid}/root${join(root, 'usr/.systemd-sysext/extensions')}`;
      return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean) : [];
    },
    close: () => {
      try {
        process.kill(pid);
      } catch {
        // already gone
      }
    },
  };
}
