import {existsSync, readFileSync} from 'node:fs';
import {KhpkgError} from '../errors.js';
import type {Limits} from '../archive/limits.js';
import {checkedInRoot} from '../root/paths.js';
import {runningRelease} from './kernel.js';
import {archiveFromModule} from './module.js';
import {openKernelImage} from '../image/kernel-image.js';
import {embeddedKheaders} from '../image/embedded.js';

/** Where distributions put a kernel's kheaders module, before modules.dep is asked. */
const MODULE_NAMES = ['kernel/kernel/kheaders.ko', 'kernel/kernel/kheaders.ko.xz', 'kernel/kernel/kheaders.ko.zst', 'kernel/kernel/kheaders.ko.gz'];

/** What an installed kernel offers: its kheaders module (read offline, never loaded) and its config. */
export interface InstalledKernel {
  release: string;
  /** The module, absolute; undefined when kheaders is built into the kernel (then it is in the image). */
  module?: string;
  builtin: boolean;
  config?: {bytes: Buffer; origin: string};
  /** The kernel image, where its BTF is: `/boot/vmlinuz-<rel>` (Debian, Ubuntu), `lib/modules/<rel>/vmlinuz` (Fedora, Arch), ... */
  image?: {path: string; origin: string};
}

/** Where distributions put an installed kernel's image, relative to the root, in the order they are looked for. */
const IMAGE_NAMES = (r: string): string[] => [
  `boot/vmlinuz-${r}`,
  `lib/modules/${r}/vmlinuz`,
  `boot/vmlinux-${r}`,
  `boot/Image-${r}`,
  `usr/lib/debug/boot/vmlinux-${r}`,
];

/**
 * Finds kernel `release` installed under `root`: `lib/modules/<release>/kernel/kernel/kheaders.ko`
 * (also `.xz`, `.zst`, `.gz`, or wherever `modules.dep` puts it), and its config from
 * `boot/config-<release>` (Debian) or `lib/modules/<release>/config` (Fedora, Arch).
 */
export function findInstalledKernel(root: string, release: string): InstalledKernel {
  if (!/^[A-Za-z0-9._+~-]+$/.test(release)) throw new KhpkgError('usage', `--kernel '${release}' is not a kernel release`);
  const dir = checkedInRoot(root, `lib/modules/${release}`);
  if (!existsSync(dir)) throw new KhpkgError('not-found', `no kernel ${release} is installed (no ${dir})`);
  const read = (rel: string): string => {
    try {
      return readFileSync(checkedInRoot(root, rel), 'utf8');
    } catch {
      return '';
    }
  };
  const fromDep = /^([^:\s]*\/kheaders\.ko(?:\.[a-z]+)?):/m.exec(read(`lib/modules/${release}/modules.dep`))?.[1];
  const candidates = [...MODULE_NAMES, ...(fromDep && !fromDep.startsWith('/') && !fromDep.split('/').includes('..') ? [fromDep] : [])];
  const module = candidates.map((c) => checkedInRoot(root, `lib/modules/${release}/${c}`)).find((p) => existsSync(p));
  const builtin = !module && /(^|\/)kheaders\.ko$/m.test(read(`lib/modules/${release}/modules.builtin`));
  const configRel = [`boot/config-${release}`, `lib/modules/${release}/config`].find((c) => existsSync(checkedInRoot(root, c)));
  const config = configRel === undefined ? undefined : {bytes: readFileSync(checkedInRoot(root, configRel)), origin: `/${configRel}`};
  const imageRel = IMAGE_NAMES(release).find((c) => existsSync(checkedInRoot(root, c)));
  const image = imageRel === undefined ? undefined : {path: checkedInRoot(root, imageRel), origin: `/${imageRel}`};
  return {release, module, builtin, config, image};
}

/**
 * The archive of an installed kernel: from its module, else (CONFIG_IKHEADERS=y) from its image
 * (image/embedded.ts). A kernel whose image holds none (or that has no image) and whose
 * modules.builtin names kheaders says its headers come at its first boot, from sysfs.
 */
export async function installedKernelArchive(
  k: InstalledKernel,
  root: string,
  limits: Limits,
): Promise<{bytes: Buffer; from: 'module' | 'kernel-image'; path: string}> {
  if (k.module) return {bytes: await archiveFromModule(readFileSync(k.module), limits.maxInputBytes), from: 'module', path: k.module};
  const fromImage = k.image && (await archiveFromImage(k.image.path, k.image.origin, limits));
  if (fromImage) return {bytes: fromImage, from: 'kernel-image', path: k.image!.path};
  if (k.builtin) {
    if (root === '/' && k.release === runningRelease())
      throw new KhpkgError('usage', `${k.release} is the running kernel with kheaders built in: run 'khpkg install' without --kernel`);
    throw new KhpkgError(
      'deferred',
      `${k.release} has kheaders built in: its headers will be installed at its first boot (khpkg.service; see 'khpkg hooks status')`,
    );
  }
  throw new KhpkgError('no-kheaders', `${k.release} has no kheaders module (CONFIG_IKHEADERS is off in that kernel): nothing to install its headers from`);
}

/** The kheaders archive built into an installed kernel's image, if it is one khpkg can open and holds one. */
async function archiveFromImage(path: string, origin: string, limits: Limits): Promise<Buffer | undefined> {
  const bytes = readFileSync(path);
  if (bytes.length > limits.maxInputBytes) return undefined;
  try {
    return await embeddedKheaders(await openKernelImage(bytes, origin));
  } catch {
    return undefined; // an image khpkg cannot open holds no archive it can give: the kheaders.ko or sysfs must
  }
}
