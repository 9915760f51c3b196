import {Args, Flags} from '@oclif/core';
import {KhpkgCommand, kbuildFlags, kbuildFrom, limitFlags, limitsFrom, recordingRoot, recordRootFlags, sourceArg, waitFlag} from '../cli/base.js';
import {describeRepo, publish, repoFlags, repoOptionsFrom} from '../cli/repo.js';
import {kernelFlag} from '../cli/source.js';
import {readConfigFile, readTextFile} from '../cli/files.js';
import {parseOsRelease, readHostRelease} from '../content/os-release.js';
import {COMPRESSIONS, type Compression} from '../formats/compression.js';
import {FORMAT_TABLE, FORMATS, type Format} from '../formats/table.js';
import {defaultMaintainer, recordArtifacts, type BuildOptions} from '../pipeline/build.js';
import {buildSources, describeKernels, kernelJson} from '../cli/fleet.js';
import {KhpkgError} from '../errors.js';
import type {Artifact} from '../formats/writer.js';
import type {RepoResult} from '../repo/repo.js';

/** `build --json`: always this one object: the packages written, each kernel's result when SOURCEs are kernel packages, and with `--repo` the repository update. */
export type BuildJson = {packages: Artifact[]; kernels?: ReturnType<typeof kernelJson>[]; repo?: RepoResult};

export default class Build extends KhpkgCommand {
  static override summary = 'Build linux-headers .deb (and kernel-devel .rpm) packages from a kheaders archive.';
  static override examples = [
    '<%= config.bin %> build',
    '<%= config.bin %> build kheaders.tar.xz --config config-6.12 --out dist/',
    '<%= config.bin %> build kheaders.tar.xz --format deb --compression zstd --json',
    '<%= config.bin %> build -f deb -f rpm --repo /srv/repo --sign-key ops@example.com --keep 2',
    '<%= config.bin %> build pkgs/linux-image-*.deb pkgs/kernel-core-*.rpm pkgs/kernel-modules-core-*.rpm -f deb -f rpm --repo /srv/repo --jobs 4',
  ];
  static override args = {
    source: Args.string({
      ...sourceArg,
      description: `${sourceArg.description}; or distro kernel packages (.deb, .rpm) and unpacked kernels, one header set per kernel`,
    }),
  };
  /** SOURCE...: a fleet's kernel packages. */
  static override strict = false;
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
    compression: Flags.string({
      char: 'z',
      options: [...COMPRESSIONS],
      description: `compression of the package payload (default: each format its own: ${FORMATS.map((f) => `${FORMAT_TABLE[f].defaultCompression} for ${f}`).join(', ')})`,
    }),
    config: Flags.string({char: 'c', description: '.config or config.gz to add (default for the running kernel: /proc/config.gz)'}),
    'os-release': Flags.string({description: "-f sysext: the os-release of the hosts it is for (default: --root's, else this machine's)"}),
    jobs: Flags.integer({char: 'j', min: 1, description: 'kernels built at once from kernel packages (default: the cores)'}),
  };

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(Build);
    const limits = limitsFrom(flags);
    const config = flags.config === undefined ? undefined : {bytes: await readConfigFile(flags.config), origin: flags.config};
    const root = recordingRoot(flags.root);
    const options: BuildOptions = {
      formats: [...new Set(flags.format as Format[])],
      outDir: flags.out,
      revision: flags.revision,
      version: flags.version,
      maintainer: flags.maintainer ?? defaultMaintainer(),
      compression: flags.compression as Compression | undefined,
      config,
      limits,
      kbuild: kbuildFrom(flags, flags.root ?? '/'),
      host: () =>
        flags['os-release'] === undefined ? readHostRelease(flags.root ?? '/') : parseOsRelease(readTextFile(flags['os-release']), flags['os-release']),
    };
    const {results, kernels} = await buildSources(argv as string[], flags, options);
    const unrecorded = results.filter((r) => r.ok && root !== undefined && !recordArtifacts(root, r.packages, r.release, r.sha256)).length;
    // One kernel's failure is that kernel's error, with its own exit status.
    const only = results.length === 1 ? results[0]! : undefined;
    if (only && !only.ok) throw new KhpkgError(only.error.code, only.error.message);
    const artifacts = results.flatMap((r) => (r.ok ? r.packages : []));
    // The repository is updated once, with every kernel that was built.
    const repo =
      flags.repo === undefined || artifacts.length === 0
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
    const failed = results.filter((r) => !r.ok).length;
    if (unrecorded > 0 && flags.verbose && !flags.json) this.log(`(not recorded: the registry under ${root} is not writable)`);
    if (flags.json) this.printJson<BuildJson>({packages: artifacts, ...(kernels && {kernels: results.map(kernelJson)}), ...(repo && {repo})});
    else {
      const {out, err} = describeKernels(results, flags.verbose);
      if (!flags.quiet) for (const line of [...out, ...(repo ? describeRepo(repo) : [])]) this.log(line);
      for (const line of err) process.stderr.write(`${line}\n`);
    }
    // Several kernels: 1 when none was built, 3 when some were (automation tells the two apart).
    if (failed > 0) this.exit(failed === results.length ? 1 : 3);
  }
}
