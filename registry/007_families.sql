-- khpkg registry, schema 7: which package family a set was installed through, its layout, and a
-- repository package's family are no longer closed lists in SQL (a new family, pacman's first, is a
-- folder and a row in src/formats/): khpkg validates them in code (formats/table.ts, content/headers.ts).
-- SQLite cannot drop a CHECK: both tables are made again, every row kept.
-- khpkg: foreign_keys off

CREATE TABLE header_sets_7 (
  release        TEXT PRIMARY KEY,
  version        TEXT NOT NULL,
  srcarch        TEXT NOT NULL,
  deb_arch       TEXT NOT NULL,
  rpm_arch       TEXT NOT NULL,
  layout         TEXT NOT NULL,           -- content/headers.ts LAYOUTS
  path           TEXT NOT NULL,           -- the tree, relative to the root
  source_kind    TEXT NOT NULL,
  source_path    TEXT NOT NULL,
  source_sha256  TEXT NOT NULL,
  config_sha256  TEXT,
  installed_at   TEXT NOT NULL,
  files          INTEGER NOT NULL,
  bytes          INTEGER NOT NULL,
  state          TEXT NOT NULL CHECK (state IN ('installed', 'removing')),
  via            TEXT NOT NULL DEFAULT 'khpkg',   -- 'khpkg', or the package manager of a family (formats/table.ts)
  package        TEXT,
  tier           TEXT NOT NULL DEFAULT 'headers' CHECK (tier IN ('headers', 'kbuild')),
  kbuild_source  TEXT,
  kbuild_source_version TEXT,
  symvers_from   TEXT,
  symvers_symbols INTEGER,
  content_sha256 TEXT,
  kbuild_modversions INTEGER,
  btf_source     TEXT,
  btf_sha256     TEXT,
  btf_types      INTEGER
);
INSERT INTO header_sets_7 (release, version, srcarch, deb_arch, rpm_arch, layout, path, source_kind, source_path, source_sha256,
    config_sha256, installed_at, files, bytes, state, via, package, tier, kbuild_source, kbuild_source_version, symvers_from,
    symvers_symbols, content_sha256, kbuild_modversions, btf_source, btf_sha256, btf_types)
  SELECT release, version, srcarch, deb_arch, rpm_arch, layout, path, source_kind, source_path, source_sha256,
    config_sha256, installed_at, files, bytes, state, via, package, tier, kbuild_source, kbuild_source_version, symvers_from,
    symvers_symbols, content_sha256, kbuild_modversions, btf_source, btf_sha256, btf_types FROM header_sets;
DROP TABLE header_sets;
ALTER TABLE header_sets_7 RENAME TO header_sets;

CREATE TABLE repo_packages_7 (
  repo      TEXT NOT NULL,                -- the repository directory, absolute
  filename  TEXT NOT NULL,                -- relative to the repo (pool/...)
  format    TEXT NOT NULL,                -- a family of formats/table.ts
  name      TEXT NOT NULL,
  version   TEXT NOT NULL,
  arch      TEXT NOT NULL,
  size      INTEGER NOT NULL,
  mtime_ms  REAL NOT NULL,                -- with size, tells whether the file changed since it was read
  sha256    TEXT NOT NULL,
  meta      TEXT NOT NULL,                -- the index entries, JSON (without the file list)
  filelists TEXT,                         -- its file list for the index that wants it, read only when writing that index
  PRIMARY KEY (repo, filename)
) WITHOUT ROWID;
INSERT INTO repo_packages_7 SELECT repo, filename, format, name, version, arch, size, mtime_ms, sha256, meta, filelists FROM repo_packages;
DROP TABLE repo_packages;
ALTER TABLE repo_packages_7 RENAME TO repo_packages;
