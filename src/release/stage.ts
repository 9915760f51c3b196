import {
  chmodSync,
  closeSync,
  copyFileSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import {basename, join, relative} from 'node:path';
import {elfMachine} from '../elf/elf.js';
import {KhpkgError} from '../errors.js';
import {runTool} from '../tool.js';
import {addonBuilds} from './addons.js';
import {nodeRuntime} from './runtime.js';
import {toolFor, type ReleaseTarget} from './target.js';

/** What a release is of: read from the project it is made from. */
export interface ReleaseInfo {
  version: string;
  commit: string;
  /** The Node runtime it carries (this one). */
  node: string;
  /** Node's name for the CPU (x64, arm64). */
  arch: string;
}

/** Files of an npm package that a release never needs: docs, types, maps, tests, C/C++ sources (node-addon-api is only headers). */
const NEVER =
  /(^|\/)(test|tests|__tests__|docs?|examples?|benchmarks?|\.[^/]+)(\/|$)|\.(md|markdown|d\.[cm]?ts|map|ts|tsbuildinfo|gyp|gypi|h|hh|hpp|c|cc|cpp)$|(^|\/)test[^/]*\.node$/i;
/** A native addon's sources and build intermediates: only build/Release/*.node is loaded at run time. */
const ADDON_BUILD = /^(deps|src|prebuilds|node-addon-api|binding\.gyp|.*\.gypi|.*\.sh)(\/|$)|^build\/(?!Release$|Release\/[^/]+\.node$)/;

/**
 * Stages the runnable release tree for `target` in `dir`: the launcher, the Node runtime (this one,
 * or the same version for the target's CPU), the compiled JavaScript, the production dependencies
 * only with their addons compiled for the target (no sources, no intermediates), `packaging/` and
 * `registry/`, every binary stripped by the target's strip. The tree mirrors the checkout's, so code
 * that finds packaging/ beside dist/ finds it here too. `workDir` holds what a foreign target's
 * build fetches and compiles.
 */
export async function stageRelease(project: string, dir: string, target: ReleaseTarget, workDir: string, onStep: (what: string) => void): Promise<ReleaseInfo> {
  const pkg = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8')) as Record<string, unknown> & {version: string};
  if (!existsSync(join(project, 'dist', 'cli', 'fast-path.js'))) throw new KhpkgError('usage', `${project}/dist is not built: run 'npm run build' first`);
  rmSync(dir, {recursive: true, force: true});
  mkdirSync(dir, {recursive: true});

  copyFileSync(join(project, 'packaging', 'khpkg', 'launcher'), join(dir, 'khpkg'));
  chmodSync(join(dir, 'khpkg'), 0o755);
  copyFileSync(await nodeRuntime(target, workDir), join(dir, 'node'));
  chmodSync(join(dir, 'node'), 0o755);
  await strip(target, join(dir, 'node'), '--strip-all');

  // dist/release is this very builder: tooling of the checkout, never shipped.
  for (const sub of ['dist', 'packaging', 'registry'])
    cpSync(join(project, sub), join(dir, sub), {recursive: true, filter: (src) => !/^dist\/release(\/|$)/.test(relative(project, src))});
  mkdirSync(join(dir, 'bin'));
  copyFileSync(join(project, 'bin', 'run.js'), join(dir, 'bin', 'run.js'));
  chmodSync(join(dir, 'bin', 'run.js'), 0o755);
  // oclif reads the manifest of commands and plugins from package.json; scripts and dev tools stay home.
  const {name, version, description, license, type, bin, oclif, dependencies, engines} = pkg;
  writeFileSync(join(dir, 'package.json'), JSON.stringify({name, version, description, license, type, bin, engines, dependencies, oclif}, null, 2) + '\n');

  const packages = await productionPackages(project);
  const builds = await addonBuilds(
    project,
    packages.filter((p) => existsSync(join(p, 'binding.gyp'))),
    target,
    workDir,
    onStep,
  );
  for (const from of packages) await copyPackage(from, join(dir, relative(project, from)), target, builds.get(from));
  // The cross builds' objects are big and never reused (node-gyp rebuilds); the fetched runtime stays for the next run.
  rmSync(join(workDir, 'node_modules'), {recursive: true, force: true});
  const {commit} = JSON.parse(readFileSync(join(project, 'dist', 'build-info.json'), 'utf8')) as {commit: string};
  return {version, commit, node: process.version, arch: target.node};
}

/** Every directory of a production dependency, nested ones included (npm's own answer). */
async function productionPackages(project: string): Promise<string[]> {
  const r = await runTool('npm', ['ls', '--omit=dev', '--all', '--parseable'], {cwd: project});
  if (r.code !== 0) throw new KhpkgError('release-build', `npm ls in ${project} failed: ${r.stderr.toString().trim().split('\n')[0]}`);
  return r.stdout
    .toString()
    .split('\n')
    .filter((p) => p !== '' && p !== project && p.includes('/node_modules/'))
    .sort();
}

/**
 * One npm package without its nested node_modules (each is copied on its own), docs, or addon
 * build tree; an addon's `.node` files come from `built`, where they were compiled for the target.
 */
async function copyPackage(from: string, to: string, target: ReleaseTarget, built: string | undefined): Promise<void> {
  const addon = built !== undefined;
  const foreign = addon && built !== from;
  cpSync(from, to, {
    recursive: true,
    filter: (src) => {
      const rel = relative(from, src);
      if (rel === '') return true;
      if (rel === 'node_modules' || rel.startsWith('node_modules/')) return false;
      if (/^licen[cs]e|^copying|^notice/i.test(basename(rel))) return true;
      if (NEVER.test(rel) || (addon && ADDON_BUILD.test(rel)) || (foreign && /^build(\/|$)/.test(rel))) return false;
      return true;
    },
  });
  if (!addon) {
    pruneEmptyDirs(to);
    return;
  }
  const release = join(to, 'build', 'Release');
  if (foreign) {
    mkdirSync(release, {recursive: true});
    for (const f of readdirSync(join(built, 'build', 'Release')))
      if (f.endsWith('.node') && !NEVER.test(f)) copyFileSync(join(built, 'build', 'Release', f), join(release, f));
  }
  for (const f of readdirSync(release)) if (f.endsWith('.node')) await strip(target, join(release, f), '--strip-unneeded');
  pruneEmptyDirs(to);
}

function pruneEmptyDirs(dir: string): boolean {
  let empty = true;
  for (const e of readdirSync(dir, {withFileTypes: true})) {
    const path = join(dir, e.name);
    if (e.isDirectory() && !lstatSync(path).isSymbolicLink()) {
      if (pruneEmptyDirs(path)) rmSync(path, {recursive: true});
      else empty = false;
    } else empty = false;
  }
  return empty;
}

/** Debug symbols are most of an unstripped binary; binutils' strip for the target, where there is one. */
async function strip(target: ReleaseTarget, path: string, how: string): Promise<void> {
  const cmd = toolFor(target, 'strip');
  const r = await runTool(cmd, [how, path]).catch(() => undefined);
  if (r?.code !== 0) process.emitWarning(`${cmd} ${how} ${path} failed; the release ships it unstripped`);
}

/** Every ELF file of a staged tree is for the target's CPU: an addon npm built for this machine must not slip into another's release. */
export function checkMachine(dir: string, files: StagedFile[], target: ReleaseTarget): void {
  for (const f of files) {
    if (f.type !== 'file') continue;
    const head = Buffer.alloc(20);
    const fd = openSync(join(dir, f.path), 'r');
    try {
      readSync(fd, head, 0, 20, 0);
    } finally {
      closeSync(fd);
    }
    const machine = elfMachine(head);
    if (machine !== undefined && machine !== target.elfMachine)
      throw new KhpkgError('release-build', `${f.path}: an ELF file for machine ${machine} in the ${target.node} release`);
  }
}

/** The release's two programs: everything else is read by the runtime (root-owned, 0644). */
const EXECUTABLES = new Set(['khpkg', 'node']);

/** Files of a staged tree, sorted, for the tarball and the packages. */
export interface StagedFile {
  path: string;
  type: 'file' | 'dir' | 'symlink';
  mode: number;
  size: number;
}

export function stagedFiles(dir: string, under = ''): StagedFile[] {
  const out: StagedFile[] = [];
  for (const name of readdirSync(join(dir, under)).sort()) {
    const path = under === '' ? name : `${under}/${name}`;
    const st = lstatSync(join(dir, path));
    if (st.isDirectory()) {
      out.push({path, type: 'dir', mode: 0o755, size: 0});
      out.push(...stagedFiles(dir, path));
    } else if (st.isSymbolicLink()) {
      throw new KhpkgError('internal', `${path}: a symlink in the staged release`);
    } else {
      // Only the launcher and the runtime are run; scripts are loaded by the runtime, addons mapped by it.
      out.push({path, type: 'file', mode: EXECUTABLES.has(path) ? 0o755 : 0o644, size: st.size});
    }
  }
  return out;
}
