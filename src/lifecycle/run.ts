import {existsSync, lstatSync, rmSync, writeFileSync} from 'node:fs';
import type {Limits} from '../archive/limits.js';
import {checkedInRoot, ensureDirInRoot, inRoot} from '../root/paths.js';
import {KhpkgError} from '../errors.js';
import {installedAsIs, installHeaders, type InstallOptions, type InstallResult} from '../install/install.js';
import {removeHeaders} from '../install/remove.js';
import {chooseVia, installVia} from '../install/bridge.js';
import {pruneCandidates} from '../install/prune.js';
import {quickCheck} from '../install/verify.js';
import {howToGiveSource, seriesOf} from '../kbuild/discover.js';
import {Registry} from '../registry/registry.js';
import {rowForManager, type Manager} from '../formats/table.js';
import {openInstalledKernel, openSource, type ArchiveSource} from '../source/index.js';
import {runningRelease} from '../source/kernel.js';
import {dkmsInstalled, restoreBuildLink, tryDkms} from './dkms.js';
import {installModuleBuildTree, tierFor} from './tier.js';

/**
 * postinst/boot run before DKMS: a module-build tree where the series has a source, so DKMS builds;
 * else a headers-only tree, which DKMS skips as if no headers were installed (it has no
 * `build/include`: content/headers.ts, kernelLinks). The `-after-dkms` phases run after DKMS and put
 * back a build link the first phase hid from it because a module failed (lifecycle/dkms.ts). postrm removes.
 */
export type HookAction = 'postinst' | 'postinst-after-dkms' | 'postrm' | 'boot' | 'boot-after-dkms';

export interface HookOutcome {
  action: HookAction;
  release?: string;
  /** What happened, in one line (also when nothing could be done). */
  said: string;
  /** False when something stopped it: the hook still exits 0, the kernel matters more. */
  ok: boolean;
  /** The tier of the set installed now, if one was. */
  tier?: 'headers' | 'kbuild';
}

/**
 * What the kernel hooks and the boot unit do. Before DKMS (postinst, boot): a module-build tree when
 * the series has a kernel source (kbuild/discover.ts, cached per series), with Module.symvers from
 * that kernel's own modules; else a headers-only tree. A damaged set of the kernel is mended from
 * its own kheaders, keeping what a user added. After DKMS: only a build link hidden from DKMS is put
 * back. postrm: remove the set khpkg installed for that release, if it is still as installed. Never
 * dpkg or rpm (a hook runs inside them, their lock is taken), never header hooks (DKMS's own kernel
 * hook runs next), never long (the root lock is waited for `waitSeconds`).
 */
export async function runKernelHook(
  action: HookAction,
  release: string | undefined,
  root: string,
  opts: {waitSeconds: number; limits: Limits},
): Promise<HookOutcome> {
  try {
    if (action === 'postrm') return {action, release, ok: true, said: await removeForKernel(root, release!, opts.waitSeconds)};
    const boot = action === 'boot' || action === 'boot-after-dkms';
    const rel = boot ? runningRelease() : release!;
    const install: Omit<InstallOptions, 'kbuild'> = {
      root,
      layout: 'debian',
      force: false,
      hooks: false,
      waitSeconds: opts.waitSeconds,
      limits: opts.limits,
      packageManagers: false,
      replaceStale: boot,
      repair: true,
    };
    const open = (): Promise<ArchiveSource> => (boot ? openSource(undefined, opts.limits) : openInstalledKernel(root, rel, opts.limits));
    // A root that takes headers one way only (a read-only /usr: system extensions) is kept current that way.
    const only = boot && action === 'boot' ? chooseVia('khpkg', root) : undefined;
    if (only && only.via !== 'khpkg') return await bootThrough(only.via, rel, root, install, open);
    if (action === 'postinst-after-dkms' || action === 'boot-after-dkms') {
      // Only what the first phase left for after DKMS: a kernel it dealt with (or failed, and said so) is not spoken of twice.
      if (!/^[A-Za-z0-9._+~-]+$/.test(rel) || !takePending(root, rel)) return {action, release: rel, ok: true, said: ''};
      if (restoreBuildLink(root, rel)) return {action, release: rel, ok: true, tier: 'kbuild', said: `put back ${rel}'s build link after DKMS`};
      return {action, release: rel, ok: true, said: ''};
    }
    // A build link an earlier run moved aside for DKMS, and whose phase after DKMS never came (a crash, a unit not run), is put back first.
    if (/^[A-Za-z0-9._+~-]+$/.test(rel)) restoreBuildLink(root, rel);
    const source = await open();
    // Every boot where nothing changed: the digests of what it reads say so, and nothing is parsed.
    const current = boot ? await installedAsIs(root, rel, source, 'debian', tierFor(root, rel)) : undefined;
    if (current) {
      const tier = current.tier ?? 'headers';
      const done: HookOutcome = {
        action,
        release: rel,
        ok: true,
        tier,
        said: `headers for ${rel} are installed already (${tier === 'kbuild' ? 'module-build tree' : 'headers-only'})`,
      };
      return tier === 'kbuild' ? await beforeDkms(done, root, rel) : done;
    }
    const tried = await installModuleBuildTree(source, install, rel);
    if ('result' in tried) {
      const done = outcome(action, tried.result);
      return tried.result.tier === 'kbuild' ? await beforeDkms(done, root, rel) : done;
    }
    // No module-build tree: a headers-only one, which DKMS skips (it has no build/include), as it would a kernel without headers.
    const set = installedSet(root, rel);
    if (set?.tier === 'kbuild')
      return {action, release: rel, ok: true, tier: 'kbuild', said: `headers for ${rel} are a module-build tree already; ${tried.why}, so it is left as it is`};
    const r = await installHeaders(source, install);
    const done = outcome(action, r);
    if (r.status === 'unchanged' || !dkmsInstalled(root)) return done;
    return {...done, said: `${done.said}; DKMS skips ${rel} (${tried.why}); to build modules for it: ${howToGiveSource(seriesOf(r.release), r.release)}`};
  } catch (e) {
    const deferred = e instanceof KhpkgError && e.code === 'deferred';
    return {action, release, ok: deferred, said: e instanceof Error ? e.message.split('\n')[0]! : String(e)};
  }
}

