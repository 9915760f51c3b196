-- khpkg registry, schema 6: the kernel's BTF a set was made with (vmlinux.h and the BTF-only
-- vmlinux in its tree come from it): where it was read, the sha256 of its .BTF bytes (part of the
-- set's identity) and how many types it has. NULL: made without BTF.

ALTER TABLE header_sets ADD COLUMN btf_source TEXT;
ALTER TABLE header_sets ADD COLUMN btf_sha256 TEXT;
ALTER TABLE header_sets ADD COLUMN btf_types INTEGER;
