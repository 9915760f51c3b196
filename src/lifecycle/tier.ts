import {KhpkgError} from '../errors.js';
import {installHeaders, type InstallOptions, type InstallResult} from '../install/install.js';
import {howToGiveSource, seriesOf} from '../kbuild/discover.js';
import {hasKitFor} from '../kbuild/kit-cache.js';
import type {ArchiveSource} from '../source/index.js';

/** What became of an attempt at a module-build tree. */
export type TierOutcome = {result: InstallResult} | {why: string};

/**
 * A module-build tree (`--kbuild auto`: the series' cached kit or a source the root has), or why not:
 * no source of the series, or a kbuild step failed (no compiler, say). Nothing else is caught: a bad
 * archive, a busy root or a conflict fail as any install does.
 */
export async function installModuleBuildTree(source: ArchiveSource, opts: Omit<InstallOptions, 'kbuild'>, release: string | undefined): Promise<TierOutcome> {
  // Checked before the archive is read: most machines have no kernel source, and a second read costs.
  const series = release && /^\d+\.\d+/.test(release) ? seriesOf(release) : undefined;
  if (series && !hasKitFor(opts.root, series)) return {why: `no Linux ${series} source for a module-build tree of ${release}`};
  try {
    return {result: await installHeaders(source, {...opts, kbuild: {source: 'auto', root: opts.root}})};
  } catch (e) {
    // One line: the summary, and the tool's first word on why (`--kbuild: building X failed (exit 2):` alone says little).
    if (e instanceof KhpkgError && (e.code === 'no-kbuild-source' || e.code === 'kbuild'))
      return {
        why: e.message
          .split('\n')
          .map((l) => l.trim())
          .filter(Boolean)
          .slice(0, 2)
          .join(' '),
      };
    throw e;
  }
}

/** The tier a set of `release` gets now: a module-build tree where its series has a kit or a source, else headers-only. */
export function tierFor(root: string, release: string): 'headers' | 'kbuild' {
  return /^\d+\.\d+/.test(release) && hasKitFor(root, seriesOf(release)) ? 'kbuild' : 'headers';
}

/** `install --kernel REL`: a module-build tree where the series has a source, else headers-only, and why. */
export async function installBestTier(
  source: ArchiveSource,
  opts: Omit<InstallOptions, 'kbuild'>,
  release: string,
): Promise<{result: InstallResult; headersOnlyBecause?: string}> {
  const tried = await installModuleBuildTree(source, opts, release);
  if ('result' in tried) return tried;
  return {result: await installHeaders(source, opts), headersOnlyBecause: `${tried.why}: ${howToGiveSource(seriesOf(release), release)}`};
}
