import {constants, rmSync} from 'node:fs';
import {access, copyFile, mkdir, readdir, rename, rm, rmdir, stat, writeFile} from 'node:fs/promises';
import {onInterrupt} from '../interrupt.js';
import {basename, dirname, join, relative, resolve, sep} from 'node:path';
import {KhpkgError} from '../errors.js';
import {signRpmFile} from '../formats/rpm/signature.js';
import {lockFile} from '../registry/lock.js';
import type {Registry} from '../registry/registry.js';
import {aptIndexes, type AptOptions, type IndexFile} from './apt.js';
import type {GpgSigner} from './gpg.js';
import type {RepoPackage} from '../registry/types.js';
import {readPackageMeta} from './package-meta.js';
import {rpmmdIndexes} from './rpmmd.js';
import {FORMAT_TABLE} from '../formats/table.js';

/** What a repo update does; the APT naming (flat, suite, component, origin, label) as aptIndexes takes it. */
export interface RepoOptions extends Pick<AptOptions, 'flat' | 'suite' | 'component' | 'origin' | 'label'> {
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
  packages: {deb: number; rpm: number};
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
 * Adds and removes packages in DIR and rewrites it as both an APT and an RPM-MD repository. Every
 * signature is made before any index is replaced, and each file is replaced by rename, indexes
 * before the Release/repomd.xml that name them: a failure leaves the repo as it was, and a client
 * reading during an update sees the old or the new index set.
 */
export async function updateRepo(dirArg: string, o: RepoOptions): Promise<RepoResult> {
  const dir = resolve(dirArg);
  const incoming = await Promise.all(o.add.map(async (path) => ({path, meta: await readPackageMeta(path, basename(path))})));
  await mkdir(join(dir, 'pool'), {recursive: true});
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
      if (k && k.size === st.size && k.mtimeMs === st.mtimeMs) current.set(filename, k);
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
      const filename = poolPath(meta, o.component);
      const final = join(dir, filename);
      await mkdir(dirname(final), {recursive: true});
      const tmp = `${final}.adding-${process.pid}`;
      temps.push(tmp);
      await copyFile(path, tmp);
      if (meta.format === 'rpm' && o.signer) await signRpmFile(tmp, (data) => o.signer!.detach(data, false));
      ready.push({tmp, meta: {...(await readPackageMeta(tmp, filename)), filename}});
    }
    // An unsigned rpm already in a repo that is now signed gets signed too (dnf's gpgcheck needs it).
    const resign: {tmp: string; filename: string}[] = [];
    if (o.signer) {
      for (const p of current.values()) {
        if (p.format !== 'rpm' || p.signed || removeSet.has(p.filename) || ready.some((r) => r.meta.filename === p.filename)) continue;
        const tmp = `${join(dir, p.filename)}.signing-${process.pid}`;
        temps.push(tmp);
        await copyFile(join(dir, p.filename), tmp);
        await signRpmFile(tmp, (data) => o.signer!.detach(data, false));
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
    const debs = packages.filter((p) => FORMAT_TABLE[p.format].repoIndex === 'apt');
    const rpms = packages.filter((p) => FORMAT_TABLE[p.format].repoIndex === 'rpm-md');
    const files = await indexFiles(dir, debs, rpms, o);

    for (const r of ready) await rename(r.tmp, join(dir, r.meta.filename));
    for (const r of resign) await rename(r.tmp, join(dir, r.filename));
    temps.length = 0;
    // Re-stat what was renamed: the registry must match the files as they now are.
    for (const p of [...ready.map((r) => r.meta.filename), ...resign.map((r) => r.filename)]) {
      const st = await stat(join(dir, p));
      next.set(p, {...next.get(p)!, mtimeMs: st.mtimeMs, size: st.size});
    }
    for (const f of files) await writeAtomic(join(dir, f.path), f.data);
    await removeStale(dir, files, o);
    for (const f of removeSet) await rm(join(dir, f), {force: true});

    const changed = [...next.values()].filter((p) => known.get(p.filename) !== p);
    const dropped = [...known.keys()].filter((f) => !next.has(f));
    o.registry?.updateRepoPackages(dir, changed, dropped);
    return {
      dir,
      added: ready.map(({meta: m}) => ({filename: m.filename, format: m.format, name: m.name, version: m.version, arch: m.arch, sha256: m.sha256})),
      removed: [...removeSet].sort(),
      packages: {deb: debs.length, rpm: rpms.length},
      read: read + ready.length,
      signed: o.signer !== undefined,
    };
  } finally {
    for (const t of temps) await rm(t, {force: true});
    forget();
    lock.release();
  }
}

/** Every index and signature, made in memory first so that nothing is replaced until all succeeded. */
async function indexFiles(dir: string, debs: RepoPackage[], rpms: RepoPackage[], o: RepoOptions): Promise<IndexFile[]> {
  const out: IndexFile[] = [];
  const time = Math.floor(o.now.getTime() / 1000);
  {
    // Written even for no packages: an empty repository must still be one apt and dnf accept.
    const validUntil = o.validDays === undefined ? undefined : new Date(o.now.getTime() + o.validDays * 86_400_000);
    const apt = await aptIndexes(debs, {flat: o.flat, suite: o.suite, component: o.component, origin: o.origin, label: o.label, date: o.now, validUntil});
    out.push(...apt.indexes, apt.release);
    if (o.signer) {
      const base = dirname(apt.release.path) === '.' ? '' : `${dirname(apt.release.path)}/`;
      out.push({path: `${base}InRelease`, data: await o.signer.clearsign(apt.release.data)});
      out.push({path: `${base}Release.gpg`, data: await o.signer.detach(apt.release.data, true)});
    }
  }
  {
    // File lists of packages read now are in memory; the others come from the registry one by one.
    const fresh = new Map<string, string>();
    for (const p of rpms) if (p.rpm?.filelists) fresh.set(p.filename, p.rpm.filelists);
    const inRepo = new Set(rpms.map((p) => p.filename));
    const stored = new Map<string, string>();
    if (o.registry) for (const f of o.registry.repoFilelists(dir)) if (!fresh.has(f.filename) && inRepo.has(f.filename)) stored.set(f.filename, f.filelists);
    const lists = rpms.map((p) => fresh.get(p.filename) ?? stored.get(p.filename));
    if (lists.some((l) => l === undefined)) throw new KhpkgError('internal', 'an rpm in the repo has no file list recorded');
    const md = rpmmdIndexes(rpms, lists as string[], time);
    out.push(...md.data, md.repomd);
    if (o.signer) out.push({path: `${md.repomd.path}.asc`, data: await o.signer.detach(md.repomd.data, true)});
  }
  if (o.signer) out.push({path: PUBLIC_KEY_FILE, data: await o.signer.publicKey()});
  // Data before the files that name them (Release, InRelease, repomd.xml last).
  const last = (f: IndexFile): number => (/(^|\/)(Release|InRelease|Release\.gpg|repomd\.xml(\.asc)?)$/.test(f.path) ? 1 : 0);
  return out.sort((a, b) => last(a) - last(b));
}

/** Old hashed repodata files, and a whole format's indexes once it has no packages left. */
async function removeStale(dir: string, written: IndexFile[], o: RepoOptions): Promise<void> {
  const keep = new Set(written.map((f) => f.path));
  // Old metadata (repodata named by digest, an architecture no package has any more) goes; so do
  // signatures when the repo is no longer signed.
  const stale = async (rel: string): Promise<void> => {
    for (const e of await readdir(join(dir, rel), {withFileTypes: true}).catch(() => [])) {
      const child = `${rel}/${e.name}`;
      if (e.isDirectory()) {
        await stale(child);
        await rmdir(join(dir, child)).catch(() => undefined); // only when empty
      } else if (!keep.has(child)) await rm(join(dir, child), {force: true});
    }
  };
  await stale('repodata');
  if (!o.flat) await stale(`dists/${o.suite}`);
  if (!o.signer) for (const f of [PUBLIC_KEY_FILE, 'InRelease', 'Release.gpg']) if (!keep.has(f)) await rm(join(dir, f), {force: true});
}

/** Debian's pool layout: `pool/<component>/<l>/<name>/`, with dpkg's and rpm's canonical file names. */
function poolPath(p: RepoPackage, component: string): string {
  const letter = p.name.startsWith('lib') ? p.name.slice(0, 4) : p.name[0]!;
  const version = p.version.replace(/^\d+:/, '');
  const file = FORMAT_TABLE[p.format].fileName(p.name, version, p.arch);
  return `pool/${component}/${letter}/${p.name}/${file}`;
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

async function poolFiles(dir: string): Promise<string[]> {
  const entries = await readdir(join(dir, 'pool'), {recursive: true, withFileTypes: true});
  return entries
    .filter((e) => e.isFile() && /\.(deb|rpm)$/.test(e.name))
    .map((e) =>
      relative(dir, join(e.parentPath ?? (e as unknown as {path: string}).path, e.name))
        .split(sep)
        .join('/'),
    )
    .sort();
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
