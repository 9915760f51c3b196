import type {PlanBuilder} from '../content/plan.js';
import type {Artifact, BuildInput, Packager} from './writer.js';

/**
 * One package from a plan whose every file is already in hand (khpkg's own release, any file
 * list): the same sinks as the streaming build, fed the plan, then the format's own extras (deb's
 * copyright and changelog). The plan's timestamp must be set. A failure leaves no package file.
 */
export async function writePlannedPackage(packager: Packager, input: BuildInput, plan: PlanBuilder, timestamp: number): Promise<Artifact> {
  const sink = await packager.open(input);
  try {
    for (const e of plan.take()) await sink.add(e, e.data);
    for (const extra of sink.extras(timestamp)) plan.addExtra(extra);
    for (const e of plan.take()) await sink.add(e, e.data);
    return await sink.finish(plan.build());
  } catch (e) {
    await sink.abort();
    throw e;
  }
}
