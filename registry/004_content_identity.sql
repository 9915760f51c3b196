-- khpkg registry, schema 4: a header set is identified by its content (the digest of its uncompressed
-- tree's manifest), not by the compressed archive's bytes; and a set owns only the directories it
-- created, never the shared system ones that base-files and the kernel's package own.

ALTER TABLE header_sets ADD COLUMN content_sha256 TEXT;   -- NULL for sets recorded before schema 4

-- Sets recorded before schema 4 listed the shared parents as theirs: they never were.
DELETE FROM files WHERE type = 'dir' AND path IN ('usr', 'usr/src', 'usr/src/kernels', 'lib', 'lib/modules', 'usr/lib', 'usr/lib/modules', 'usr/share', 'usr/share/doc');
