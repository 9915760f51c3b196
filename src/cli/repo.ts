import {Flags} from '@oclif/core';
import {KhpkgError} from '../errors.js';
import {Registry} from '../registry/registry.js';
import {GpgSigner} from '../repo/gpg.js';
import {updateRepo, type RepoOptions, type RepoResult} from '../repo/repo.js';

/** Flags shared by `khpkg repo` and `khpkg build --repo`. */
export const repoFlags = {
  'sign-key': Flags.string({description: 'gpg key to sign with: InRelease, Release.gpg, repomd.xml.asc and the rpms'}),
  keep: Flags.integer({description: 'keep only the newest N revisions of each kernel release', min: 1}),
  flat: Flags.boolean({description: 'a flat APT repository (deb file:DIR ./) instead of dists/SUITE/COMPONENT'}),
  suite: Flags.string({default: 'stable', description: 'APT suite (dists/SUITE)'}),
  component: Flags.string({default: 'main', description: 'APT component, and the pool folder'}),
  origin: Flags.string({default: 'khpkg', description: "Release's Origin"}),
  label: Flags.string({default: 'khpkg', description: "Release's Label"}),
  'valid-for': Flags.integer({description: "days until Release's Valid-Until (default: none)", min: 1}),
};

type RepoFlagValues = {
  'sign-key'?: string;
  keep?: number;
  flat: boolean;
  suite: string;
  component: string;
  origin: string;
  label: string;
  'valid-for'?: number;
  wait: number;
};

/**
 * The repo options from flags, with the registry of `root` (if it can be opened for writing: an
 * unprivileged user still gets a repo, only every package is read again each time).
 */
export function repoOptionsFrom(flags: RepoFlagValues, root: string, add: string[], remove: string[]): RepoOptions {
  for (const [name, value] of [['suite', flags.suite], ['component', flags.component]] as const) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(value)) throw new KhpkgError('usage', `--${name} '${value}' is not a plain name`);
  }
  let registry: Registry | undefined;
  try {
    registry = Registry.open(root, {create: true});
  } catch (e) {
    if (e instanceof KhpkgError && e.code === 'registry-damaged') throw e;
  }
  const epoch = process.env.SOURCE_DATE_EPOCH;
  return {
    add,
    remove,
    keep: flags.keep,
    flat: flags.flat,
    suite: flags.suite,
    component: flags.component,
    origin: flags.origin,
    label: flags.label,
    validDays: flags['valid-for'],
    signer: flags['sign-key'] ? new GpgSigner(flags['sign-key']) : undefined,
    now: epoch && /^\d+$/.test(epoch) ? new Date(Number(epoch) * 1000) : new Date(),
    registry,
    waitSeconds: flags.wait,
  };
}

/** The human summary of a repo update. */
export function describeRepo(r: RepoResult): string[] {
  const lines = r.added.map((a) => `added ${a.filename}`);
  lines.push(...r.removed.map((f) => `removed ${f}`));
  lines.push(`${r.dir}: ${r.packages.deb} deb, ${r.packages.rpm} rpm${r.signed ? ', signed' : ''}`);
  return lines;
}

/** Updates the repo, then lets go of the registry the options opened. */
export function publish(dir: string, options: RepoOptions): Promise<RepoResult> {
  return updateRepo(dir, options).finally(() => options.registry?.close());
}
