import {Args, Flags} from '@oclif/core';
import {KhpkgCommand, recordingRoot, recordRootFlags, waitFlag} from '../cli/base.js';
import {describeRepo, publish, repoFlags, repoOptionsFrom} from '../cli/repo.js';
import type {RepoResult} from '../repo/repo.js';

/** `repo --json`: what the update added and removed, and what the repository now holds. */
export type RepoJson = RepoResult;

export default class Repo extends KhpkgCommand {
  static override summary = 'Add packages to a directory that is both an APT and a DNF repository, and rewrite its indexes.';
  static override description =
    'DIR gets pool/ with the packages, dists/SUITE/ (or a flat Packages and Release) for APT and repodata/ for DNF. ' +
    'With no PACKAGE, the indexes are rewritten from what is in the pool.';
  static override examples = [
    '<%= config.bin %> repo /srv/repo linux-headers-6.12.117+deb12-amd64_6.12.117-1_amd64.deb kernel-devel-*.rpm',
    '<%= config.bin %> repo /srv/repo --sign-key ops@example.com --keep 2',
    '<%= config.bin %> repo /srv/repo --remove linux-headers-6.1.0-13-amd64',
  ];
  static override strict = false;
  static override usage = 'repo DIR [PACKAGE...] [--sign-key KEYID] [--keep N] [--remove NAME...] [--flat] [--suite SUITE] [--component NAME] [--json]';
  static override args = {
    dir: Args.string({description: 'the repository directory', required: true}),
    package: Args.string({description: '.deb and .rpm files to add (any number)'}),
  };
  static override flags = {
    ...recordRootFlags,
    ...waitFlag,
    ...repoFlags,
    remove: Flags.string({multiple: true, default: [], description: 'take out packages by name, name_version or file name'}),
  };

  async run(): Promise<void> {
    const {args, argv, flags} = await this.parse(Repo);
    const packages = (argv as string[]).slice(1);
    const result = await publish(args.dir, repoOptionsFrom(flags, packages, flags.remove), recordingRoot(flags.root));
    if (flags.json) return this.printJson<RepoJson>(result);
    if (flags.quiet) return;
    for (const line of describeRepo(result)) this.log(line);
    if (flags.verbose) this.log(`read ${result.read} package file(s); the others came from the registry`);
  }
}
