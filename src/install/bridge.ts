import {existsSync} from 'node:fs';
import {mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {delimiter, join} from 'node:path';
import {KhpkgError} from '../errors.js';
import {buildPackages, defaultMaintainer} from '../pipeline/build.js';
import {Registry} from '../registry/registry.js';
import type {HeaderSet} from '../registry/types.js';
import {recordedOrigin, type ArchiveSource} from '../source/index.js';
import {describeTree} from './doctor.js';
import {kitRecord} from '../kbuild/kit.js';
import {runHeaderHooks} from './hooks.js';
import type {InstallOptions, InstallResult} from './install.js';
import {lockRoot} from '../registry/lock.js';
import {FORMAT_TABLE, rowForManager, type Format, type Manager, type Via} from '../formats/table.js';
import {recover} from './recover.js';
import {readHostRelease} from '../content/os-release.js';

export type {Via};
export type ViaChoice = Via | 'auto';

/**
 * `auto`: a package manager whose database the root has and whose tool is on PATH (dpkg on Debian,
 * rpm on Fedora, pacman on Arch; the table's order), and khpkg's own installer anywhere else (Android, embedded).
 * A root that takes headers one way only (a read-only /usr: a system extension) gets that way for
 * `auto` and for khpkg's own installer alike, with the reason; a manager named is used as named.
 */
export function chooseVia(choice: ViaChoice, root: string): {via: Via; why?: string} {
  if (choice !== 'auto' && choice !== 'khpkg') return {via: choice};
  for (const row of Object.values(FORMAT_TABLE)) {
    const why = row.manager.onlyWayIn?.(root);
    if (why) return {via: row.manager.via as Via, why};
  }
  if (choice === 'khpkg') return {via: 'khpkg'};
  const row = Object.values(FORMAT_TABLE).find((r) => r.manager.present(root) && onPath(r.manager.tool));
  return {via: (row?.manager.via as Via | undefined) ?? 'khpkg'};
}

function onPath(cmd: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((d) => d !== '' && existsSync(join(d, cmd)));
}

/** What install takes, less the layout (the package manager's own) and with who installs. */
export type BridgeOptions = Omit<InstallOptions, 'layout'> & {via: Manager};

/**
 * Bridge mode: build the matching package and let the system's package manager install it, so
 * `dpkg -S`/`rpm -qf`, apt and dnf know the headers; then record the set (and what dpkg/rpm call
 * it) in the registry, so list/files/owns/verify/remove work the same. The package is built in a
 * private temp dir with gzip (every dpkg and rpm reads it) and deleted afterwards.
 */
export async function installVia(source: ArchiveSource, opts: BridgeOptions): Promise<InstallResult & {via: Via; package: string}> {
  const {root, via} = opts;
  const row = rowForManager(via);
  const {manager} = row;
  if (manager.needsDatabase && !manager.present(root))
    throw new KhpkgError('no-package-manager', `--via ${via}: ${root} has no ${via} database (${manager.database})`);
  const work = await mkdtemp(join(tmpdir(), 'khpkg-bridge-'));
  try {
    const built = await buildPackages(source, {
      formats: [row.format as Format],
      outDir: work,
      revision: '1',
      maintainer: defaultMaintainer(),
      // gzip: what every dpkg and rpm reads; a family that compresses nothing (an erofs image) stays so.
      compression: row.defaultCompression === 'none' ? 'none' : 'gzip',
      host: () => readHostRelease(root),
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
      const name = manager.installedName(pkg);
      await manager.install(root, pkg.path, {force: opts.force});
      const {layout} = row;
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
    // dpkg ran the headers' postinst, which runs the hooks; an rpm or a pacman package has no scriptlets, so khpkg does.
    if (!manager.runsHeaderHooks && opts.hooks) result.hooks = await runHeaderHooks(root, release);
    return result;
  } finally {
    await rm(work, {recursive: true, force: true});
  }
}

/** Bridge mode's remove: the package manager takes the files out; the registry forgets the set. */
export async function removeVia(root: string, set: HeaderSet): Promise<void> {
  if (set.via && set.via !== 'khpkg') await rowForManager(set.via).manager.remove(root, set.package!);
}
