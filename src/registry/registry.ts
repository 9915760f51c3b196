import {chmodSync, existsSync, readdirSync, readFileSync} from 'node:fs';
import {createRequire} from 'node:module';
import {join} from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import {KhpkgError} from '../errors.js';
import {checkedInRoot, ensureDirInRoot} from '../root/paths.js';
import type {BuiltArtifact, FileRecord, HeaderSet, Operation, RepoPackage} from './types.js';

/** Top-level registry/: numbered SQL migrations, applied in order (PRAGMA user_version). */
const MIGRATIONS = new URL('../../registry/', import.meta.url);

const REGISTRY_DIR = 'var/lib/khpkg';

/** The registry's dir in `root`, refused if a symlink on the way leads out of the root. */
export function registryDir(root: string): string {
  return checkedInRoot(root, REGISTRY_DIR);
}

/** The registry's dir, made (inside the root) if missing. */
export function makeRegistryDir(root: string): string {
  return ensureDirInRoot(root, REGISTRY_DIR);
}

/** Whether `root` has a registry file (without opening it). */
export function registryExists(root: string): boolean {
  return existsSync(join(registryDir(root), 'registry.db'));
}

type Row = Record<string, unknown>;

/** The registry file most recently opened, for naming it when SQLite finds it damaged later. */
let lastOpened: string | undefined;

/** SQLite's word that the registry file is damaged, as khpkg's error with the fix; else undefined. */
export function registryError(e: unknown): KhpkgError | undefined {
  const code = (e as {code?: unknown})?.code;
  if (typeof code !== 'string' || !/^SQLITE_(CORRUPT|NOTADB)/.test(code)) return undefined;
  return new KhpkgError(
    'registry-damaged',
    `registry ${lastOpened ?? 'var/lib/khpkg/registry.db'} is damaged: run 'khpkg doctor --rebuild' to recreate it from the trees on disk`,
  );
}

/**
 * The only place that speaks SQL. One SQLite file per root, WAL so readers never wait for a writer,
 * foreign keys on, and a busy timeout so concurrent commands wait instead of failing.
 */
export class Registry {
  private constructor(
    private readonly db: BetterSqlite3.Database,
    readonly file: string,
  ) {}

  /** Opens (and with `create`, creates) the registry of `root`. Without one, read commands see none. */
  static open(root: string, opts: {create?: boolean; busyMs?: number} = {}): Registry | undefined {
    const dir = registryDir(root);
    const file = join(dir, 'registry.db');
    if (!existsSync(file)) {
      if (!opts.create) return undefined;
      makeRegistryDir(root);
    }
    lastOpened = file;
    const Database = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
    let db: BetterSqlite3.Database | undefined;
    try {
      db = new Database(file);
      db.pragma(`busy_timeout = ${opts.busyMs ?? 30_000}`);
      db.pragma('journal_mode = WAL');
      db.pragma('foreign_keys = ON');
      migrate(db);
      chmodSync(file, 0o644);
    } catch (e) {
      db?.close();
      if (e instanceof KhpkgError) throw e;
      const msg = (e as Error).message;
      if (/not a database|malformed|corrupt/i.test(msg)) {
        throw new KhpkgError('registry-damaged', `registry ${file} is damaged: run 'khpkg doctor --rebuild' to recreate it from the trees on disk`);
      }
      throw new KhpkgError('registry', `registry ${file}: ${msg}`);
    }
    return new Registry(db, file);
  }

  close(): void {
    this.db.close();
  }

  installed(): HeaderSet[] {
    return (this.db.prepare('SELECT * FROM header_sets ORDER BY release').all() as Row[]).map(toHeaderSet);
  }

  get(release: string): HeaderSet | undefined {
    const row = this.db.prepare('SELECT * FROM header_sets WHERE release = ?').get(release) as Row | undefined;
    return row && toHeaderSet(row);
  }

  files(release: string): FileRecord[] {
    return (this.db.prepare('SELECT * FROM files WHERE release = ? ORDER BY path').all(release) as Row[]).map(toFile);
  }

  /** Which header sets list `path` (relative to the root). */
  owners(path: string): {release: string; file: FileRecord}[] {
    const rows = this.db.prepare('SELECT * FROM files WHERE path = ? ORDER BY release').all(path) as Row[];
    return rows.map((r) => ({release: String(r.release), file: toFile(r)}));
  }

  /** Every recorded path of every set (for pattern queries). */
  allFiles(): {release: string; file: FileRecord}[] {
    const rows = this.db.prepare('SELECT * FROM files ORDER BY release, path').all() as Row[];
    return rows.map((r) => ({release: String(r.release), file: toFile(r)}));
  }

