import {HEADER_BTF_LIMITS, HEADERS_ORIGIN} from '../source/header-btf.js';
import type {KbuildKit} from '../kbuild/kit.js';
import type {HeaderSet} from '../registry/types.js';

/** One line on a module-build tree: what kbuild came from, and what Module.symvers covers (or that it is missing). */
export function describeKbuild(tree: HeaderSet['kbuild'] | KbuildKit | undefined): string {
  if (!tree) return '';
  const k =
    'files' in tree
      ? {sourceVersion: tree.sourceVersion, symversFrom: tree.symvers?.from, symversSymbols: tree.symvers?.symbols, modversions: tree.modversions}
      : tree;
  const symvers =
    k.modversions === false
      ? `no symbol CRCs needed: the kernel is built without CONFIG_MODVERSIONS (Module.symvers lists ${k.symversFrom === undefined ? 'no exports; modpost leaves symbol checks to the kernel at load time' : `the ${k.symversSymbols} exports found in ${k.symversFrom}`})`
      : k.symversFrom === undefined
        ? 'no Module.symvers (no modules given with --symvers-from): modules built will lack symbol CRCs and will not load on a CONFIG_MODVERSIONS kernel'
        : `Module.symvers rebuilt from ${k.symversFrom}: ${k.symversSymbols} symbols (every module export, and the vmlinux exports modules use)`;
  return `module-build tree: kbuild from Linux ${k.sourceVersion}; ${symvers}`;
}

/** One line on a set's BTF: what it gave the tree, and from where. */
export function describeBtf(btf: {source: string; types: number}): string {
  if (btf.source === HEADERS_ORIGIN)
    return `vmlinux.h and a BTF-only vmlinux made from the headers (${btf.types} BTF types; ${HEADER_BTF_LIMITS.replace(/^made from the headers: /, '')})`;
  return `vmlinux.h and a BTF-only vmlinux from ${btf.source} (${btf.types} BTF types)`;
}
