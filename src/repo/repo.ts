import {constants, rmSync} from 'node:fs';
import {access, copyFile, mkdir, rename, rm, rmdir, stat, writeFile} from 'node:fs/promises';
import {onInterrupt} from '../interrupt.js';
import {basename, dirname, join, resolve} from 'node:path';
import {KhpkgError} from '../errors.js';
import {lockFile} from '../registry/lock.js';
import type {Registry} from '../registry/registry.js';
import type {GpgSigner} from './gpg.js';
import type {RepoPackage} from '../registry/types.js';
import {readPackageMeta} from './package-meta.js';
import {filesUnder, type IndexContext, type IndexFile} from '../formats/family.js';
import {FORMAT_TABLE, FORMATS, type Format} from '../formats/table.js';

/** What a repo update does; the APT naming (flat, suite, component, origin, label) as the families' indexes take it. */
export interface RepoOptions extends Pick<IndexContext, 'flat' | 'suite' | 'component' | 'origin' | 'label'> {
  /** Package files to copy into the pool. */
  add: string[];
  /** Packages to take out: a name, `name_version`, `name-version` or a file name. */
  remove: string[];
  /** Keep only the newest N revisions of each kernel release. */
  keep?: number;
  /** Release's `Valid-Until`, in days from `now`. */
  validDays?: number;
  signer?: GpgSigner;
  now: Date;
  /** Where what was read of each package is kept; without one, every package is read again. */
  registry?: Registry;
  waitSeconds: number;
}

export interface RepoResult {
  dir: string;
  added: Pick<RepoPackage, 'filename' | 'format' | 'name' | 'version' | 'arch' | 'sha256'>[];
  removed: string[];
  /** How many packages of each family the repository holds now. */
  packages: Record<Format, number>;
  /** How many package files were read this time (the rest came from the registry). */
  read: number;
  signed: boolean;
}

export const PUBLIC_KEY_FILE = 'khpkg-archive-key.asc';
/**
 * The repo's lock, beside it rather than in it, so a mirror that publishes DIR never publishes the
 * lock; inside DIR only when its parent cannot be written.
 */
async function lockPath(dir: string): Promise<string> {
  const beside = join(dirname(dir), `.${basename(dir)}.khpkg-lock`);
  try {
    await access(dirname(dir), constants.W_OK);
    return beside;
  } catch {
    return join(dir, '.khpkg.lock');
  }
}

/**
 * Adds and removes packages in DIR and rewrites every family's indexes (APT, RPM-MD, pacman's sync
 * databases: formats/<family>/row.ts). Every
 * signature is made before any index is replaced, and each file is replaced by rename, indexes
 * before the Release/repomd.xml that name them: a failure leaves the repo as it was, and a client
 * reading during an update sees the old or the new index set.
 */
