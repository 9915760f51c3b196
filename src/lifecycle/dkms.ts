import {existsSync, lstatSync, renameSync} from 'node:fs';
import {inRoot} from '../root/paths.js';
import {runTool} from '../tool.js';

/** Where DKMS's own program is in a root, if it is installed. */
export function dkmsProgram(root: string): string | undefined {
  return ['usr/sbin/dkms', 'usr/bin/dkms', 'sbin/dkms'].find((p) => existsSync(inRoot(root, p)));
}

/** DKMS is installed in the root: its kernel hook and dkms.service build modules against whatever `build/include` they find. */
export function dkmsInstalled(root: string): boolean {
  return dkmsProgram(root) !== undefined;
}

/** The build link, moved aside while DKMS's own hook runs (see tryDkms). */
const hiddenLink = (release: string): string => `lib/modules/${release}/.build.khpkg-after-dkms`;

/**
 * With a module-build tree in place and before DKMS's own hook runs, khpkg runs `dkms autoinstall`
 * for the kernel itself. The modules that build are installed, as DKMS's hook would have done. If
 * one fails (a module that does not support this kernel), the build link is moved aside until the
 * phase after DKMS puts it back: DKMS's hook then finds no headers and skips the kernel, as it would
 * without khpkg, instead of failing the kernel package's configuration (dkms 3.0.10 exits 11 and
 * dpkg leaves the kernel half-configured). Only on `/`: DKMS knows no other root.
 * Returns the modules that failed ([] when all built).
 */
export async function tryDkms(root: string, release: string): Promise<string[]> {
  const dkms = dkmsProgram(root);
  if (root !== '/' || !dkms) return [];
  const r = await runTool(`/${dkms}`, ['autoinstall', '--kernelver', release]).catch(() => undefined);
  if (r?.code === 0) return [];
  const status = await runTool(`/${dkms}`, ['status', '-k', release]).catch(() => undefined);
  // `name/version, release, arch: installed`; a module that failed is only `name/version: added`.
  const failed = (status?.output ?? '')
    .split('\n')
    .filter((l) => /: added$/.test(l.trim()))
    .map((l) => l.split(':')[0]!.trim());
  const link = `lib/modules/${release}/build`;
  if (lstatSync(inRoot(root, link), {throwIfNoEntry: false})?.isSymbolicLink()) renameSync(inRoot(root, link), inRoot(root, hiddenLink(release)));
  return failed.length > 0 ? failed : ['(see dkms status)'];
}

/** After DKMS: the build link tryDkms moved aside is put back. */
export function restoreBuildLink(root: string, release: string): boolean {
  const hidden = inRoot(root, hiddenLink(release));
  if (!lstatSync(hidden, {throwIfNoEntry: false})?.isSymbolicLink()) return false;
  const link = inRoot(root, `lib/modules/${release}/build`);
  if (lstatSync(link, {throwIfNoEntry: false})) return false; // something else made one meanwhile: theirs
  renameSync(hidden, link);
  return true;
}
