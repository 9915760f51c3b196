-- khpkg registry, schema 5: whether a module-build tree's kernel checks symbol CRCs
-- (CONFIG_MODVERSIONS); 7.x kernels such as Debian's are built without it.

ALTER TABLE header_sets ADD COLUMN kbuild_modversions INTEGER;  -- 1, 0, or NULL (recorded before schema 5)
