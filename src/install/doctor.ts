import {createHash} from 'node:crypto';
import {existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, renameSync} from 'node:fs';
import {join} from 'node:path';
import {archNames} from '../archive/arch.js';
import {INFO_FILES, parseAutoconf} from '../archive/info.js';
import {treeDirFor, type Layout} from '../content/headers.js';
import {KhpkgError} from '../errors.js';
import {Registry, registryDir} from '../registry/registry.js';
import type {FileRecord, HeaderSet} from '../registry/types.js';
import {lockRoot} from '../registry/lock.js';
import {foreignOwners} from './owners.js';
import {rowForManager} from '../formats/table.js';
import {verifyHeaders} from './verify.js';
import {inRoot, linkLeadsInto} from '../root/paths.js';

export interface DoctorResult {
  /** Where the damaged registry was moved, if it was (a sound one is kept). */
  movedAside?: string;
  /** Trees on disk now recorded: all of them for a new registry, those it did not know for a sound one. */
  rebuilt: {release: string; path: string; files: number}[];
  integrity: string;
}

/**
 * `doctor --rebuild`: a damaged registry is moved aside and a new one is made from what is on disk:
 * every header tree under /usr/src (both layouts) whose utsrelease.h names the release its
 * directory does, with every file re-read and hashed, and its build link. Built-package records
 * cannot be recovered and are said to be lost. The source archive of a rebuilt set is unknown.
 * A sound registry is kept as it is: only trees it does not know (left by a purged khpkg, say) are added.
 */
