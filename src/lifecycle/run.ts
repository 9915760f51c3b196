import type {Limits} from '../archive/limits.js';
import {KhpkgError} from '../errors.js';
import {installHeaders} from '../install/install.js';
import {removeHeaders} from '../install/remove.js';
import {quickCheck} from '../install/verify.js';
import {Registry} from '../registry/registry.js';
import {openInstalledKernel, openSource} from '../source/index.js';

export type HookAction = 'postinst' | 'postrm' | 'boot';

export interface HookOutcome {
  action: HookAction;
  release?: string;
  /** What happened, in one line (also when nothing could be done). */
  said: string;
  /** False when something stopped it: the hook still exits 0, the kernel matters more. */
  ok: boolean;
}

/**
 * What the kernel hooks and the boot unit do. postinst: install a new kernel's headers from its
 * kheaders module (offline, never loaded); postrm: remove the set khpkg installed for that release,
 * if it is still as installed; boot: install the running kernel's headers when missing or stale.
 * Never dpkg or rpm (a hook runs inside them, their lock is taken), never header hooks (DKMS's own
 * kernel hook runs next), never long (the root lock is waited for `waitSeconds`).
 */
export async function runKernelHook(
  action: HookAction,
  release: string | undefined,
  root: string,
  opts: {waitSeconds: number; limits: Limits},
): Promise<HookOutcome> {
  try {
    if (action === 'postrm') return {action, release, ok: true, said: await removeForKernel(root, release!, opts.waitSeconds)};
    const source = action === 'boot' ? await openSource(undefined, opts.limits) : await openInstalledKernel(root, release!, opts.limits);
    const r = await installHeaders(source, {
      root,
      layout: 'debian',
      force: false,
      hooks: false,
      waitSeconds: opts.waitSeconds,
      limits: opts.limits,
      packageManagers: false,
      replaceStale: action === 'boot',
    });
    const said = r.status === 'unchanged' ? `headers for ${r.release} are installed already` : `${r.status} headers for ${r.release} at ${r.path}`;
    return {action, release: r.release, ok: true, said};
  } catch (e) {
    const deferred = e instanceof KhpkgError && e.code === 'deferred';
    return {action, release, ok: deferred, said: e instanceof Error ? e.message : String(e)};
  }
}

async function removeForKernel(root: string, release: string, waitSeconds: number): Promise<string> {
  const registry = Registry.open(root);
  const set = registry?.get(release);
  const damaged = set && (set.via ?? 'khpkg') === 'khpkg' ? quickCheck(root, registry!.files(release)) : 0;
  registry?.close();
  if (!set) return `no headers for ${release} were installed by khpkg: nothing to remove`;
  if (set.via === 'dpkg') return `headers for ${release} were installed through dpkg (${set.package}): left for apt to remove ('apt remove ${set.package}')`;
  if (set.via === 'rpm') return `headers for ${release} were installed through rpm (${set.package}): left for rpm to remove ('rpm -e ${set.package}')`;
  if (damaged > 0)
    return `headers for ${release} were changed since they were installed (${damaged} file(s)): left in place; 'khpkg remove ${release}' removes them`;
  const r = await removeHeaders(root, release, waitSeconds);
  return r.ownedBy ? `headers for ${release} now belong to the ${r.ownedBy}: left to it` : `removed headers for ${release} from ${r.path}`;
}
