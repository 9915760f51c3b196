import {existsSync, lstatSync, readFileSync, readlinkSync, rmdirSync, rmSync, symlinkSync, unlinkSync, writeFileSync} from 'node:fs';
import {dirname} from 'node:path';
import {renderTemplate} from '../content/templates.js';
import {KhpkgError} from '../errors.js';
import {checkedInRoot, ensureDirInRoot, inRoot} from '../root/paths.js';
import {runTool} from '../tool.js';

/**
 * Where khpkg joins the kernel's life cycle, relative to the root. Each moment has two hooks around
 * DKMS's: the first sorts before it (run-parts' C-locale order puts `10-khpkg` before `dkms`,
 * `35-khpkg.install` comes before 40-dkms.install, khpkg.service is Before=dkms.service) and makes a
 * module-build tree when it can, so DKMS builds; the second sorts after it (`zz-khpkg-headers`,
 * `45-khpkg-headers.install`, khpkg-headers.service After=dkms.service) and gives a kernel that got
 * no tree its headers-only one, which DKMS (it takes any `build/include` for buildable headers)
 * would otherwise have tried to build against and failed the kernel's install.
 */
export const HOOK_FILES = {
  postinst: 'etc/kernel/postinst.d/10-khpkg',
  postinstAfterDkms: 'etc/kernel/postinst.d/zz-khpkg-headers',
  postrm: 'etc/kernel/postrm.d/10-khpkg',
  kernelInstall: 'etc/kernel/install.d/35-khpkg.install',
  kernelInstallAfterDkms: 'etc/kernel/install.d/45-khpkg-headers.install',
  unit: 'etc/systemd/system/khpkg.service',
  unitAfterDkms: 'etc/systemd/system/khpkg-headers.service',
} as const;
const WANTS_DIR = 'etc/systemd/system/multi-user.target.wants';
/** The units' multi-user.target.wants links, where systemd does not run to make them. */
export const UNIT_WANTS = [`${WANTS_DIR}/khpkg.service`, `${WANTS_DIR}/khpkg-headers.service`] as const;
const UNITS = [HOOK_FILES.unit, HOOK_FILES.unitAfterDkms];

/**
 * The admin said `khpkg hooks disable`: remembered, so that khpkg's package (which enables the hooks
 * on every install, reinstall and upgrade) leaves them off. `hooks enable` forgets it.
 */
export const ADMIN_DISABLED = 'var/lib/khpkg/hooks-disabled';
/** The khpkg-installed sets at the package's removal, for its postrm purge (a shell script with no registry reader). */
export const SETS_AT_REMOVAL = 'var/lib/khpkg/sets-at-removal';

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
export async function enableHooks(
  root: string,
  launcher: string,
  opts: {unlessAdminDisabled?: boolean} = {},
): Promise<{written: string[]; adminDisabled?: boolean}> {
  const written: string[] = [];
  if (opts.unlessAdminDisabled && existsSync(inRoot(root, ADMIN_DISABLED))) return {written, adminDisabled: true};
  for (const rel of Object.values(HOOK_FILES)) {
    const abs = inRoot(root, rel);
    if (existsSync(abs) && !ours(root, rel)) throw new KhpkgError('conflict', `${abs} exists and is not khpkg's: move it away first`);
  }
  for (const [name, rel] of Object.entries(HOOK_FILES) as [HookName, string][]) {
    const made: string[] = [];
    const previous = existsSync(inRoot(root, rel)) ? madeFor(root, rel) : [];
    ensureDirInRoot(root, dirname(rel), 0o755, made);
    const madeRels = [...previous, ...made.map((abs) => abs.slice(root === '/' ? 1 : root.length + 1))];
    const isUnit = (UNITS as string[]).includes(rel);
    if (isUnit && !systemdRuns(root) && !lstatSync(inRoot(root, WANTS_DIR), {throwIfNoEntry: false})) madeRels.push(WANTS_DIR);
    const MADE = [...new Set(madeRels)].join(' ') || '-';
    writeFileSync(inRoot(root, rel), hookText(name, launcher, MADE), {mode: isUnit ? 0o644 : 0o755});
    written.push(inRoot(root, rel));
  }
  if (systemdRuns(root)) {
    await systemctl(['daemon-reload']);
    await systemctl(['enable', 'khpkg.service', 'khpkg-headers.service']);
  } else {
    for (const wants of UNIT_WANTS) {
      if (lstatSync(inRoot(root, wants), {throwIfNoEntry: false})) continue;
      ensureDirInRoot(root, WANTS_DIR);
      symlinkSync(`/${UNITS[UNIT_WANTS.indexOf(wants)]}`, inRoot(root, wants));
      written.push(inRoot(root, wants));
    }
  }
  rmSync(checkedInRoot(root, ADMIN_DISABLED), {force: true});
  rmSync(checkedInRoot(root, SETS_AT_REMOVAL), {force: true});
  return {written};
}