export async function updateRepo(dirArg: string, o: RepoOptions): Promise<RepoResult> {
  const dir = resolve(dirArg);
  const incoming = await Promise.all(o.add.map(async (path) => ({path, meta: await readPackageMeta(path, basename(path))})));
  await mkdir(dir, {recursive: true});
  const lock = lockFile(await lockPath(dir), o.waitSeconds, dir);
  const temps: string[] = [];
  const forget = onInterrupt(() => temps.forEach((t) => rmSync(t, {force: true})));
  try {
    const known = new Map((o.registry?.repoPackages(dir) ?? []).map((p) => [p.filename, p]));
    const current = new Map<string, RepoPackage>();
    let read = 0;
    // Stat the pool 64 at a time: at 5,000 packages one stat after another was 0.4 s of an update.
    const pool = await poolFiles(dir);
    const stats = new Map<string, {size: number; mtimeMs: number}>();
    for (let i = 0; i < pool.length; i += 64) await Promise.all(pool.slice(i, i + 64).map(async (f) => stats.set(f, await stat(join(dir, f)))));
    for (const filename of pool) {
      const st = stats.get(filename)!;
      const k = known.get(filename);
      // A record an older khpkg made (no `index`) is read again.
      if (k && k.size === st.size && k.mtimeMs === st.mtimeMs && k.index) current.set(filename, k);
      else {
        current.set(filename, await readPackageMeta(join(dir, filename), filename));
        read++;
      }
    }

    const removeSet = new Set<string>();
    for (const spec of o.remove) {
      const hits = [...current.values()].filter((p) => matches(p, spec));
      if (hits.length === 0) throw new KhpkgError('not-found', `no package in ${dir} matches '${spec}'`);
      for (const h of hits) removeSet.add(h.filename);
    }

    // Copy (and sign) what comes in beside its final place; rename only once everything is ready.
    const ready: {tmp: string; meta: RepoPackage}[] = [];
    for (const {path, meta} of incoming) {
      const filename = FORMAT_TABLE[meta.format].repo.place(meta, o.component);
      const final = join(dir, filename);
      await mkdir(dirname(final), {recursive: true});
      const tmp = `${final}.adding-${process.pid}`;
      temps.push(tmp);
      await copyFile(path, tmp);
      const {signPackage} = FORMAT_TABLE[meta.format].repo;
      if (signPackage && o.signer) await signPackage(tmp, o.signer);
      ready.push({tmp, meta: {...(await readPackageMeta(tmp, filename)), filename}});
    }
    // An unsigned package already in a repo that is now signed gets signed too, where its family signs packages (dnf's gpgcheck needs it).
    const resign: {tmp: string; filename: string}[] = [];
    if (o.signer) {
      for (const p of current.values()) {
        const {signPackage, unsigned} = FORMAT_TABLE[p.format].repo;
        if (!signPackage || !unsigned?.(p) || removeSet.has(p.filename) || ready.some((r) => r.meta.filename === p.filename)) continue;
        const tmp = `${join(dir, p.filename)}.signing-${process.pid}`;
        temps.push(tmp);
        await copyFile(join(dir, p.filename), tmp);
        await signPackage(tmp, o.signer);
        resign.push({tmp, filename: p.filename});
      }
    }

    const next = new Map(current);
    for (const f of removeSet) next.delete(f);
    for (const r of ready) next.set(r.meta.filename, r.meta);
    if (o.keep !== undefined)
      for (const f of beyondKeep([...next.values()], o.keep)) {
        next.delete(f);
        removeSet.add(f);
      }
    // Indexes describe the signed files: read those now (their final names are what the index says).
    for (const r of resign) next.set(r.filename, {...(await readPackageMeta(r.tmp, r.filename)), filename: r.filename});

    const packages = [...next.values()].sort((a, b) => (a.filename < b.filename ? -1 : 1));
    const ctx = indexContext(dir, packages, o);
    const files = await indexFiles(packages, ctx, o);

    for (const r of ready) await rename(r.tmp, join(dir, r.meta.filename));
    for (const r of resign) await rename(r.tmp, join(dir, r.filename));
    temps.length = 0;
    // Re-stat what was renamed: the registry must match the files as they now are.
    for (const p of [...ready.map((r) => r.meta.filename), ...resign.map((r) => r.filename)]) {
      const st = await stat(join(dir, p));
      next.set(p, {...next.get(p)!, mtimeMs: st.mtimeMs, size: st.size});
    }
    for (const f of files) await writeAtomic(join(dir, f.path), f.data);
    await removeStale(dir, files, ctx, o);
    for (const f of removeSet) await rm(join(dir, f), {force: true});

    const changed = [...next.values()].filter((p) => known.get(p.filename) !== p);
    const dropped = [...known.keys()].filter((f) => !next.has(f));
    o.registry?.updateRepoPackages(dir, changed, dropped);
    return {
      dir,
      added: ready.map(({meta: m}) => ({filename: m.filename, format: m.format, name: m.name, version: m.version, arch: m.arch, sha256: m.sha256})),
      removed: [...removeSet].sort(),
      packages: Object.fromEntries(FORMATS.map((f) => [f, packages.filter((p) => p.format === f).length])) as Record<Format, number>,
      read: read + ready.length,
      signed: o.signer !== undefined,
    };
  } finally {
    for (const t of temps) await rm(t, {force: true});
    forget();
    lock.release();
  }
}

/**
 * What the families' indexes are written with. File lists of packages read now are in memory; the
 * others come from the registry, read once, only when some family asks for one.
 */
