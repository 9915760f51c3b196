-- khpkg registry, schema 3: which tier a header set is (headers only, or a module-build tree made
-- with --kbuild) and what that tree was made from.

ALTER TABLE header_sets ADD COLUMN tier TEXT NOT NULL DEFAULT 'headers' CHECK (tier IN ('headers', 'kbuild'));
ALTER TABLE header_sets ADD COLUMN kbuild_source TEXT;          -- the kernel source given to --kbuild
ALTER TABLE header_sets ADD COLUMN kbuild_source_version TEXT;  -- its version, from its Makefile
ALTER TABLE header_sets ADD COLUMN symvers_from TEXT;           -- the modules Module.symvers was rebuilt from
ALTER TABLE header_sets ADD COLUMN symvers_symbols INTEGER;     -- how many symbols it covers
