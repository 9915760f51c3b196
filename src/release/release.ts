import {readFileSync} from 'node:fs';
import {mkdir} from 'node:fs/promises';
import {join, resolve} from 'node:path';
import {gzipSync, constants} from 'node:zlib';
import {PlanBuilder, timeBounds} from '../content/plan.js';
import {KhpkgError} from '../errors.js';
import {FORMATS, formatRow} from '../formats/table.js';
import {writePlannedPackage} from '../formats/write-plan.js';
import type {Format} from '../formats/writer.js';
import {glibcNeeded, releaseMeta} from './meta.js';
import {checkMachine, stagedFiles, stageRelease, type StagedFile} from './stage.js';
import {releaseTarget} from './target.js';
import {writeTarball} from './tarball.js';

/** Where a packaged khpkg lives; /usr/bin/khpkg links to its launcher. */
export const INSTALL_DIR = 'usr/lib/khpkg';

/** Directories the system owns (base-files, filesystem): the rpm leaves them out. */
const SYSTEM_DIRS: ReadonlySet<string> = new Set([
  'usr/share/bash-completion',
  'usr/share/bash-completion/completions',
  'usr/share/zsh',
  'usr/share/zsh/vendor-completions',
  'usr/share/zsh/site-functions',
  'usr',
  'usr/bin',
  'usr/lib',
  'usr/share',
  'usr/share/man',
  'usr/share/man/man1',
  'usr/share/doc',
  'usr/share/lintian',
  'usr/share/lintian/overrides',
]);

export interface ReleaseOutput {
  kind: 'tar' | Format;
  path: string;
  size: number;
  sha256: string;
}

/** What a release run is asked for: its outputs, the CPU it is for (Node's name), and who hears of long steps. */
export interface ReleaseRequest {
  /** `tar` and format names; every one when not given. */
  kinds?: string[];
  arch: string;
  onStep?: (what: string) => void;
}

/**
 * khpkg's own release, from a built checkout: the staged tree, the self-contained tarball, and
 * khpkg's .deb and .rpm written by khpkg's own writers, for this machine's CPU or another's (its
 * Node runtime fetched, its addons cross-compiled: see addons.ts). Every time in them is
 * SOURCE_DATE_EPOCH (bin/dist.sh sets the commit's), so two runs give identical files.
 */
export async function makeRelease(
  project: string,
  outDir: string,
  request: ReleaseRequest,
): Promise<{outputs: ReleaseOutput[]; stageDir: string; files: number; stagedBytes: number}> {
  const kinds = request.kinds ?? ['tar', ...FORMATS];
  for (const k of kinds)
    if (k !== 'tar' && !(FORMATS as string[]).includes(k)) throw new KhpkgError('usage', `'${k}' is not a release output (tar, ${FORMATS.join(', ')})`);
  const target = releaseTarget(request.arch);
  const out = resolve(project, outDir);
  await mkdir(out, {recursive: true});
  const version = (JSON.parse(readFileSync(join(project, 'package.json'), 'utf8')) as {version: string}).version;
  const top = `khpkg-${version}-linux-${target.node}`;
  const stageDir = join(out, 'stage', top);
  const workDir = join(out, 'stage', `${top}.build`);
  const info = await stageRelease(project, stageDir, target, workDir, request.onStep ?? (() => undefined));
  const files = stagedFiles(stageDir);
  checkMachine(stageDir, files, target);
  const time = timeBounds().clamp ?? Math.floor(Date.now() / 1000);
  const outputs: ReleaseOutput[] = [];
  if (kinds.includes('tar'))
    outputs.push({kind: 'tar', path: join(out, `${top}.tar.xz`), ...(await writeTarball(join(out, `${top}.tar.xz`), top, stageDir, files, time))});
  const glibc = glibcNeeded(stageDir, files);
  const completions = shellCompletions(project);
  for (const format of FORMATS) {
    if (!kinds.includes(format)) continue;
    const input = {
      meta: releaseMeta(format, info, glibc),
      compression: formatRow(format).defaultCompression,
      packagesAtOnce: 1,
      outDir: out,
      time: {clamp: time, tree: time},
    };
    const a = await writePlannedPackage(formatRow(format).packager, input, releasePlan(format, project, stageDir, files, time, completions), time);
    outputs.push({kind: format, path: a.path, size: a.size, sha256: a.sha256});
  }
  return {outputs, stageDir, files: files.filter((f) => f.type === 'file').length, stagedBytes: files.reduce((s, f) => s + f.size, 0)};
}

/** The package's files: the staged tree at /usr/lib/khpkg, the command, its completions, and the man page where the build made one. */
/** The bash and zsh completions (packaging/completions, oclif's autocomplete output, committed: see bin/make-completions.js). */
function shellCompletions(project: string): {bash: Buffer; zsh: Buffer} {
  const dir = join(project, 'packaging', 'completions');
  return {bash: readFileSync(join(dir, 'khpkg.bash')), zsh: readFileSync(join(dir, '_khpkg'))};
}

function releasePlan(
  format: Format,
  project: string,
  stageDir: string,
  files: StagedFile[],
  time: number,
  completions: {bash: Buffer; zsh: Buffer},
): PlanBuilder {
  const plan = new PlanBuilder(INSTALL_DIR, {clamp: time}, SYSTEM_DIRS).openTree(time).setTimestamp(time);
  for (const f of files) if (f.type === 'file') plan.addExtra({path: f.path, data: readFileSync(join(stageDir, f.path)), mode: f.mode});
  plan.addExtra({path: 'usr/bin/khpkg', linkTarget: '../lib/khpkg/khpkg', absolute: true});
  plan.addExtra({path: 'usr/share/bash-completion/completions/khpkg', data: completions.bash, absolute: true});
  // Where each family's zsh looks: Debian's vendor-completions, Fedora's site-functions.
  plan.addExtra({path: `usr/share/zsh/${format === 'deb' ? 'vendor-completions' : 'site-functions'}/_khpkg`, data: completions.zsh, absolute: true});
  if (format === 'deb')
    plan.addExtra({path: 'usr/share/lintian/overrides/khpkg', data: readFileSync(join(project, 'packaging', 'khpkg', 'lintian-overrides')), absolute: true});
  const man = join(project, 'dist', 'man', 'khpkg.1');
  // gzip -9n: no name, no time, so the package stays reproducible.
  try {
    plan.addExtra({path: 'usr/share/man/man1/khpkg.1.gz', data: gzipSync(readFileSync(man), {level: constants.Z_BEST_COMPRESSION}), absolute: true});
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  return plan;
}