function indexContext(dir: string, packages: RepoPackage[], o: RepoOptions): IndexContext {
  let stored: Map<string, string> | undefined;
  const fileList = (p: RepoPackage): string => {
    if (p.fileList !== undefined) return p.fileList;
    if (!stored) {
      const wanted = new Set(packages.filter((q) => q.fileList === undefined).map((q) => q.filename));
      stored = new Map();
      for (const f of o.registry?.repoFilelists(dir) ?? []) if (wanted.has(f.filename)) stored.set(f.filename, f.filelists);
    }
    const list = stored.get(p.filename);
    if (list === undefined) throw new KhpkgError('internal', `${p.filename} in the repo has no file list recorded`);
    return list;
  };
  const validUntil = o.validDays === undefined ? undefined : new Date(o.now.getTime() + o.validDays * 86_400_000);
  return {flat: o.flat, suite: o.suite, component: o.component, origin: o.origin, label: o.label, now: o.now, validUntil, signer: o.signer, fileList};
}

/** Every family's indexes and signatures, made in memory first so that nothing is replaced until all succeeded. */
async function indexFiles(packages: RepoPackage[], ctx: IndexContext, o: RepoOptions): Promise<IndexFile[]> {
  const out: IndexFile[] = [];
  for (const format of FORMATS)
    out.push(
      ...(await FORMAT_TABLE[format].repo.indexes(
        packages.filter((p) => p.format === format),
        ctx,
      )),
    );
  if (o.signer) out.push({path: PUBLIC_KEY_FILE, data: await o.signer.publicKey()});
  // Data before the files that name them (Release, InRelease, repomd.xml last).
  return out.sort((a, b) => Number(a.last ?? false) - Number(b.last ?? false));
}

/** Index files a family wrote before and not now (old hashed repodata, an architecture with no packages left, signatures of a repo no longer signed). */
async function removeStale(dir: string, written: IndexFile[], ctx: IndexContext, o: RepoOptions): Promise<void> {
  const keep = new Set(written.map((f) => f.path));
  const gone: string[] = [];
  for (const format of FORMATS) for (const rel of await FORMAT_TABLE[format].repo.ownIndexes(dir, ctx)) if (!keep.has(rel)) gone.push(rel);
  if (!o.signer && !keep.has(PUBLIC_KEY_FILE)) gone.push(PUBLIC_KEY_FILE);
  for (const rel of gone) {
    await rm(join(dir, rel), {force: true});
    // Its directories go with it once empty (rmdir refuses one that is not).
    for (let d = dirname(rel); d !== '.'; d = dirname(d))
      if (
        !(await rmdir(join(dir, d)).then(
          () => true,
          () => false,
        ))
      )
        break;
  }
}

function matches(p: RepoPackage, spec: string): boolean {
  return p.name === spec || basename(p.filename) === spec || `${p.name}_${p.version}` === spec || `${p.name}-${p.version}` === spec;
}

/** The files of revisions older than the newest `keep` in each group (a kernel release, per format). */
function beyondKeep(packages: RepoPackage[], keep: number): string[] {
  const groups = new Map<string, RepoPackage[]>();
  for (const p of packages) {
    const key = `${p.format}\0${p.group}\0${p.arch}`;
    groups.set(key, [...(groups.get(key) ?? []), p]);
  }
  const out: string[] = [];
  for (const g of groups.values()) {
    const cmp = FORMAT_TABLE[g[0]!.format].compareVersions;
    g.sort((a, b) => cmp(b.version, a.version));
    out.push(...g.slice(keep).map((p) => p.filename));
  }
  return out;
}

/** Every family's package files in the repository, relative to its top. */
async function poolFiles(dir: string): Promise<string[]> {
  const rows = FORMATS.map((f) => FORMAT_TABLE[f].repo);
  const found = new Set<string>();
  for (const under of new Set(rows.map((r) => r.dir)))
    for (const rel of await filesUnder(dir, under)) if (rows.some((r) => r.dir === under && r.packageFile.test(rel))) found.add(rel);
  return [...found].sort();
}

async function writeAtomic(path: string, data: Buffer): Promise<void> {
  await mkdir(dirname(path), {recursive: true});
  const tmp = `${path}.new-${process.pid}`;
  const forget = onInterrupt(() => rmSync(tmp, {force: true}));
  try {
    await writeFile(tmp, data, {mode: 0o644});
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, {force: true});
    throw e;
  } finally {
    forget();
  }
}
