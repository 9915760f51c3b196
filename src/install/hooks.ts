import {accessSync, constants, readdirSync, statSync} from 'node:fs';
import {join} from 'node:path';
import {checkedInRoot} from '../root/paths.js';
import {runTool} from '../tool.js';

export interface HookResult {
  hook: string;
  code: number;
  output: string;
}

/** The kernel header hooks dir Debian's headers packages run (DKMS keeps its autoinstall there). */
export const HEADER_HOOKS_DIR = 'etc/kernel/header_postinst.d';

/**
 * Runs `<root>/etc/kernel/header_postinst.d/*` like `run-parts --arg=<release>`: executable files
 * whose names are run-parts-valid, in name order, stopping at the first failure. Under another root
 * the hooks get DPKG_ROOT (as under `dpkg --root`) so they can stay inside it.
 */
export async function runHeaderHooks(root: string, release: string): Promise<HookResult[]> {
  let names: string[];
  let dir: string;
  try {
    dir = checkedInRoot(root, HEADER_HOOKS_DIR);
    names = readdirSync(dir)
      .filter((n) => /^[A-Za-z0-9_-]+$/.test(n))
      .sort();
  } catch {
    return [];
  }
  const results: HookResult[] = [];
  for (const name of names) {
    const file = join(dir, name);
    try {
      checkedInRoot(root, `${HEADER_HOOKS_DIR}/${name}`); // a hook linked out of the root is not the root's
      if (!statSync(file).isFile()) continue;
      accessSync(file, constants.X_OK);
    } catch {
      continue;
    }
    const result = await run(file, [release], root === '/' ? {} : {DPKG_ROOT: root, KHPKG_ROOT: root});
    results.push({hook: file, ...result});
    if (result.code !== 0) break;
  }
  return results;
}

async function run(file: string, args: string[], env: Record<string, string>): Promise<{code: number; output: string}> {
  try {
    const r = await runTool(file, args, {env: {...process.env, ...env}});
    return {code: r.code, output: r.output};
  } catch (e) {
    return {code: 127, output: (e as Error).message};
  }
}
