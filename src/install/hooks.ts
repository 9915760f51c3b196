import {spawn} from 'node:child_process';
import {accessSync, constants, readdirSync, statSync} from 'node:fs';
import {join} from 'node:path';

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
  const dir = join(root, HEADER_HOOKS_DIR);
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => /^[A-Za-z0-9_-]+$/.test(n)).sort();
  } catch {
    return [];
  }
  const results: HookResult[] = [];
  for (const name of names) {
    const file = join(dir, name);
    try {
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

function run(file: string, args: string[], env: Record<string, string>): Promise<{code: number; output: string}> {
  return new Promise((resolve) => {
    const child = spawn(file, args, {env: {...process.env, ...env}, stdio: ['ignore', 'pipe', 'pipe']});
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', (e) => resolve({code: 127, output: e.message}));
    child.on('close', (code) => resolve({code: code ?? 1, output}));
  });
}
