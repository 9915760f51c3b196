import {Args, Flags} from '@oclif/core';
import {KhpkgCommand, kbuildFlags, kbuildFrom, limitFlags, limitsFrom, recordingRoot, recordRootFlags, sourceArg, waitFlag} from '../cli/base.js';
import {describeBtf, describeKbuild} from '../cli/kbuild.js';
import {describeRepo, publish, repoFlags, repoOptionsFrom} from '../cli/repo.js';
import {progressBar} from '../cli/progress.js';
import {archiveSource, kernelFlag} from '../cli/source.js';
import {readConfigFile} from '../cli/files.js';
import {COMPRESSIONS, type Compression} from '../formats/compression.js';
import {FORMATS, type Format} from '../formats/writer.js';
import {buildPackages, defaultMaintainer, recordArtifacts} from '../pipeline/build.js';
import type {Artifact} from '../formats/writer.js';
import type {RepoResult} from '../repo/repo.js';

/** `build --json`: always this one object: the packages written, and with `--repo` the repository update too. */
export type BuildJson = {packages: Artifact[]; repo?: RepoResult};

export default class Build extends KhpkgCommand {
  static override summary = 'Build linux-headers .deb (and kernel-devel .rpm) packages from a kheaders archive.';
  static override examples = [
    '<%= config.bin %> build',
    '<%= config.bin %> build kheaders.tar.xz --config config-6.12 --out dist/',
    '<%= config.bin %> build kheaders.tar.xz --format deb --compression zstd --json',
    '<%= config.bin %> build -f deb -f rpm --repo /srv/repo --sign-key ops@example.com --keep 2',
  ];
  static override args = {source: Args.string(sourceArg)};
  static override flags = {
    ...limitFlags,
    ...kernelFlag,
    ...recordRootFlags,
    ...waitFlag,
    ...repoFlags,
    ...kbuildFlags,
    repo: Flags.string({description: 'also add the packages to this APT + DNF repository (see khpkg repo)'}),
    format: Flags.string({char: 'f', options: [...FORMATS], multiple: true, default: ['deb'], description: 'package format(s) to build'}),
    out: Flags.string({char: 'o', default: '.', description: 'directory to write packages into'}),
    revision: Flags.string({default: '1', description: 'package revision (deb revision, rpm Release)'}),
    version: Flags.string({description: "upstream version (default: the kernel's version from version.h)"}),
    maintainer: Flags.string({description: 'Maintainer (default: $DEBFULLNAME <$DEBEMAIL>)'}),
    compression: Flags.string({char: 'z', options: [...COMPRESSIONS], default: 'xz', description: 'compression of the package payload'}),
    config: Flags.string({char: 'c', description: '.config or config.gz to add (default for the running kernel: /proc/config.gz)'}),
  };

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Build);
    const limits = limitsFrom(flags);
    const config = flags.config === undefined ? undefined : {bytes: await readConfigFile(flags.config), origin: flags.config};
    const root = recordingRoot(flags.root);
    const source = await archiveSource(args.source, flags, flags.root ?? '/', limits);
    const progress = progressBar(!flags.json && !flags.quiet);
    const {release, artifacts, kbuild, btf, notes} = await buildPackages(source, {
      formats: [...new Set(flags.format as Format[])],
      outDir: flags.out,
      revision: flags.revision,
      version: flags.version,
      maintainer: flags.maintainer ?? defaultMaintainer(),
      compression: flags.compression as Compression,
      config,
      limits,
      onProgress: progress.onProgress,
      kbuild: kbuildFrom(flags, flags.root ?? '/'),
    }).finally(progress.done);
    const recorded = root !== undefined && recordArtifacts(root, artifacts, release, source.sha256);
    const repo =
      flags.repo === undefined
        ? undefined
        : await publish(
            flags.repo,
            repoOptionsFrom(
              flags,
              artifacts.map((a) => a.path),
              [],
            ),
            root,
          );
    if (flags.json) return this.printJson<BuildJson>(repo ? {packages: artifacts, repo} : {packages: artifacts});
    if (root !== undefined && !recorded && flags.verbose) this.log(`(not recorded: the registry under ${root} is not writable)`);
    if (flags.quiet) return;
    for (const a of artifacts) {
      this.log(`${a.path}`);
      if (flags.verbose) this.log(`  ${a.name} ${a.version} ${a.arch}, ${a.size} bytes, sha256 ${a.sha256}`);
    }
    if (kbuild) this.log(describeKbuild(kbuild));
    if (btf) this.log(describeBtf(btf));
    for (const n of notes) this.log(`note: ${n}`);
    if (repo) for (const line of describeRepo(repo)) this.log(line);
  }
}
