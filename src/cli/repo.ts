import {Flags, Interfaces} from '@oclif/core';
import {KhpkgError} from '../errors.js';
import {sourceDateEpoch} from '../content/plan.js';
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

type RepoFlagValues = Interfaces.InferredFlags<typeof repoFlags> & {wait: number};

/** The repo options from flags. */
export function repoOptionsFrom(flags: RepoFlagValues, add: string[], remove: string[]): RepoOptions {
  for (const [name, value] of [
    ['suite', flags.suite],
    ['component', flags.component],
  ] as const) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(value)) throw new KhpkgError('usage', `--${name} '${value}' is not a plain name`);
  }
  const epoch = sourceDateEpoch();
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
    now: epoch !== undefined ? new Date(epoch * 1000) : new Date(),
    waitSeconds: flags.wait,
  };
}

/** The human summary of a repo update. */
export function describeRepo(r: RepoResult): string[] {
  const lines = r.added.map((a) => `added ${a.filename}`);
  lines.push(...r.removed.map((f) => `removed ${f}`));
  const counts = Object.entries(r.packages).map(([format, n]) => `${n} ${format}`);
  lines.push(`${r.dir}: ${counts.join(', ')}${r.signed ? ', signed' : ''}`);
  return lines;
}

/**
 * Updates the repo, with the registry of `root` where one is wanted and can be opened for writing
 * (an unprivileged user still gets a repo; only every package is read again each time).
 */
export async function publish(dir: string, options: RepoOptions, root: string | undefined): Promise<RepoResult> {
  let registry: Registry | undefined;
  try {
    registry = root === undefined ? undefined : Registry.open(root, {create: true});
  } catch (e) {
    if (!(e instanceof KhpkgError) || e.code === 'registry-damaged' || e.code === 'unsafe-root') throw e;
  }
  try {
    return await updateRepo(dir, {...options, registry});
  } finally {
    registry?.close();
  }
}