/**
 * The boot unit where the headers go through a package manager only (an immutable /usr and its
 * system extensions): after an OS update the old kernel's extension no longer matches the host, so
 * the running kernel's is made from its own kheaders and the extensions of kernels gone with the old
 * /usr are removed; a current, merged set is only read. Offline, like the rest of the boot unit.
 */
async function bootThrough(
  via: Manager,
  rel: string,
  root: string,
  install: Omit<InstallOptions, 'kbuild'>,
  open: () => Promise<ArchiveSource>,
): Promise<HookOutcome> {
  const gone = pruneCandidates(root).candidates.filter((r) => r !== rel && installedSet(root, r)?.via === via);
  for (const r of gone) await removeHeaders(root, r, install.waitSeconds);
  const pruned = gone.length > 0 ? `; removed the headers of ${gone.join(', ')}, whose kernel is gone` : '';
  const set = installedSet(root, rel);
  // Headers of this kernel khpkg did not put there (systemd-sysupdate's extension from a khpkg
  // repository, packaging/sysupdate, or the vendor's): theirs, left as they are.
  if (!set && lstatSync(inRoot(root, `lib/modules/${rel}/build`), {throwIfNoEntry: false}))
    return {
      action: 'boot',
      release: rel,
      ok: true,
      said: `headers for ${rel} are there already, not through khpkg (/lib/modules/${rel}/build): left as they are${pruned}`,
    };
  const source = await open();
  if (set?.via === via && set.sourceSha256 === source.sha256 && existsSync(inRoot(root, set.path)))
    return {action: 'boot', release: rel, ok: true, tier: set.tier ?? 'headers', said: `headers for ${rel} are installed already (through ${via})${pruned}`};
  // A set of this kernel that no longer merges (the host's os-release changed) or is stale is made again.
  const {layout: _, ...rest} = install;
  const r = await installVia(source, {...rest, via, force: set !== undefined});
  return {...outcome('boot', r), said: `${said(r)} through ${via}${pruned}`};
}

/**
 * A module-build tree in place, before DKMS's own hook: DKMS builds for the kernel now (tryDkms);
 * a module that fails leaves the kernel for the phase after DKMS, and is said.
 */
async function beforeDkms(done: HookOutcome, root: string, rel: string): Promise<HookOutcome> {
  const failed = await tryDkms(root, rel);
  if (failed.length === 0) return done;
  leavePending(root, rel);
  const why = `DKMS could not build ${failed.join(', ')} for ${rel} (make.log under /var/lib/dkms): its own hook skips ${rel}, so the kernel's install goes on; the modules that built are installed`;
  return {...done, said: `${done.said}; ${why}`};
}

function outcome(action: HookAction, r: InstallResult): HookOutcome {
  // What was left out (an image khpkg could not use) is said on the same line: the headers are what counts.
  return {action, release: r.release, ok: true, tier: r.tier, said: [said(r), ...r.notes].join('; ')};
}

function said(r: InstallResult): string {
  const tier = r.tier === 'kbuild' ? 'module-build tree' : 'headers-only';
  return r.status === 'unchanged' ? `headers for ${r.release} are installed already (${tier})` : `${r.status} headers for ${r.release} at ${r.path} (${tier})`;
}

/** Kernels whose headers-only tree the first phase left for the phase after DKMS (one empty file each). */
const PENDING = 'var/lib/khpkg/after-dkms';

function leavePending(root: string, release: string): void {
  ensureDirInRoot(root, PENDING);
  writeFileSync(checkedInRoot(root, `${PENDING}/${release}`), '');
}

function takePending(root: string, release: string): boolean {
  const file = checkedInRoot(root, `${PENDING}/${release}`);
  if (!existsSync(file)) return false;
  rmSync(file);
  return true;
}

function installedSet(root: string, release: string): ReturnType<Registry['get']> {
  const registry = Registry.open(root);
  try {
    return registry?.get(release);
  } finally {
    registry?.close();
  }
}

async function removeForKernel(root: string, release: string, waitSeconds: number): Promise<string> {
  const registry = Registry.open(root);
  const set = registry?.get(release);
  const damaged = set && (set.via ?? 'khpkg') === 'khpkg' ? quickCheck(root, registry!.files(release)) : 0;
  registry?.close();
  if (!set) return `no headers for ${release} were installed by khpkg: nothing to remove`;
  if (set.via && set.via !== 'khpkg')
    return `headers for ${release} were installed through ${set.via} (${set.package}): left for ${set.via} to remove ('${rowForManager(set.via).manager.removeHint(set.package!)}')`;
  if (damaged > 0)
    return `headers for ${release} were changed since they were installed (${damaged} file(s)): left in place; 'khpkg remove ${release}' removes them`;
  const r = await removeHeaders(root, release, waitSeconds);
  return r.ownedBy ? `headers for ${release} now belong to the ${r.ownedBy}: left to it` : `removed headers for ${release} from ${r.path}`;
}
