import {Args} from '@oclif/core';
import {KhpkgCommand, limitFlags, limitsFrom, rootFlags} from '../../cli/base.js';
import {runKernelHook, type HookAction, type HookOutcome} from '../../lifecycle/run.js';

/** `hooks run --json`. */
export type HooksRunJson = HookOutcome;

/** Seconds a hook waits for another khpkg on the root: a kernel install must not hang on headers. */
const HOOK_WAIT = Number(process.env.KHPKG_HOOK_WAIT ?? 20);

export default class HooksRun extends KhpkgCommand {
  static override summary =
    'What the kernel hooks and khpkg.service run: postinst RELEASE and postinst-after-dkms RELEASE, postrm RELEASE, boot and boot-after-dkms. Always exits 0.';
  static override hidden = true;
  static override args = {
    action: Args.string({
      options: ['postinst', 'postinst-after-dkms', 'postrm', 'boot', 'boot-after-dkms'],
      required: true,
      description: 'postinst, postinst-after-dkms, postrm, boot or boot-after-dkms',
    }),
    release: Args.string({description: 'the kernel release (postinst, postrm)'}),
  };
  static override flags = {...rootFlags, ...limitFlags};

  async run(): Promise<void> {
    const {args, flags} = await this.parse(HooksRun);
    const action = args.action as HookAction;
    if (!action.startsWith('boot') && !args.release) return this.log(`khpkg hooks run ${action}: no kernel release given, nothing to do`);
    const outcome = await runKernelHook(action, args.release, flags.root, {waitSeconds: HOOK_WAIT, limits: limitsFrom(flags)});
    if (flags.json) return this.printJson<HooksRunJson>(outcome);
    // One line, on stderr when something stopped it (run-parts and kernel-install show it); never a failure.
    if (outcome.ok) {
      if (outcome.said !== '') this.log(`khpkg: ${outcome.said}`);
    } else process.stderr.write(`khpkg: ${outcome.said} (the kernel is not affected)\n`);
  }
}
