import {accessSync, constants, copyFileSync, existsSync, renameSync, rmSync} from 'node:fs';
import {basename} from 'node:path';
import {architecture} from '../../archive/arch.js';
import {ensureDirInRoot, inRoot} from '../../root/paths.js';
import {KhpkgError} from '../../errors.js';
import {runManager, type FormatRow} from '../family.js';
import {compareRpmVersions} from '../versions.js';
import {ErofsReader, isErofs} from './erofs-read.js';
import {sysextHeadersMeta, sysextOwnMeta} from './meta.js';
import {extensionReleaseOf, sysextFileName, sysextRepo} from './repo.js';
import {EXTENSION_RELEASE_DIR, sysextPackager} from './sysext.js';

/** Where khpkg keeps the extensions it installs: the one of systemd-sysext's three that persists and is not /etc. */
export const EXTENSIONS_DIR = 'var/lib/extensions';

const sysextRoot = (root: string): string[] => (root === '/' ? [] : [`--root=${root}`]);

/** Whether a root's /usr is mounted read-only (Flatcar, Fedora CoreOS, SteamOS): only an extension adds to it there. */
export function usrIsReadOnly(root: string): boolean {
  try {
    accessSync(inRoot(root, 'usr'), constants.W_OK);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EROFS';
  }
}

/**
 * systemd-sysext merges every extension again; afterwards the image's own extension-release shows
 * in the root's /usr if it matched the host. In a container whose `--root` is the host's / mounted
 * (the Kubernetes agent), a merge there would stay in the container's mount namespace: with
 * KHPKG_SYSEXT_NAMESPACE=<pid> (the host's PID 1, the pod having hostPID) it runs in that process's
 * mount namespace instead, where the host's root is KHPKG_SYSEXT_ROOT (default `/`).
 */
async function refresh(root: string): Promise<void> {
  const pid = process.env.KHPKG_SYSEXT_NAMESPACE;
  if (pid === undefined || pid === '') return runManager('systemd-sysext', [...sysextRoot(root), 'refresh']);
  if (!/^\d+$/.test(pid)) throw new KhpkgError('usage', `KHPKG_SYSEXT_NAMESPACE='${pid}' is not a process id`);
  const there = process.env.KHPKG_SYSEXT_ROOT || '/';
  await runManager('nsenter', ['-t', pid, '-m', '--', 'systemd-sysext', ...sysextRoot(there), 'refresh']);
}

/**
 * The immutable hosts' family: a systemd system extension (`<name>.raw`, erofs), merged over a
 * read-only /usr by systemd-sysext from /var/lib/extensions. The tree lands where Debian's headers
 * package puts it (/usr/src/linux-headers-<rel>, links in /usr/lib/modules/<rel>, which is
 * /lib/modules/<rel> on the merged-/usr hosts that have extensions).
 */
export const sysextRow = {
  format: 'sysext',
  packager: sysextPackager,
  layout: 'debian',
  arch: (k) => architecture(k.rpmArch).systemd,
  headersMeta: sysextHeadersMeta,
  ownMeta: sysextOwnMeta,
  manager: {
    via: 'sysext',
    tool: 'systemd-sysext',
    present: (root) => usrIsReadOnly(root),
    onlyWayIn: (root) =>
      usrIsReadOnly(root) ? `${root === '/' ? '' : root}/usr is read-only: installing the headers as a system extension (/${EXTENSIONS_DIR})` : undefined,
    database: EXTENSIONS_DIR,
    needsDatabase: false,
    async install(root, pkg) {
      const name = basename(pkg, '.raw');
      const dir = ensureDirInRoot(root, EXTENSIONS_DIR);
      const final = inRoot(root, `${EXTENSIONS_DIR}/${sysextFileName(name)}`);
      const tmp = `${final}.partial-${process.pid}`;
      try {
        copyFileSync(pkg, tmp);
        renameSync(tmp, final);
      } catch (e) {
        rmSync(tmp, {force: true});
        throw new KhpkgError('io', `${dir}: ${(e as NodeJS.ErrnoException).code === 'ENOSPC' ? 'no space left on device' : (e as Error).message}`);
      }
      try {
        await refresh(root);
        // systemd-sysext skips an image that does not match the host (ID, SYSEXT_LEVEL or VERSION_ID, ARCHITECTURE) without failing.
        if (!existsSync(inRoot(root, `${EXTENSION_RELEASE_DIR}/extension-release.${name}`)))
          throw new KhpkgError(
            'package-manager',
            `systemd-sysext did not merge ${sysextFileName(name)}: it does not match ${root === '/' ? 'this host' : root} (its os-release ID, SYSEXT_LEVEL or VERSION_ID, or its architecture)`,
          );
      } catch (e) {
        rmSync(final, {force: true});
        await refresh(root).catch(() => undefined);
        throw e;
      }
    },
    async remove(root, name) {
      rmSync(inRoot(root, `${EXTENSIONS_DIR}/${sysextFileName(name)}`), {force: true});
      await refresh(root);
    },
    installedName: (pkg) => pkg.name,
    // What other extensions bring is theirs until unmerged; khpkg writes nothing under a merged /usr.
    owners: () => [],
    removeHint: (name) => `rm /${EXTENSIONS_DIR}/${sysextFileName(name)} && systemd-sysext refresh`,
    reinstallHint: () => 'khpkg install --via sysext --force',
    runsHeaderHooks: false,
  },
  defaultCompression: 'none',
  repo: sysextRepo,
  fileName: (name) => sysextFileName(name),
  compareVersions: compareRpmVersions,
  probe: async (head) => isErofs(head),
  async summary(source) {
    const reader = await ErofsReader.open(source);
    const found = await extensionReleaseOf(reader);
    const files: string[] = [];
    for await (const {entry} of reader.entries()) if (entry.type !== 'dir') files.push(entry.path);
    const text = found ? ((await reader.read(`${EXTENSION_RELEASE_DIR}/extension-release.${found.name}`)) ?? Buffer.alloc(0)).toString('utf8') : '';
    const description = text
      .split('\n')
      .filter((l) => l.startsWith('# '))
      .map((l) => l.slice(2))
      .join('\n');
    return {name: found?.name, description, files};
  },
  payload: async (source) => (await ErofsReader.open(source)).entries(),
} as const satisfies FormatRow;
