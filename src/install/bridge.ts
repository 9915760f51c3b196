import {existsSync} from 'node:fs';
import {mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {delimiter, join} from 'node:path';
import {KhpkgError} from '../errors.js';
import {relevantLines, runTool} from '../tool.js';
import {buildPackages, defaultMaintainer} from '../pipeline/build.js';
import {Registry} from '../registry/registry.js';
import type {HeaderSet} from '../registry/types.js';
import {recordedOrigin, type ArchiveSource} from '../source/index.js';
import {describeTree} from './doctor.js';
import {kitRecord} from '../kbuild/kit.js';
import {runHeaderHooks} from './hooks.js';
import type {InstallOptions, InstallResult} from './install.js';
import {lockRoot} from '../registry/lock.js';
import {FORMAT_TABLE, rowForManager} from '../formats/table.js';
import {recover} from './recover.js';

export type Via = 'khpkg' | 'dpkg' | 'rpm';
export type ViaChoice = Via | 'auto';

/**
 * `auto`: dpkg where the root has a dpkg database and dpkg is on PATH (Debian-like), rpm where it
 * has an rpm database and rpm is on PATH, and khpkg's own installer anywhere else (Android, embedded).
 */
export function chooseVia(choice: ViaChoice, root: string): Via {
  if (choice !== 'auto') return choice;
  const row = Object.values(FORMAT_TABLE).find((r) => r.manager.databases.some((d) => existsSync(join(root, d))) && onPath(r.manager.via));
  return row?.manager.via ?? 'khpkg';
}

function onPath(cmd: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((d) => d !== '' && existsSync(join(d, cmd)));
}

/** What install takes, less the layout (the package manager's own) and with who installs. */
export type BridgeOptions = Omit<InstallOptions, 'layout'> & {via: 'dpkg' | 'rpm'};

/**
 * Bridge mode: build the matching package and let the system's package manager install it, so
 * `dpkg -S`/`rpm -qf`, apt and dnf know the headers; then record the set (and what dpkg/rpm call
 * it) in the registry, so list/files/owns/verify/remove work the same. The package is built in a
 * private temp dir with gzip (every dpkg and rpm reads it) and deleted afterwards.
 */
export async function installVia(source: ArchiveSource, opts: BridgeOptions): Promise<InstallResult & {via: Via; package: string}> {
  const {root, via} = opts;
  if (via === 'dpkg' && !existsSync(join(root, 'var/lib/dpkg/status'))) {
    throw new KhpkgError('no-package-manager', `--via dpkg: ${root} has no dpkg database (var/lib/dpkg/status)`);
  }
  const work = await mkdtemp(join(tmpdir(), 'khpkg-bridge-'));
  try {
    const built = await buildPackages(source, {
      formats: [rowForManager(via).format],
      outDir: work,
      revision: '1',
      maintainer: defaultMaintainer(),
      compression: 'gzip',
      config: opts.config,
      limits: opts.limits,
      onProgress: opts.onProgress,
      kbuild: opts.kbuild,
    });
    const {release, artifacts, kbuild: kit} = built;
    const tier = kit ? 'kbuild' : 'headers';
    const kbuild = kit && kitRecord(kit);
    const pkg = artifacts[0]!;
    const lock = lockRoot(root, opts.waitSeconds);
    const registry = Registry.open(root, {create: true})!;
    let result: InstallResult & {via: Via; package: string};
    try {
      recover(root, registry);
      const existing = registry.get(release);
      if (existing && (existing.via ?? 'khpkg') !== via) {
        throw new KhpkgError(
          'conflict',
          `headers for ${release} are installed by ${existing.via === 'khpkg' ? 'khpkg itself' : existing.via}: remove them first to install them through ${via}`,
        );
      }
      if (existing && existing.sourceSha256 === source.sha256 && !opts.force) {
        return {
          release,
          path: `/${existing.path}`,
          status: 'unchanged',
          files: existing.files,
          bytes: existing.bytes,
          recovered: [],
          hooks: [],
          via,
          package: existing.package ?? '',
          tier: existing.tier ?? 'headers',
          kbuild: existing.kbuild,
          btf: existing.btf,
          kept: [],
          overwritten: [],
          notes: [],
        };
      }
      if (existing && !opts.force) {
        throw new KhpkgError(
          'conflict',
          `headers for ${release} are already installed from another archive (sha256 ${existing.sourceSha256.slice(0, 12)}…): pass --force to replace them`,
        );
      }
      const name = via === 'dpkg' ? pkg.name : `${pkg.name}-${pkg.version}.${pkg.arch}`;
      if (via === 'dpkg') {
        await packageManager('dpkg', [...dpkgRoot(root), ...(opts.force ? ['--force-overwrite'] : []), '-i', pkg.path]);
      } else {
        await packageManager('rpm', [...rpmRoot(root), '-i', ...(opts.force ? ['--replacepkgs', '--replacefiles'] : []), pkg.path]);
      }
      const {layout} = rowForManager(via);
      const {set: onDisk, files} = describeTree(root, layout, release);
      const set: HeaderSet = {
        ...onDisk,
        sourceKind: source.kind,
        sourcePath: recordedOrigin(source),
        sourceSha256: source.sha256,
        via,
        package: name,
        tier,
        kbuild,
        ...(built.btf ? {btf: built.btf} : {}),
      };
      registry.recordInstall(set, files);
      result = {
        release,
        path: `/${set.path}`,
        status: existing ? 'replaced' : 'installed',
        files: set.files,
        bytes: set.bytes,
        recovered: [],
        hooks: [],
        via,
        package: name,
        tier,
        kbuild,
        btf: built.btf,
        kept: [],
        overwritten: [],
        notes: built.notes,
      };
    } finally {
      registry.close();
      lock.release();
    }
    // dpkg ran the headers' postinst, which runs the hooks; an rpm has no scriptlets, so khpkg does.
    if (via === 'rpm' && opts.hooks) result.hooks = await runHeaderHooks(root, release);
    return result;
  } finally {
    await rm(work, {recursive: true, force: true});
  }
}

/** Bridge mode's remove: the package manager takes the files out; the registry forgets the set. */
export async function removeVia(root: string, set: HeaderSet): Promise<void> {
  if (set.via === 'dpkg') await packageManager('dpkg', [...dpkgRoot(root), '--purge', set.package!]);
  else if (set.via === 'rpm') await packageManager('rpm', [...rpmRoot(root), '-e', set.package!]);
}

/** Under another root dpkg must not chroot to run the postinst (which looks under $DPKG_ROOT itself). */
function dpkgRoot(root: string): string[] {
  return root === '/' ? [] : [`--root=${root}`, '--force-script-chrootless'];
}

function rpmRoot(root: string): string[] {
  return root === '/' ? [] : ['--root', root];
}

async function packageManager(cmd: 'dpkg' | 'rpm', args: string[]): Promise<void> {
  const r = await runTool(cmd, args).catch((e: NodeJS.ErrnoException) => {
    throw new KhpkgError('no-package-manager', e.code === 'ENOENT' ? `--via ${cmd}: ${cmd} is not installed` : `${cmd}: ${e.message}`);
  });
  if (r.code === 0) return;
  const why = relevantLines(r.output, /error|failed|conflict/i, 1)[0] ?? '';
  throw new KhpkgError('package-manager', `${cmd} ${args.filter((a) => !a.startsWith('--')).join(' ')} failed (exit ${r.code})${why ? `: ${why}` : ''}`);
}
