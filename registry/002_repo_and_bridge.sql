-- khpkg registry, schema 2: what repository indexes need of each package in a repo (so adding one
-- package does not re-read the others), and header sets installed through dpkg or rpm (bridge mode).

CREATE TABLE repo_packages (
  repo      TEXT NOT NULL,                -- the repository directory, absolute
  filename  TEXT NOT NULL,                -- relative to the repo (pool/...)
  format    TEXT NOT NULL CHECK (format IN ('deb', 'rpm')),
  name      TEXT NOT NULL,
  version   TEXT NOT NULL,
  arch      TEXT NOT NULL,
  size      INTEGER NOT NULL,
  mtime_ms  REAL NOT NULL,                -- with size, tells whether the file changed since it was read
  sha256    TEXT NOT NULL,
  meta      TEXT NOT NULL,                -- the index entries, JSON (without the file list)
  filelists TEXT,                         -- rpm: its filelists.xml entry, read only when writing that index
  PRIMARY KEY (repo, filename)
) WITHOUT ROWID;

-- 'khpkg': khpkg's own installer; 'dpkg' / 'rpm': installed as `package` by that package manager.
ALTER TABLE header_sets ADD COLUMN via TEXT NOT NULL DEFAULT 'khpkg' CHECK (via IN ('khpkg', 'dpkg', 'rpm'));
ALTER TABLE header_sets ADD COLUMN package TEXT;
