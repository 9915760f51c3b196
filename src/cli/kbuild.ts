import type {KbuildKit} from '../kbuild/kit.js';
import type {HeaderSet} from '../registry/types.js';

/** One line on a module-build tree: what kbuild came from, and what Module.symvers covers (or that it is missing). */
export function describeKbuild(tree: HeaderSet['kbuild'] | KbuildKit | undefined): string {
  if (!tree) return '';
  const k = 'files' in tree ? {sourceVersion: tree.sourceVersion, symversFrom: tree.symvers?.from, symversSymbols: tree.symvers?.symbols} : tree;
  const symvers =
    k.symversFrom === undefined
      ? 'no Module.symvers (no modules given with --symvers-from): modules built will lack symbol CRCs and will not load on a CONFIG_MODVERSIONS kernel'
      : `Module.symvers rebuilt from ${k.symversFrom}: ${k.symversSymbols} symbols (every module export, and the vmlinux exports modules use)`;
  return `module-build tree: kbuild from Linux ${k.sourceVersion}; ${symvers}`;
}
