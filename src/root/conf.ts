import {readFileSync} from 'node:fs';
import {KhpkgError} from '../errors.js';
import {checkedInRoot} from './paths.js';

/**
 * khpkg's own configuration, inside the root (so `--root` and the hooks under `dpkg --root` read the
 * image's, not the host's). Lines are `key = value`; `#` starts a comment. Keys:
 *   kbuild-source = PATH     a kernel source (unpacked tree or linux-*.tar.{xz,gz,zst,bz2}) to make
 *                            module-build trees from; one line per series, paths as seen in the root.
 *   btf-from-headers = yes   a kernel without BTF of its own (no /sys/kernel/btf/vmlinux, no image
 *                            with .BTF) gets BTF made from its headers when its set is installed
 *                            (install, the hooks, the boot unit): minutes of every core, so asked for.
 */
export const KHPKG_CONF = 'etc/khpkg/khpkg.conf';

export interface KhpkgConf {
  kbuildSources: string[];
  btfFromHeaders: boolean;
}

/** The root's khpkg.conf, checked line by line: a line khpkg cannot read is an error naming it. */
export function readKhpkgConf(root: string): KhpkgConf {
  const conf: KhpkgConf = {kbuildSources: [], btfFromHeaders: false};
  let text: string;
  try {
    text = readFileSync(checkedInRoot(root, KHPKG_CONF), 'utf8');
  } catch {
    return conf;
  }
  for (const [n, raw] of text.split('\n').entries()) {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') continue;
    const at = `/${KHPKG_CONF}:${n + 1}`;
    const m = /^([A-Za-z][\w-]*)\s*=\s*(.*)$/.exec(line);
    if (!m) throw new KhpkgError('usage', `${at}: not a 'key = value' line: ${line}`);
    const [, key, value] = m as unknown as [string, string, string];
    if (key === 'kbuild-source') {
      if (!value.startsWith('/')) throw new KhpkgError('usage', `${at}: kbuild-source must be an absolute path, not '${value}'`);
      conf.kbuildSources.push(value);
    } else if (key === 'btf-from-headers') {
      if (!/^(yes|no)$/.test(value)) throw new KhpkgError('usage', `${at}: btf-from-headers is 'yes' or 'no', not '${value}'`);
      conf.btfFromHeaders = value === 'yes';
    } else throw new KhpkgError('usage', `${at}: unknown key '${key}' (known: kbuild-source, btf-from-headers)`);
  }
  return conf;
}
