import {existsSync, lstatSync, readFileSync, readlinkSync, rmdirSync, symlinkSync, unlinkSync, writeFileSync} from 'node:fs';
import {dirname} from 'node:path';
import {renderTemplate} from '../content/templates.js';
import {KhpkgError} from '../errors.js';
import {checkedInRoot, ensureDirInRoot, inRoot} from '../root/paths.js';
import {runTool} from '../tool.js';

/**
 * Where khpkg joins the kernel's life cycle, relative to the root. The Debian hooks are named to sort
 * before `dkms` in run-parts' C-locale order, the kernel-install plugin is numbered before DKMS's
 * 40-dkms.install: DKMS's own hook then finds the headers in place.
 */
export const HOOK_FILES = {
  postinst: 'etc/kernel/postinst.d/10-khpkg',
  postrm: 'etc/kernel/postrm.d/10-khpkg',
  kernelInstall: 'etc/kernel/install.d/35-khpkg.install',
  unit: 'etc/systemd/system/khpkg.service',
} as const;
export const UNIT_WANTS = 'etc/systemd/system/multi-user.target.wants/khpkg.service';

type HookName = keyof typeof HOOK_FILES;

export interface HooksStatus {
  /** Each hook file: whether it is there and is khpkg's. */
  hooks: {name: HookName | 'service-enabled'; path: string; enabled: boolean}[];
  /** All of them in place: kernels get headers when installed, lose them when removed, and at boot. */
  enabled: boolean;
}

/** Is `rel` one of khpkg's hook files (its marker line), as opposed to a file of the same name someone else made? */
function ours(root: string, rel: string): boolean {
  try {
    return /^# khpkg: /m.test(readFileSync(checkedInRoot(root, rel), 'utf8').slice(0, 400));
  } catch {
    return false;
  }
}

/** The dirs `enable` made for a file, from its own header (so `disable` leaves the root as it was). */
function madeFor(root: string, rel: string): string[] {
  const m = /khpkg-made: ([^\n]*)/.exec(readFileSync(checkedInRoot(root, rel), 'utf8').slice(0, 600));
  return (m?.[1] ?? '').split(' ').filter((d) => d !== '' && d !== '-');
}

/** systemd runs here (PID 1): units are enabled through systemctl. */
function systemdRuns(root: string): boolean {
  return root === '/' && existsSync('/run/systemd/system');
}

/**
 * Installs the Debian kernel hooks, the kernel-install plugin and the boot unit under `root`, each
 * calling `launcher` (khpkg's own command line). A file of the same name that is not khpkg's is
 * never overwritten. The unit is enabled with systemctl where systemd runs, else by its
 * multi-user.target.wants link. Idempotent.
 */
export async function enableHooks(root: string, launcher: string): Promise<{written: string[]}> {
  const written: string[] = [];
  for (const rel of Object.values(HOOK_FILES)) {
    const abs = inRoot(root, rel);
    if (existsSync(abs) && !ours(root, rel)) throw new KhpkgError('conflict', `${abs} exists and is not khpkg's: move it away first`);
  }
  for (const [name, rel] of Object.entries(HOOK_FILES) as [HookName, string][]) {
    const made: string[] = [];
    const previous = existsSync(inRoot(root, rel)) ? madeFor(root, rel) : [];
    ensureDirInRoot(root, dirname(rel), 0o755, made);
    const madeRels = [...previous, ...made.map((abs) => abs.slice(root === '/' ? 1 : root.length + 1))];
    if (name === 'unit' && !systemdRuns(root) && !lstatSync(inRoot(root, dirname(UNIT_WANTS)), {throwIfNoEntry: false})) madeRels.push(dirname(UNIT_WANTS));
    const MADE = madeRels.length > 0 ? madeRels.join(' ') : '-';
    const text =
      name === 'unit'
        ? renderTemplate('hooks/khpkg.service', {KHPKG: launcher, MADE})
        : name === 'kernelInstall'
          ? renderTemplate('hooks/kernel-install.install', {KHPKG: launcher, MADE})
          : renderTemplate('hooks/kernel-hook', {
              KHPKG: launcher,
              MADE,
              ACTION: name,
              WHAT: name === 'postinst' ? "installs a new kernel's headers from its kheaders" : "removes a removed kernel's headers",
            });
    writeFileSync(inRoot(root, rel), text, {mode: name === 'unit' ? 0o644 : 0o755});
    written.push(inRoot(root, rel));
  }
  if (systemdRuns(root)) {
    await systemctl(['daemon-reload']);
    await systemctl(['enable', 'khpkg.service']);
  } else if (!lstatSync(inRoot(root, UNIT_WANTS), {throwIfNoEntry: false})) {
    ensureDirInRoot(root, dirname(UNIT_WANTS));
    symlinkSync(`/${HOOK_FILES.unit}`, inRoot(root, UNIT_WANTS));
    written.push(inRoot(root, UNIT_WANTS));
  }
  return {written};
}

/** Removes what enableHooks made, and the dirs it made for them when they are empty again. */
export async function disableHooks(root: string): Promise<{removed: string[]}> {
  const removed: string[] = [];
  const dirs: string[] = [];
  if (systemdRuns(root) && ours(root, HOOK_FILES.unit)) await systemctl(['disable', 'khpkg.service']);
  const wants = inRoot(root, UNIT_WANTS);
  if (lstatSync(wants, {throwIfNoEntry: false})?.isSymbolicLink() && readlinkSync(wants) === `/${HOOK_FILES.unit}`) {
    unlinkSync(wants);
    removed.push(wants);
  }
  for (const rel of Object.values(HOOK_FILES)) {
    if (!ours(root, rel)) continue;
    dirs.push(...madeFor(root, rel));
    unlinkSync(inRoot(root, rel));
    removed.push(inRoot(root, rel));
  }
  for (const d of [...new Set(dirs)].sort((a, b) => b.split('/').length - a.split('/').length)) {
    try {
      rmdirSync(inRoot(root, d));
    } catch {
      // not empty: someone else's files are there now
    }
  }
  if (systemdRuns(root) && removed.length > 0) await systemctl(['daemon-reload']);
  return {removed};
}

export function hooksStatus(root: string): HooksStatus {
  const hooks: HooksStatus['hooks'] = (Object.entries(HOOK_FILES) as [HookName, string][]).map(([name, rel]) => ({
    name,
    path: inRoot(root, rel),
    enabled: ours(root, rel),
  }));
  const wants = inRoot(root, UNIT_WANTS);
  const linked = lstatSync(wants, {throwIfNoEntry: false})?.isSymbolicLink() ?? false;
  hooks.push({name: 'service-enabled', path: wants, enabled: linked});
  return {hooks, enabled: hooks.every((h) => h.enabled)};
}

async function systemctl(args: string[]): Promise<void> {
  const r = await runTool('systemctl', args).catch((e: Error) => {
    throw new KhpkgError('io', `systemctl ${args.join(' ')}: ${e.message}`);
  });
  if (r.code !== 0) throw new KhpkgError('io', `systemctl ${args.join(' ')} failed (exit ${r.code}): ${r.output.trim().split('\n')[0]}`);
}
