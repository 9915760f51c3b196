import {Flags} from '@oclif/core';
import {KhpkgCommand, rootFlags, waitFlag} from '../cli/base.js';
import {checkRegistry, rebuildRegistry} from '../install/doctor.js';
import type {DoctorResult} from '../install/doctor.js';

/** `doctor --json`: the check's verdict, or with `--rebuild` what was rebuilt. */
export type DoctorJson = {registry: string} | DoctorResult;

export default class Doctor extends KhpkgCommand {
  static override summary = 'Check the registry; with --rebuild, recreate a damaged one from the header trees on disk.';
  static override examples = ['<%= config.bin %> doctor', 'sudo <%= config.bin %> doctor --rebuild'];
  static override flags = {...rootFlags, ...waitFlag, rebuild: Flags.boolean({description: 'move the registry aside and rebuild it from the trees on disk'})};

  async run(): Promise<void> {
    const {flags} = await this.parse(Doctor);
    const root = flags.root;
    if (!flags.rebuild) {
      const state = checkRegistry(root);
      return flags.json ? this.printJson<DoctorJson>({registry: state}) : this.log(`registry: ${state}`);
    }
    const result = rebuildRegistry(root, flags.wait);
    if (flags.json) return this.printJson<DoctorJson>(result);
    if (result.movedAside) this.log(`moved the damaged registry to ${result.movedAside} (records of built packages are lost)`);
    else this.log(`the registry is sound: kept, ${result.rebuilt.length === 0 ? 'every tree on disk is in it' : 'adding the trees on disk it did not know'}`);
    for (const r of result.rebuilt) this.log(`re-registered ${r.release} at ${r.path} (${r.files} files, hashes re-read)`);
    this.log(`registry: ${result.integrity}`);
  }
}
