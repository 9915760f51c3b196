import {createHash} from 'node:crypto';
import {existsSync, readFileSync} from 'node:fs';
import {Registry} from '../registry/registry.js';
import {kernelPaths, runningRelease} from '../source/kernel.js';

export interface KernelStatus {
  release: string;
  kheaders: 'present' | 'module' | 'absent';
  config: boolean;
  installed: boolean;
  /** What the installed set is: headers-only (BPF tools) or a module-build tree (DKMS, make M=...). */
  tier?: 'headers' | 'kbuild';
  /** true/false when the running archive could be read without loading a module; else null. */
  current: boolean | null;
  installedSha256?: string;
  runningSha256?: string;
  advice: string;
}

/** Is the running kernel's headers set installed, and is it this very build? No side effects. */
export function kernelStatus(root: string): KernelStatus {
  const release = runningRelease();
  const paths = kernelPaths();
  const present = existsSync(paths.kheaders);
  const module = !present && /(^|\/)kheaders\.ko(\.[a-z]+)?:/m.test(safeRead(`${paths.modules}/modules.dep`));
  const registry = Registry.open(root);
  const set = registry?.get(release);
  registry?.close();
  const runningSha256 = present ? createHash('sha256').update(readFileSync(paths.kheaders)).digest('hex') : undefined;
  const current = set && runningSha256 ? set.sourceSha256 === runningSha256 : null;
  const kheaders = present ? 'present' : module ? 'module' : 'absent';
  let advice: string;
  if (kheaders === 'absent' && !set) advice = "this kernel has no kheaders archive (CONFIG_IKHEADERS): install your distro's headers package";
  else if (!set) advice = "run 'khpkg install' to install this kernel's headers";
  else if (current === false) advice = "the kernel was rebuilt since: run 'khpkg install --force' to replace its headers";
  else if (current === null) advice = `headers are installed; run 'khpkg install' as root to check they match (it loads the kheaders module)`;
  else advice = 'headers are installed and current';
  const tier = set ? (set.tier ?? 'headers') : undefined;
  return {
    release,
    kheaders,
    config: existsSync(paths.config),
    installed: Boolean(set),
    tier,
    current,
    installedSha256: set?.sourceSha256,
    runningSha256,
    advice,
  };
}

function safeRead(p: string): string {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
}
