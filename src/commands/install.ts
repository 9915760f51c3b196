import {Args, Flags} from '@oclif/core';
import {KhpkgCommand, kbuildFlags, kbuildFrom, limitFlags, limitsFrom, rootFlags, sourceArg, waitFlag} from '../cli/base.js';
import {progressBar} from '../cli/progress.js';
import {archiveSource, kernelFlag} from '../cli/source.js';
import {readConfigFile} from '../cli/files.js';
import {KhpkgError} from '../errors.js';
import {chooseVia, installVia, type ViaChoice} from '../install/bridge.js';
import {installHeaders} from '../install/install.js';
import {installBestTier} from '../lifecycle/tier.js';
import {describeBtf, describeKbuild} from '../cli/kbuild.js';
import type {InstallResult} from '../install/install.js';
import type {Via} from '../install/bridge.js';
import {MANAGERS} from '../formats/table.js';
import {LAYOUT_NAMES, type Layout} from '../content/headers.js';

/** `install --json`: what was done; with `--via`, who installed it and under which package name. */
export type InstallJson = InstallResult | (InstallResult & {via: Via; package: string});

export default class Install extends KhpkgCommand {
  static override summary = "Install a kernel's headers from its kheaders archive, tracked in khpkg's registry.";
  static override examples = ['sudo <%= config.bin %> install', '<%= config.bin %> install kheaders.tar.xz --root /tmp/sysroot --config config.gz'];
  static override args = {source: Args.string({...sourceArg, description: `${sourceArg.description}; several: one kernel's packages`})};
  /** SOURCE...: one kernel's packages. */
  static override strict = false;
  static override flags = {
    ...rootFlags,
    ...waitFlag,
    ...limitFlags,
    ...kernelFlag,
    ...kbuildFlags,
    config: Flags.string({char: 'c', description: '.config or config.gz to add (default for the running kernel: /proc/config.gz)'}),
    layout: Flags.string({
      options: LAYOUT_NAMES,
      default: 'debian',
      description: 'debian: /usr/src/linux-headers-<rel>; kernels: /usr/src/kernels/<rel>; arch: /usr/lib/modules/<rel>/build itself',
    }),
    force: Flags.boolean({description: 'replace headers installed from other content or config, or a tree khpkg did not install (never what dpkg or rpm own)'}),
    reinstall: Flags.boolean({description: 'rewrite every file of the installed headers (repair them); files you added are kept'}),
    hooks: Flags.boolean({allowNo: true, description: 'run <root>/etc/kernel/header_postinst.d hooks (default: only when --root is /)'}),
    via: Flags.string({
      options: ['khpkg', ...MANAGERS, 'auto'],
      default: 'khpkg',
      description: `who installs: khpkg itself, or a package built on the fly and installed by ${MANAGERS.join('/')} (auto: the root's own package manager, else khpkg)`,
    }),
  };

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(Install);
    const limits = limitsFrom(flags);
    const root = flags.root;
    const config = flags.config === undefined ? undefined : {bytes: await readConfigFile(flags.config), origin: flags.config};
    const source = await archiveSource(argv as string[], flags, root, limits);
    const progress = progressBar(!flags.json && !flags.quiet);
    const kbuild = kbuildFrom(flags, root);
    const common = {
      root,
      config,
      force: flags.force,
      reinstall: flags.reinstall,
      hooks: flags.hooks ?? root === '/',
      waitSeconds: flags.wait,
      limits,
      onProgress: progress.onProgress,
      kbuild,
    };
    const {via, why} = chooseVia(flags.via as ViaChoice, root);
    if (why && !flags.json && !flags.quiet) this.log(`note: ${why}`);
    const layout = flags.layout as Layout;
    // An installed kernel gets a module-build tree by itself where its series has a source (--kbuild none: never).
    const best = via === 'khpkg' && flags.kernel !== undefined && flags.kbuild === undefined;
    const {result, headersOnlyBecause} = await (
      best
        ? installBestTier(source, {...common, layout}, flags.kernel!)
        : (via === 'khpkg' ? installHeaders(source, {...common, layout}) : installVia(source, {...common, via})).then((result) => ({
            result,
            headersOnlyBecause: undefined,
          }))
    ).finally(progress.done);
    const failed = result.hooks.find((h) => h.code !== 0);
    if (flags.json) this.printJson<InstallJson>(result);
    else if (!flags.quiet) {
      for (const r of result.recovered) this.log(`recovered: ${r}`);
      const what = {installed: 'installed', replaced: 'replaced', reinstalled: 'reinstalled', unchanged: 'already installed, nothing to do:'}[result.status];
      this.log(`${what} ${result.release} at ${result.path} (${result.files} files, ${result.bytes} bytes)${via === 'khpkg' ? '' : ` through ${via}`}`);
      if (result.tier === 'kbuild') this.log(describeKbuild(result.kbuild));
      if (headersOnlyBecause) this.log(`headers-only tree: ${headersOnlyBecause}`);
      if (result.btf) this.log(describeBtf(result.btf));
      for (const n of result.notes) this.log(`note: ${n}`);
      if (result.kept.length > 0) this.log(`kept ${result.kept.length} file(s) you added: ${result.kept.map((k) => `/${k}`).join(', ')}`);
      if (result.overwritten.length > 0)
        this.log(`replaced ${result.overwritten.length} file(s) you added by the new headers' own: ${result.overwritten.map((k) => `/${k}`).join(', ')}`);
      for (const h of result.hooks) if (flags.verbose || h.code !== 0) this.log(`hook ${h.hook}: exit ${h.code}${h.output ? `\n${h.output.trimEnd()}` : ''}`);
    }
    if (failed) throw new KhpkgError('hook-failed', `headers installed, but the hook ${failed.hook} failed with exit ${failed.code}`);
  }
}
