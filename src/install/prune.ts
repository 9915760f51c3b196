import {existsSync} from 'node:fs';
import {Registry} from '../registry/registry.js';
import {inRoot} from './paths.js';
import {removeHeaders, type RemoveResult} from './remove.js';

/**
 * Header sets whose kernel is gone: no `/lib/modules/<release>/kernel` and no `modules.dep` (what a
 * kernel package leaves behind when it is removed, apart from our build link).
 */
export function pruneCandidates(root: string): string[] {
  const registry = Registry.open(root);
  if (!registry) return [];
  try {
    return registry
      .installed()
      .map((s) => s.release)
      .filter((rel) => !existsSync(inRoot(root, `lib/modules/${rel}/kernel`)) && !existsSync(inRoot(root, `lib/modules/${rel}/modules.dep`)));
  } finally {
    registry.close();
  }
}

export async function prune(root: string, waitSeconds: number, dryRun: boolean): Promise<{release: string; removed?: RemoveResult}[]> {
  const out: {release: string; removed?: RemoveResult}[] = [];
  for (const release of pruneCandidates(root)) out.push(dryRun ? {release} : {release, removed: await removeHeaders(root, release, waitSeconds)});
  return out;
}
