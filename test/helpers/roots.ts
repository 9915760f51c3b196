import {copyFileSync, existsSync, mkdirSync, writeFileSync} from 'node:fs';
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
