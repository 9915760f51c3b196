import {Flags} from '@oclif/core';
import {KhpkgCommand, rootFlags, waitFlag} from '../cli/base.js';
import {checkRoot, rebuildRegistry} from '../install/doctor.js';
import type {DoctorResult, SetHealth} from '../install/doctor.js';

/** `doctor --json`: the registry's verdict and every set's health, or with `--rebuild` what was rebuilt. */
export type DoctorJson = {registry: string; sets: SetHealth[]} | DoctorResult;

export default class Doctor extends KhpkgCommand {
  static override summary =
    'Check the registry and every header set (missing or changed files, links, a tree DKMS would fail on); exit 1 naming each damaged set and what mends it. With --rebuild, recreate a damaged registry from the trees on disk.';
  static override examples = ['<%= config.bin %> doctor', 'sudo <%= config.bin %> doctor --rebuild'];
  static override flags = {...rootFlags, ...waitFlag, rebuild: Flags.boolean({description: 'move the registry aside and rebuild it from the trees on disk'})};

  async run(): Promise<void> {
    const {flags} = await this.parse(Doctor);
    const root = flags.root;
    if (!flags.rebuild) {
      const found = checkRoot(root);
      const damaged = found.sets.filter((s) => !s.ok);
      if (flags.json) this.printJson<DoctorJson>(found);
      else {
        this.log(`registry: ${found.registry}`);
        for (const s of found.sets) this.log(s.ok ? `${s.release}: ok` : `${s.release}: damaged (${s.problems.join('; ')}): run '${s.fix}'`);
      }
      if (damaged.length > 0) this.exit(1);
      return;
    }
    const result = rebuildRegistry(root, flags.wait);
    if (flags.json) return this.printJson<DoctorJson>(result);
    if (result.movedAside) this.log(`moved the damaged registry to ${result.movedAside} (records of built packages are lost)`);
    else this.log(`the registry is sound: kept, ${result.rebuilt.length === 0 ? 'every tree on disk is in it' : 'adding the trees on disk it did not know'}`);
    for (const r of result.rebuilt) this.log(`re-registered ${r.release} at ${r.path} (${r.files} files, hashes re-read)`);
    this.log(`registry: ${result.integrity}`);
  }
}
