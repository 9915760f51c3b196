import {copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {CACHE} from './cache.js';
import {mustRun} from './run.js';

/** Debian's real kernel package of the bundled archive's release, kept by `npm run setup`; undefined when Debian no longer served it. */
export function debianKernelDeb(release: string): string | undefined {
  const dir = join(CACHE, 'kernel-pkgs');
  const name = existsSync(dir) ? readdirSync(dir).find((f) => f.startsWith(`linux-image-${release}-unsigned_`) && f.endsWith('.deb')) : undefined;
  return name && join(dir, name);
}

/** A real ELF object carrying `archive` as kheaders.ko does, xz-compressed as Debian, Ubuntu and Fedora ship modules. */
export function kheadersKoXz(dir: string, archive: string, tag: string): string {
  const ko = join(dir, `kheaders-${tag}.ko`);
  if (!existsSync(`${ko}.xz`)) {
    writeFileSync(join(dir, 'empty.c'), 'int khpkg_test;\n');
    mustRun('gcc', ['-c', join(dir, 'empty.c'), '-o', join(dir, 'empty.o')]);
    mustRun('objcopy', ['--add-section', `.rodata.kheaders=${archive}`, join(dir, 'empty.o'), ko]);
    mustRun('xz', ['-k', ko]);
  }
  return `${ko}.xz`;
}

/**
 * Debian's real kernel package with `archive` put into it as `lib/modules/<rel>/kernel/kernel/kheaders.ko.xz`
 * (where Ubuntu's and Fedora's packages carry it), its md5sums updated, rebuilt by dpkg-deb with xz as
 * Debian builds it. Made once per machine (a minute), beside the original in the test cache.
 */
export function debianKernelDebWithKheaders(original: string, release: string, archive: string, work: string): string {
  const out = join(CACHE, 'kernel-pkgs/with-kheaders', original.split('/').pop()!);
  if (existsSync(out)) return out;
  mkdirSync(join(CACHE, 'kernel-pkgs/with-kheaders'), {recursive: true});
  const tree = join(work, 'repack');
  rmSync(tree, {recursive: true, force: true});
  mustRun('dpkg-deb', ['-R', original, tree]);
  const rel = `lib/modules/${release}/kernel/kernel/kheaders.ko.xz`;
  mkdirSync(join(tree, `lib/modules/${release}/kernel/kernel`), {recursive: true});
  copyFileSync(kheadersKoXz(work, archive, release), join(tree, rel));
  mustRun('sh', ['-c', `cd '${tree}' && md5sum '${rel}' >> DEBIAN/md5sums`]);
  mustRun('dpkg-deb', ['-b', '-Zxz', tree, `${out}.part`]);
  renameSync(`${out}.part`, out);
  rmSync(tree, {recursive: true, force: true});
  return out;
}

/** Files of a kernel package to make, relative to `/`: content from a file, or text. */
export type KernelFiles = Record<string, {from: string} | {text: string}>;

function writeFiles(tree: string, files: KernelFiles): void {
  for (const [path, f] of Object.entries(files)) {
    mkdirSync(join(tree, path, '..'), {recursive: true});
    if ('from' in f) copyFileSync(f.from, join(tree, path));
    else writeFileSync(join(tree, path), f.text);
  }
}

/** A small .deb laid out as Ubuntu's linux-modules-<rel> (md5sums and all), by dpkg-deb. */
export function kernelDeb(dir: string, name: string, version: string, files: KernelFiles): string {
  const tree = join(dir, `${name}.tree`);
  rmSync(tree, {recursive: true, force: true});
  writeFiles(tree, files);
  mkdirSync(join(tree, 'DEBIAN'));
  writeFileSync(
    join(tree, 'DEBIAN/control'),
    `Package: ${name}\nVersion: ${version}\nArchitecture: amd64\nMaintainer: khpkg tests <tests@khpkg.invalid>\nDescription: a kernel package for khpkg's tests\n`,
  );
  mustRun('sh', ['-c', `cd '${tree}' && find . -path ./DEBIAN -prune -o -type f -printf '%P\\0' | sort -z | xargs -0 md5sum > DEBIAN/md5sums`]);
  const out = join(dir, `${name}_${version}_amd64.deb`);
  mustRun('dpkg-deb', ['-b', '-Zxz', tree, out]);
  rmSync(tree, {recursive: true, force: true});
  return out;
}

/** An .rpm laid out as Fedora's kernel packages are (`kernel-core`, `kernel-modules-core`), made by rpmbuild with a zstd payload as Fedora's. */
export function kernelRpm(dir: string, name: string, version: string, files: KernelFiles): string {
  const top = join(dir, `rpmtop-${name}`);
  const src = join(dir, `rpmsrc-${name}`);
  rmSync(top, {recursive: true, force: true});
  rmSync(src, {recursive: true, force: true});
  writeFiles(src, files);
  mkdirSync(join(top, 'SPECS'), {recursive: true});
  const paths = Object.keys(files).map((p) => `/${p}`);
  writeFileSync(
    join(top, 'SPECS/k.spec'),
    `Name: ${name}\nVersion: ${version}\nRelease: 1\nSummary: a kernel package for khpkg's tests\nLicense: GPL-2.0-only\nAutoReqProv: no\n%description\nkhpkg tests\n%install\ncp -a ${src}/. %{buildroot}/\n%files\n${paths.join('\n')}\n`,
  );
  mustRun('rpmbuild', [
    '--quiet',
    '--define',
    `_topdir ${top}`,
    '--define',
    '_binary_payload w3.zstdio',
    '--define',
    '__os_install_post %{nil}',
    '--define',
    'debug_package %{nil}',
    '--define',
    `_rpmdir ${dir}`,
    '--target',
    'x86_64',
    '-bb',
    join(top, 'SPECS/k.spec'),
  ]);
  rmSync(top, {recursive: true, force: true});
  rmSync(src, {recursive: true, force: true});
  return join(dir, 'x86_64', `${name}-${version}-1.x86_64.rpm`);
}