/**
 * Removes what enableHooks made, and the dirs it made for them when they are empty again. An admin's
 * disable is remembered (ADMIN_DISABLED); khpkg's own package removal is not a choice to remember,
 * and leaves SETS_AT_REMOVAL for its purge instead.
 */
export async function disableHooks(root: string, opts: {packageRemoval?: boolean; setsKhpkgInstalled?: string[]} = {}): Promise<{removed: string[]}> {
  const removed: string[] = [];
  const remember = opts.packageRemoval ? SETS_AT_REMOVAL : ADMIN_DISABLED;
  const text = opts.packageRemoval
    ? (opts.setsKhpkgInstalled ?? []).map((r) => `${r}\n`).join('')
    : 'khpkg hooks disable: the kernel hooks stay off until khpkg hooks enable\n';
  if (!opts.packageRemoval || text !== '') {
    ensureDirInRoot(root, dirname(remember));
    writeFileSync(checkedInRoot(root, remember), text);
  } else rmSync(checkedInRoot(root, remember), {force: true});
  const dirs: string[] = [];
  if (systemdRuns(root)) for (const unit of UNITS) if (ours(root, unit)) await systemctl(['disable', unit.slice(unit.lastIndexOf('/') + 1)]);
  for (const [i, rel] of UNIT_WANTS.entries()) {
    const wants = inRoot(root, rel);
    if (lstatSync(wants, {throwIfNoEntry: false})?.isSymbolicLink() && readlinkSync(wants) === `/${UNITS[i]}`) {
      unlinkSync(wants);
      removed.push(wants);
    }
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
  for (const rel of UNIT_WANTS) {
    const wants = inRoot(root, rel);
    hooks.push({name: 'service-enabled', path: wants, enabled: lstatSync(wants, {throwIfNoEntry: false})?.isSymbolicLink() ?? false});
  }
  return {hooks, enabled: hooks.every((h) => h.enabled)};
}

/** Each hook file: its template in packaging/hooks/, and what it runs (before DKMS, or after it). */
const HOOK_TEXT: Record<HookName, {template: string; vars: Record<string, string>}> = {
  postinst: {
    template: 'hooks/kernel-hook',
    vars: {ACTION: 'postinst', WHAT: "installs a new kernel's headers from its kheaders, before DKMS: a module-build tree where a kernel source allows"},
  },
  postinstAfterDkms: {
    template: 'hooks/kernel-hook',
    vars: {ACTION: 'postinst-after-dkms', WHAT: "installs a new kernel's headers-only tree after DKMS, when it got no module-build tree"},
  },
  postrm: {template: 'hooks/kernel-hook', vars: {ACTION: 'postrm', WHAT: "removes a removed kernel's headers"}},
  kernelInstall: {
    template: 'hooks/kernel-install.install',
    vars: {ADD: 'postinst', REMOVE: 'postrm', WHEN: "before DKMS's 40-dkms.install: a module-build tree where it can"},
  },
  kernelInstallAfterDkms: {
    template: 'hooks/kernel-install.install',
    vars: {ADD: 'postinst-after-dkms', REMOVE: '', WHEN: "after DKMS's 40-dkms.install: a headers-only tree for a kernel that got none"},
  },
  unit: {
    template: 'hooks/khpkg.service',
    vars: {
      ACTION: 'boot',
      // After the host's own extensions are merged (immutable hosts), so the headers' joins them; before DKMS.
      ORDER: 'After=systemd-sysext.service\nBefore=dkms.service',
      WHAT: "the running kernel's headers at boot when they are missing or stale, a module-build tree where a kernel source allows, before DKMS",
    },
  },
  unitAfterDkms: {
    template: 'hooks/khpkg.service',
    vars: {
      ACTION: 'boot-after-dkms',
      ORDER: 'After=dkms.service',
      WHAT: 'a headers-only tree for the running kernel when it got none, after DKMS (which then skipped it rather than failing on it)',
    },
  },
};

function hookText(name: HookName, launcher: string, MADE: string): string {
  const {template, vars} = HOOK_TEXT[name];
  return renderTemplate(template, {KHPKG: launcher, MADE, ...vars});
}

async function systemctl(args: string[]): Promise<void> {
  const r = await runTool('systemctl', args).catch((e: Error) => {
    throw new KhpkgError('io', `systemctl ${args.join(' ')}: ${e.message}`);
  });
  if (r.code !== 0) throw new KhpkgError('io', `systemctl ${args.join(' ')} failed (exit ${r.code}): ${r.output.trim().split('\n')[0]}`);
}