export function rebuildRegistry(root: string, waitSeconds: number): DoctorResult {
  const lock = lockRoot(root, waitSeconds);
  try {
    const file = join(registryDir(root), 'registry.db');
    let movedAside: string | undefined;
    if (existsSync(file) && !registrySound(root)) {
      movedAside = `${file}.damaged-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      renameSync(file, movedAside);
      for (const ext of ['-wal', '-shm']) if (existsSync(file + ext)) renameSync(file + ext, movedAside + ext);
    }
    const registry = Registry.open(root, {create: true})!;
    try {
      const rebuilt: DoctorResult['rebuilt'] = [];
      for (const {layout, release} of treesOnDisk(root)) {
        if (registry.get(release)) continue;
        // A tree dpkg or rpm installed is theirs: recording it would let 'khpkg remove' delete it.
        if (foreignOwners(root, [treeDirFor(layout, release)]).length > 0) continue;
        const {set, files} = describeTree(root, layout, release);
        const op = registry.beginOperation({kind: 'install', release, phase: 'rebuilding', treePath: set.path});
        registry.recordInstall(set, files, op);
        rebuilt.push({release, path: `/${set.path}`, files: set.files});
      }
      return {movedAside, rebuilt, integrity: registry.integrityCheck()};
    } finally {
      registry.close();
    }
  } finally {
    lock.release();
  }
}

/** The registry opens and passes SQLite's integrity check. */
function registrySound(root: string): boolean {
  try {
    return checkRegistry(root) === 'ok';
  } catch {
    return false;
  }
}

/** Checks a registry can be opened and is sound; the error says to run doctor --rebuild if not. */
export function checkRegistry(root: string): string {
  let registry: Registry | undefined;
  try {
    registry = Registry.open(root);
    if (!registry) return 'no registry yet';
    const result = registry.integrityCheck();
    if (result !== 'ok') {
      const first = result.split('\n').find((l) => l.trim() !== '' && !l.startsWith('***')) ?? result;
      throw new KhpkgError('registry-damaged', `registry ${registry.file} is damaged (${first.trim()}): run 'khpkg doctor --rebuild'`);
    }
    return 'ok';
  } finally {
    registry?.close();
  }
}

function treesOnDisk(root: string): {layout: Layout; release: string}[] {
  const found: {layout: Layout; release: string}[] = [];
  const list = (rel: string): string[] => {
    try {
      return readdirSync(inRoot(root, rel)).sort();
    } catch {
      return [];
    }
  };
  for (const name of list('usr/src')) {
    const m = /^linux-headers-(.+)$/.exec(name);
    if (m && releaseOf(root, `usr/src/${name}`) === m[1]) found.push({layout: 'debian', release: m[1]!});
  }
  for (const name of list('usr/src/kernels')) {
    if (releaseOf(root, `usr/src/kernels/${name}`) === name) found.push({layout: 'kernels', release: name});
  }
  // Arch's layout: the tree is /usr/lib/modules/<release>/build itself, a directory (a link there is some other layout's).
  for (const name of list('usr/lib/modules')) {
    const tree = treeDirFor('arch', name);
    if (lstatSync(inRoot(root, tree), {throwIfNoEntry: false})?.isDirectory() && releaseOf(root, tree) === name) found.push({layout: 'arch', release: name});
  }
  return found;
}

function releaseOf(root: string, treeRel: string): string | undefined {
  try {
    return /#define\s+UTS_RELEASE\s+"([^"\n]*)"/.exec(readFileSync(inRoot(root, `${treeRel}/${INFO_FILES.utsrelease}`), 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

/** A tree on disk as the registry would record it: every file read and hashed, and its build link. */
export function describeTree(root: string, layout: Layout, release: string): {set: HeaderSet; files: FileRecord[]} {
  const treeRel = treeDirFor(layout, release);
  const files: FileRecord[] = [];
  let bytes = 0;
  const add = (rel: string): void => {
    const st = lstatSync(inRoot(root, rel));
    if (st.isSymbolicLink()) files.push({path: rel, type: 'symlink', mode: 0o777, size: 0, linkTarget: readlinkSync(inRoot(root, rel))});
    else if (st.isDirectory()) files.push({path: rel, type: 'dir', mode: st.mode & 0o7777, size: 0});
    else if (st.isFile()) {
      const data = readFileSync(inRoot(root, rel));
      bytes += data.length;
      files.push({path: rel, type: 'file', mode: st.mode & 0o7777, size: data.length, sha256: createHash('sha256').update(data).digest('hex')});
    }
  };
  const walk = (rel: string): void => {
    add(rel);
    if (lstatSync(inRoot(root, rel)).isDirectory()) for (const n of readdirSync(inRoot(root, rel)).sort()) walk(`${rel}/${n}`);
  };
  // Only the tree and its link: who made the dirs above them is not known, so they are left to their owners.
  walk(treeRel);
  // Its links in /lib/modules/<release> (`build`, and a headers-only tree's `source`), where they lead into it.
  const links = ['build', 'source'].map((n) => `lib/modules/${release}/${n}`).filter((l) => linkLeadsInto(root, l, treeRel));
  if (links.length > 0) {
    // A /lib/modules/<release> holding nothing but our links is one an install made: no kernel's modules are there.
    const names = links.map((l) => l.slice(l.lastIndexOf('/') + 1));
    if (readdirSync(inRoot(root, `lib/modules/${release}`)).every((n) => names.includes(n))) add(`lib/modules/${release}`);
    for (const l of links) add(l);
  }
  const read = (p: string): string => {
    try {
      return readFileSync(inRoot(root, `${treeRel}/${p}`), 'utf8');
    } catch {
      return '';
    }
  };
  const autoconf = parseAutoconf(read(INFO_FILES.autoconf));
  const srcarch = readdirSync(inRoot(root, `${treeRel}/arch`))[0] ?? 'unknown';
  const arch = archNames(srcarch, (s) => autoconf.has(`CONFIG_${s}`));
  const v = (n: string): string | undefined => new RegExp(`#define\\s+${n}\\s+(\\d+)`).exec(read(INFO_FILES.version))?.[1];
  const config = existsSync(inRoot(root, `${treeRel}/.config`))
    ? createHash('sha256')
        .update(readFileSync(inRoot(root, `${treeRel}/.config`)))
        .digest('hex')
    : undefined;
  return {
    set: {
      release,
      version: [v('LINUX_VERSION_MAJOR'), v('LINUX_VERSION_PATCHLEVEL'), v('LINUX_VERSION_SUBLEVEL')].every(Boolean)
        ? `${v('LINUX_VERSION_MAJOR')}.${v('LINUX_VERSION_PATCHLEVEL')}.${v('LINUX_VERSION_SUBLEVEL')}`
        : release.split('-')[0]!,
      ...{srcarch: arch.srcarch, debArch: arch.debArch, rpmArch: arch.rpmArch},
      layout,
      path: treeRel,
      sourceKind: 'rebuilt',
      sourcePath: '',
      sourceSha256: 'unknown',
      configSha256: config,
      installedAt: new Date().toISOString(),
      files: files.filter((f) => f.type !== 'dir').length,
      bytes,
      state: 'installed',
    },
    files,
  };
}

/** One installed set as `doctor` finds it. */
export interface SetHealth {
  release: string;
  /** Where the tree is (in the root). */
  path: string;
  ok: boolean;
  /** What is wrong, one short phrase each (`12 files missing`, `build link points at …`). */
  problems: string[];
  /** What mends it, as a command line (absent when nothing is wrong). */
  fix?: string;
}

/**
 * Every set's tree against the registry (verify's full check: every file rehashed), and what DKMS
 * will make of it: a headers-only set whose `build/include` exists (an older khpkg's layout, or a
 * link someone pointed at a tree) makes DKMS fail where it would have skipped. Nothing is changed.
 */
export function checkSets(root: string, registry: Registry): SetHealth[] {
  return registry.installed().map((set) => {
    const counts = new Map<string, number>();
    for (const p of verifyHeaders(root, registry, [set.release])) counts.set(p.problem, (counts.get(p.problem) ?? 0) + 1);
    const problems = [...counts].map(([problem, n]) => `${n} ${n === 1 ? 'entry' : 'entries'} ${PROBLEM_WORDS[problem] ?? problem}`);
    const via = set.via ?? 'khpkg';
    if (via === 'khpkg' && (set.tier ?? 'headers') === 'headers' && existsSync(inRoot(root, `lib/modules/${set.release}/build/include`)))
      problems.push(
        `a headers-only tree behind /lib/modules/${set.release}/build/include: DKMS takes that for buildable headers and fails where it would skip`,
      );
    return {release: set.release, path: inRoot(root, set.path), ok: problems.length === 0, problems, ...(problems.length > 0 ? {fix: fixFor(root, set)} : {})};
  });
}

const PROBLEM_WORDS: Record<string, string> = {
  missing: 'missing',
  'changed-content': 'changed',
  'changed-mode': 'with another mode',
  'changed-type': 'of another type',
  'changed-link': 'pointing elsewhere',
  'broken-link': 'dangling',
};

/** The command that mends a set: the package manager's reinstall, or khpkg's from the kernel the set came from. */
function fixFor(root: string, set: HeaderSet): string {
  const under = root === '/' ? '' : ` --root ${root}`;
  if (set.via && set.via !== 'khpkg') return rowForManager(set.via).manager.reinstallHint(set.package ?? set.release);
  if (set.sourceKind === 'running-kernel') return `khpkg install --reinstall${under}`;
  // An installed kernel's own kheaders.ko or image: --kernel finds it again (and its source for a module-build tree).
  const installed = [`/lib/modules/${set.release}/`, `/boot/vmlinuz-${set.release}`].some((p) => set.sourcePath.includes(p));
  if ((set.sourceKind === 'module' || set.sourceKind === 'kernel-image') && installed) return `khpkg install --kernel ${set.release} --reinstall${under}`;
  const kbuild = set.tier === 'kbuild' && set.kbuild ? ` --kbuild ${set.kbuild.source}` : '';
  return set.sourcePath && set.sourceKind !== 'rebuilt' && set.sourceKind !== 'stdin'
    ? `khpkg install --reinstall ${set.sourcePath}${kbuild}${under}`
    : `khpkg install --reinstall <the kheaders of ${set.release}>${kbuild}${under}`;
}

/** `doctor` without --rebuild: the registry's soundness, then every set's tree (checkSets). */
export function checkRoot(root: string): {registry: string; sets: SetHealth[]} {
  const state = checkRegistry(root);
  const registry = state === 'ok' ? Registry.open(root) : undefined;
  try {
    return {registry: state, sets: registry ? checkSets(root, registry) : []};
  } finally {
    registry?.close();
  }
}
