import {KhpkgError} from '../errors.js';
import type {Limits} from '../archive/limits.js';
import {readTree, type ArchiveInput} from '../archive/reader.js';
import type {ContentPlan, PackageEntry} from './plan.js';
import type {Progress} from '../archive/scan.js';

/** A sink fed in plan order: a package writer, or the installer. */
export interface EntrySink {
  add(entry: PackageEntry, data: Buffer | undefined): Promise<void>;
}

/**
 * A second read, for sinks that need the whole scan before their first entry (the kbuild kit, an
 * install that could not write while scanning): reads the archive (or the tar the scan kept) and
 * feeds every target its own plan in order, archive files with their content, extras from the plan.
 * The archive is validated again on the way and must give exactly what the scan saw.
 */
export async function feedPlans(targets: {plan: ContentPlan; sink: EntrySink}[], archive: ArchiveInput, limits: Limits, onProgress?: Progress): Promise<void> {
  const cursors = targets.map((t) => ({...t, i: 0}));
  const total = targets[0]?.plan.entries.length ?? 0;
  let done = 0;
  /** Feeds a target's entries up to (not including) its next archive entry. */
  const feedExtras = async (c: (typeof cursors)[number]): Promise<void> => {
    const entries = c.plan.entries;
    while (c.i < entries.length && !entries[c.i]!.fromArchive) {
      const e = entries[c.i++]!;
      await c.sink.add(e, e.data);
    }
  };
  await Promise.all(cursors.map(feedExtras));
  for await (const {entry, data} of readTree(archive, limits)) {
    await Promise.all(
      cursors.map(async (c) => {
        const planned = c.plan.entries[c.i];
        if (!planned?.fromArchive || planned.path !== `${c.plan.treeDir}/${entry.path}` || planned.size !== entry.size) {
          throw new KhpkgError('corrupt-input', `the archive changed between passes at '${entry.path}'`);
        }
        c.i++;
        await c.sink.add(planned, data);
        await feedExtras(c);
      }),
    );
    if (onProgress && ++done % 128 === 0) onProgress({phase: 'writing', done, total});
  }
  for (const c of cursors) {
    if (c.i !== c.plan.entries.length) throw new KhpkgError('corrupt-input', 'the archive changed between passes: entries are missing');
  }
}