  /** Replaces whatever was recorded for the release with the new set, and ends its operation: one transaction. */
  recordInstall(set: HeaderSet, files: FileRecord[], operationId?: number): void {
    const insertSet = this.db.prepare(
      `INSERT INTO header_sets (release, version, srcarch, deb_arch, rpm_arch, layout, path, source_kind, source_path, source_sha256,
         config_sha256, content_sha256, installed_at, files, bytes, state, via, package, tier, kbuild_source, kbuild_source_version, symvers_from, symvers_symbols, kbuild_modversions,
         btf_source, btf_sha256, btf_types)
       VALUES (@release, @version, @srcarch, @debArch, @rpmArch, @layout, @path, @sourceKind, @sourcePath, @sourceSha256,
         @configSha256, @contentSha256, @installedAt, @files, @bytes, @state, @via, @package, @tier, @kbuildSource, @kbuildSourceVersion, @symversFrom, @symversSymbols, @kbuildModversions,
         @btfSource, @btfSha256, @btfTypes)`,
    );
    const insertFile = this.db.prepare('INSERT INTO files (release, path, type, mode, size, sha256, link_target) VALUES (?, ?, ?, ?, ?, ?, ?)');
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM header_sets WHERE release = ?').run(set.release);
      const {kbuild, btf, ...row} = set;
      insertSet.run({
        ...row,
        configSha256: set.configSha256 ?? null,
        contentSha256: set.contentSha256 ?? null,
        via: set.via ?? 'khpkg',
        package: set.package ?? null,
        tier: set.tier ?? 'headers',
        kbuildSource: kbuild?.source ?? null,
        kbuildSourceVersion: kbuild?.sourceVersion ?? null,
        symversFrom: kbuild?.symversFrom ?? null,
        symversSymbols: kbuild?.symversSymbols ?? null,
        btfSource: btf?.source ?? null,
        btfSha256: btf?.sha256 ?? null,
        btfTypes: btf?.types ?? null,
        kbuildModversions: kbuild?.modversions === undefined ? null : Number(kbuild.modversions),
      });
      for (const f of files) insertFile.run(set.release, f.path, f.type, f.mode, f.size, f.sha256 ?? null, f.linkTarget ?? null);
      if (operationId !== undefined) this.db.prepare('DELETE FROM operations WHERE id = ?').run(operationId);
    })();
  }

  markRemoving(release: string): void {
    this.db.prepare("UPDATE header_sets SET state = 'removing' WHERE release = ?").run(release);
  }

  /** Drops a release and its files (and its finished remove operation). */
  forget(release: string, operationId?: number): void {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM header_sets WHERE release = ?').run(release);
      if (operationId !== undefined) this.db.prepare('DELETE FROM operations WHERE id = ?').run(operationId);
    })();
  }

  beginOperation(op: Omit<Operation, 'id'>): number {
    const r = this.db
      .prepare('INSERT INTO operations (kind, release, phase, tree_path, stage_path, old_path, started_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(op.kind, op.release, op.phase, op.treePath, op.stagePath ?? null, op.oldPath ?? null, new Date().toISOString());
    return Number(r.lastInsertRowid);
  }

  setPhase(id: number, phase: string): void {
    this.db.prepare('UPDATE operations SET phase = ? WHERE id = ?').run(phase, id);
  }

  endOperation(id: number): void {
    this.db.prepare('DELETE FROM operations WHERE id = ?').run(id);
  }

  operations(): Operation[] {
    return (this.db.prepare('SELECT * FROM operations ORDER BY id').all() as Row[]).map((r) => ({
      id: Number(r.id),
      kind: r.kind as Operation['kind'],
      release: String(r.release),
      phase: String(r.phase),
      treePath: String(r.tree_path),
      stagePath: (r.stage_path as string | null) ?? undefined,
      oldPath: (r.old_path as string | null) ?? undefined,
    }));
  }

  /** The packages recorded for a repository directory, as last read from their files (file lists left out; repoFilelists has them). */
  repoPackages(repo: string): RepoPackage[] {
    const rows = this.db.prepare('SELECT meta FROM repo_packages WHERE repo = ? ORDER BY filename').all(repo) as Row[];
    return rows.map((r) => JSON.parse(String(r.meta)) as RepoPackage);
  }

  /** The file lists of a repo's packages (rpm-md's filelists entries, pacman's files), one at a time: they are the bulk of its metadata. */
  *repoFilelists(repo: string): Generator<{filename: string; filelists: string}> {
    const rows = this.db.prepare('SELECT filename, filelists FROM repo_packages WHERE repo = ? AND filelists IS NOT NULL ORDER BY filename').iterate(repo);
    for (const r of rows as Iterable<Row>) yield {filename: String(r.filename), filelists: String(r.filelists ?? '')};
  }

  /** Records packages read (or read again) and forgets the ones gone, in one transaction. */
  updateRepoPackages(repo: string, put: RepoPackage[], drop: string[]): void {
    const insert = this.db.prepare(
      `INSERT OR REPLACE INTO repo_packages (repo, filename, format, name, version, arch, size, mtime_ms, sha256, meta, filelists)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const remove = this.db.prepare('DELETE FROM repo_packages WHERE repo = ? AND filename = ?');
    this.db.transaction(() => {
      for (const f of drop) remove.run(repo, f);
      for (const p of put) {
        // The file lists are the bulk of a package's metadata: in their own column, read only by the index that wants them.
        const {fileList, ...meta} = p;
        insert.run(repo, p.filename, p.format, p.name, p.version, p.arch, p.size, p.mtimeMs, p.sha256, JSON.stringify(meta), fileList ?? null);
      }
    })();
  }

  recordArtifact(a: BuiltArtifact): void {
    this.db
      .prepare(
        `INSERT OR REPLACE INTO artifacts (format, path, name, version, arch, release, sha256, size, source_sha256, built_at)
         VALUES (@format, @path, @name, @version, @arch, @release, @sha256, @size, @sourceSha256, @builtAt)`,
      )
      .run(a);
  }

  /** Forgets the built-package records of these files. */
  forgetArtifacts(paths: readonly string[]): void {
    const del = this.db.prepare('DELETE FROM artifacts WHERE path = ?');
    this.db.transaction(() => paths.forEach((p) => del.run(p)))();
  }

  artifacts(): BuiltArtifact[] {
    return (this.db.prepare('SELECT * FROM artifacts ORDER BY built_at, id').all() as Row[]).map((r) => ({
      format: String(r.format),
      path: String(r.path),
      name: String(r.name),
      version: String(r.version),
      arch: String(r.arch),
      release: String(r.release),
      sha256: String(r.sha256),
      size: Number(r.size),
      sourceSha256: String(r.source_sha256),
      builtAt: String(r.built_at),
    }));
  }

  integrityCheck(): string {
    return String(this.db.pragma('integrity_check', {simple: true}));
  }
}

function migrate(db: BetterSqlite3.Database): void {
  const files = readdirSync(MIGRATIONS)
    .filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f))
    .sort();
  const version = (): number => Number(db.pragma('user_version', {simple: true}));
  if (version() > files.length) {
    throw new KhpkgError('registry', `registry schema ${version()} is newer than this khpkg knows (${files.length}): upgrade khpkg`);
  }
  for (const [i, f] of files.entries()) {
    if (version() > i) continue;
    const sql = readFileSync(new URL(f, MIGRATIONS), 'utf8');
    // A migration that makes a table again (to drop a CHECK) runs with foreign keys off, as SQLite's own
    // procedure says: dropping the old header_sets would otherwise delete every set's files with it.
    const keysOff = /^-- khpkg: foreign_keys off$/m.test(sql);
    if (keysOff) db.pragma('foreign_keys = OFF');
    try {
      // Read the version inside the write transaction: two first runs at once must not both migrate.
      db.transaction(() => {
        if (version() > i) return;
        db.exec(sql);
        if (keysOff && (db.pragma('foreign_key_check') as unknown[]).length > 0) throw new KhpkgError('registry', `registry migration ${f} broke a reference`);
        db.pragma(`user_version = ${i + 1}`);
      }).immediate();
    } finally {
      if (keysOff) db.pragma('foreign_keys = ON');
    }
  }
}

function toHeaderSet(r: Row): HeaderSet {
  return {
    release: String(r.release),
    version: String(r.version),
    srcarch: String(r.srcarch),
    debArch: String(r.deb_arch),
    rpmArch: String(r.rpm_arch),
    layout: r.layout as HeaderSet['layout'],
    path: String(r.path),
    sourceKind: String(r.source_kind),
    sourcePath: String(r.source_path),
    sourceSha256: String(r.source_sha256),
    configSha256: (r.config_sha256 as string | null) ?? undefined,
    ...(r.content_sha256 ? {contentSha256: String(r.content_sha256)} : {}),
    installedAt: String(r.installed_at),
    files: Number(r.files),
    bytes: Number(r.bytes),
    state: r.state as HeaderSet['state'],
    via: (r.via as HeaderSet['via']) ?? 'khpkg',
    ...(r.package ? {package: String(r.package)} : {}),
    tier: (r.tier as HeaderSet['tier']) ?? 'headers',
    ...(r.kbuild_source
      ? {
          kbuild: {
            source: String(r.kbuild_source),
            sourceVersion: String(r.kbuild_source_version),
            ...(r.symvers_from ? {symversFrom: String(r.symvers_from), symversSymbols: Number(r.symvers_symbols)} : {}),
            ...(r.kbuild_modversions === null || r.kbuild_modversions === undefined ? {} : {modversions: r.kbuild_modversions === 1}),
          },
        }
      : {}),
    ...(r.btf_sha256 ? {btf: {source: String(r.btf_source), sha256: String(r.btf_sha256), types: Number(r.btf_types)}} : {}),
  };
}

function toFile(r: Row): FileRecord {
  return {
    path: String(r.path),
    type: r.type as FileRecord['type'],
    mode: Number(r.mode),
    size: Number(r.size),
    sha256: (r.sha256 as string | null) ?? undefined,
    linkTarget: (r.link_target as string | null) ?? undefined,
  };
}
