-- khpkg registry, schema 1: installed header sets keyed by kernel release, their files,
-- operations in flight (for crash recovery), and packages khpkg built.

CREATE TABLE header_sets (
  release        TEXT PRIMARY KEY,
  version        TEXT NOT NULL,
  srcarch        TEXT NOT NULL,
  deb_arch       TEXT NOT NULL,
  rpm_arch       TEXT NOT NULL,
  layout         TEXT NOT NULL CHECK (layout IN ('debian', 'kernels')),
  path           TEXT NOT NULL,           -- the tree, relative to the root
  source_kind    TEXT NOT NULL,
  source_path    TEXT NOT NULL,
  source_sha256  TEXT NOT NULL,
  config_sha256  TEXT,
  installed_at   TEXT NOT NULL,
  files          INTEGER NOT NULL,
  bytes          INTEGER NOT NULL,
  state          TEXT NOT NULL CHECK (state IN ('installed', 'removing'))
);

CREATE TABLE files (
  release      TEXT NOT NULL REFERENCES header_sets (release) ON DELETE CASCADE,
  path         TEXT NOT NULL,             -- relative to the root, no leading '/'
  type         TEXT NOT NULL CHECK (type IN ('file', 'dir', 'symlink')),
  mode         INTEGER NOT NULL,
  size         INTEGER NOT NULL,
  sha256       TEXT,
  link_target  TEXT,
  PRIMARY KEY (release, path)
) WITHOUT ROWID;

CREATE INDEX files_by_path ON files (path);

-- An install or remove in flight: what the next command must undo (install) or finish (remove).
CREATE TABLE operations (
  id          INTEGER PRIMARY KEY,
  kind        TEXT NOT NULL CHECK (kind IN ('install', 'remove')),
  release     TEXT NOT NULL,
  phase       TEXT NOT NULL,
  tree_path   TEXT NOT NULL,             -- where the set's tree lives (or will)
  stage_path  TEXT,
  old_path    TEXT,
  started_at  TEXT NOT NULL
);

CREATE TABLE artifacts (
  id             INTEGER PRIMARY KEY,
  format         TEXT NOT NULL,
  path           TEXT NOT NULL,
  name           TEXT NOT NULL,
  version        TEXT NOT NULL,
  arch           TEXT NOT NULL,
  release        TEXT NOT NULL,
  sha256         TEXT NOT NULL,
  size           INTEGER NOT NULL,
  source_sha256  TEXT NOT NULL,
  built_at       TEXT NOT NULL,
  UNIQUE (path, sha256)
);
