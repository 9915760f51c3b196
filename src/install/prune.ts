import {existsSync} from 'node:fs';
import {Registry} from '../registry/registry.js';
import {lockRoot} from '../registry/lock.js';
import {inRoot} from '../root/paths.js';
import {removeHeaders, type RemoveResult} from './remove.js';

/**
 * Header sets whose kernel is gone: no `/lib/modules/<release>/kernel` and no `modules.dep` (what a
 * kernel package leaves behind when it is removed, apart from our build link). `installed` says how
 * many sets there are, so a caller can tell "some" from "every one" (a root with no modules at all,
 * such as a sysroot, makes every set a candidate).
 */
export function pruneCandidates(root: string): {candidates: string[]; installed: number} {
  const registry = Registry.open(root);
  if (!registry) return {candidates: [], installed: 0};
  try {
    const releases = registry.installed().map((s) => s.release);
    const gone = releases.filter(
      (rel) => !existsSync(inRoot(root, `lib/modules/${rel}/kernel`)) && !existsSync(inRoot(root, `lib/modules/${rel}/modules.dep`)),
    );
    return {candidates: gone, installed: releases.length};
  } finally {
    registry.close();
  }
}

export async function prune(
  root: string,
  releases: readonly string[],
  waitSeconds: number,
  dryRun: boolean,
): Promise<{release: string; removed?: RemoveResult}[]> {
  const out: {release: string; removed?: RemoveResult}[] = [];
  for (const release of releases) out.push(dryRun ? {release} : {release, removed: await removeHeaders(root, release, waitSeconds)});
  return out;
}

/** `prune --built`: forgets the records of built packages whose files are gone. */
export function pruneBuilt(root: string, waitSeconds: number, dryRun: boolean): string[] {
  const registry = Registry.open(root);
  if (!registry) return [];
  const lock = dryRun ? undefined : lockRoot(root, waitSeconds);
  try {
    const gone = [...new Set(registry.artifacts().map((a) => a.path))].filter((p) => !existsSync(p));
    if (!dryRun) registry.forgetArtifacts(gone);
    return gone;
  } finally {
    lock?.release();
    registry.close();
  }
}
