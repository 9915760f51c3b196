import {execFileSync, spawnSync} from 'node:child_process';
import {chmodSync, copyFileSync, cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {basename, join, relative} from 'node:path';
import {KhpkgError} from '../errors.js';

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
const NEVER = /(^|\/)(test|tests|__tests__|docs?|examples?|benchmarks?|\.[^/]+)(\/|$)|\.(md|markdown|d\.[cm]?ts|map|ts|tsbuildinfo|gyp|gypi|h|hh|hpp|c|cc|cpp)$|(^|\/)test[^/]*\.node$/i;
/** A native addon's sources and build intermediates: only build/Release/*.node is loaded at run time. */
const ADDON_BUILD = /^(deps|src|prebuilds|node-addon-api|binding\.gyp|.*\.gypi|.*\.sh)(\/|$)|^build\/(?!Release$|Release\/[^/]+\.node$)/;

/**
 * Stages the runnable release tree in `dir`: the launcher, this Node runtime (stripped), the
 * compiled JavaScript, the production dependencies only with their compiled addons (no sources,
 * no intermediates), `packaging/` and `registry/`. The tree mirrors the checkout's, so code that
 * finds packaging/ beside dist/ finds it here too.
 */
export function stageRelease(project: string, dir: string): ReleaseInfo {
  const pkg = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8')) as Record<string, unknown> & {version: string};
  if (!existsSync(join(project, 'dist', 'cli', 'fast-path.js'))) throw new KhpkgError('usage', `${project}/dist is not built: run 'npm run build' first`);
  rmSync(dir, {recursive: true, force: true});
  mkdirSync(dir, {recursive: true});

  copyFileSync(join(project, 'packaging', 'khpkg', 'launcher'), join(dir, 'khpkg'));
  chmodSync(join(dir, 'khpkg'), 0o755);
  copyFileSync(process.execPath, join(dir, 'node'));
  chmodSync(join(dir, 'node'), 0o755);
  strip(join(dir, 'node'), '--strip-all');

  for (const sub of ['dist', 'packaging', 'registry']) cpSync(join(project, sub), join(dir, sub), {recursive: true});
  mkdirSync(join(dir, 'bin'));
  copyFileSync(join(project, 'bin', 'run.js'), join(dir, 'bin', 'run.js'));
  chmodSync(join(dir, 'bin', 'run.js'), 0o755);
  // oclif reads the manifest of commands and plugins from package.json; scripts and dev tools stay home.
  const {name, version, description, license, type, bin, oclif, dependencies, engines} = pkg;
  writeFileSync(join(dir, 'package.json'), JSON.stringify({name, version, description, license, type, bin, engines, dependencies, oclif}, null, 2) + '\n');

  for (const from of productionPackages(project)) copyPackage(from, join(dir, relative(project, from)));
  const {commit} = JSON.parse(readFileSync(join(project, 'dist', 'build-info.json'), 'utf8')) as {commit: string};
  return {version, commit, node: process.version, arch: process.arch};
}

/** Every directory of a production dependency, nested ones included (npm's own answer). */
function productionPackages(project: string): string[] {
  const out = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], {cwd: project, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']});
  return out
    .split('\n')
    .filter((p) => p !== '' && p !== project && p.includes('/node_modules/'))
    .sort();
}

/** One npm package without its nested node_modules (each is copied on its own), docs, or addon build tree. */
function copyPackage(from: string, to: string): void {
  const addon = existsSync(join(from, 'binding.gyp'));
  cpSync(from, to, {
    recursive: true,
    filter: (src) => {
      const rel = relative(from, src);
      if (rel === '') return true;
      if (rel === 'node_modules' || rel.startsWith('node_modules/')) return false;
      if (/^licen[cs]e|^copying|^notice/i.test(basename(rel))) return true;
      if (NEVER.test(rel) || (addon && ADDON_BUILD.test(rel))) return false;
      return true;
    },
  });
  if (addon) for (const f of readdirSync(join(to, 'build', 'Release'), {withFileTypes: true})) if (f.name.endsWith('.node')) strip(join(to, 'build', 'Release', f.name), '--strip-unneeded');
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

/** Debug symbols are most of an unstripped binary; binutils' strip, where there is one. */
function strip(path: string, how: string): void {
  const r = spawnSync('strip', [how, path], {stdio: 'ignore'});
  if (r.error || r.status !== 0) process.emitWarning(`strip ${how} ${path} failed; the release ships it unstripped`);
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
