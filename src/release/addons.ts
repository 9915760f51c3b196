import {existsSync, realpathSync} from 'node:fs';
import {createHash} from 'node:crypto';
import {cp, mkdir, readdir, readFile, rename, rm, writeFile} from 'node:fs/promises';
import {availableParallelism, homedir} from 'node:os';
import {dirname, join, relative} from 'node:path';
import {elfMachine} from '../elf/elf.js';
import {KhpkgError} from '../errors.js';
import {relevantLines, runTool} from '../tool.js';
import {isNative, toolFor, type ReleaseTarget} from './target.js';

/**
 * What an addon's own build needs beyond node-gyp's defaults. lzma-native configures its bundled
 * liblzma with autoconf, which must be told the host it builds for (its script passes no --host),
 * and builds it without optimisation unless CFLAGS says -O2 (bin/optimize-lzma.js, for the native build).
 */
const QUIRKS: Record<string, {cflags?: string; configureHost?: {script: string; call: string}}> = {
  'lzma-native': {cflags: '-O2', configureHost: {script: 'liblzma-config.sh', call: 'sh xz-*/configure '}},
};

/**
 * Where each addon's built `.node` files for the target are: `<dir>/build/Release`, for every
 * package directory in `addons`. On this machine's own CPU that is the package as npm built it;
 * for another, a copy of its sources cross-compiled under `workDir` with Debian's cross toolchain
 * (`g++-<triplet>`) against this Node's headers, for the same Node version. Paths of the work tree
 * are mapped out of the objects (-ffile-prefix-map) so where the build ran leaves no trace.
 */
export async function addonBuilds(
  project: string,
  addons: string[],
  target: ReleaseTarget,
  workDir: string,
  onStep: (what: string) => void,
): Promise<Map<string, string>> {
  const built = new Map<string, string>();
  if (isNative(target)) {
    for (const a of addons) built.set(a, a);
    return built;
  }
  const env = await crossEnv(target);
  // Side by side: SQLite's one big file keeps one core busy for most of the build, the others share the rest.
  await Promise.all(addons.map(async (a) => built.set(a, await crossBuild(project, a, target, workDir, env, onStep))));
  return built;
}

/**
 * Cross-compiled addons, kept by what they were built from: the package's own files (not its
 * build/), the target, this Node's version, the cross compiler's and what khpkg changes in the
 * build. A release for the same inputs takes the `.node` files from here instead of compiling
 * again (SQLite alone is 2.5 minutes); `KHPKG_ADDON_CACHE=off` compiles every time.
 */
function addonCacheDir(): string | undefined {
  const set = process.env.KHPKG_ADDON_CACHE;
  if (set === 'off') return undefined;
  return set ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'khpkg', 'cross-addons');
}

/** The digest of everything an addon's cross build depends on. */
async function addonInputs(a: string, name: string, target: ReleaseTarget, env: CrossEnv): Promise<string> {
  const hash = createHash('sha256');
  hash.update(JSON.stringify({name, target: target.gnu, node: process.version, compiler: env.compiler, quirk: QUIRKS[name] ?? {}, recipe: 1}));
  const walk = async (dir: string): Promise<void> => {
    for (const e of (await readdir(dir, {withFileTypes: true})).sort((x, y) => (x.name < y.name ? -1 : 1))) {
      const path = join(dir, e.name);
      const rel = relative(a, path);
      if (/^(build|prebuilds|node_modules)$/.test(rel)) continue;
      if (e.isDirectory()) await walk(path);
      else if (e.isFile()) hash.update(`${rel}\0`).update(await readFile(path));
    }
  };
  await walk(a);
  return hash.digest('hex');
}

async function crossBuild(project: string, a: string, target: ReleaseTarget, workDir: string, env: CrossEnv, onStep: (what: string) => void): Promise<string> {
  const rel = relative(project, a);
  const name = rel.split('node_modules/').pop()!;
  const cacheRoot = addonCacheDir();
  const cached = cacheRoot && join(cacheRoot, `${name.replace(/\//g, '+')}-${target.node}-${(await addonInputs(a, name, target, env)).slice(0, 24)}`);
  if (cached && existsSync(join(cached, 'build', 'Release'))) {
    onStep(`${name} for ${target.node}: compiled before from the same inputs (${cached})`);
    return cached;
  }
  const dir = await compileAddon(project, a, name, target, workDir, env, onStep);
  if (cached) {
    // Only the .node files: all a release takes from a build. Renamed into place whole, so a cut-short copy is never taken.
    const part = `${cached}.part-${process.pid}`;
    await rm(part, {recursive: true, force: true});
    await mkdir(join(part, 'build', 'Release'), {recursive: true});
    for (const f of await readdir(join(dir, 'build', 'Release')))
      if (f.endsWith('.node')) await cp(join(dir, 'build', 'Release', f), join(part, 'build', 'Release', f));
    await rm(cached, {recursive: true, force: true});
    await rename(part, cached);
  }
  return dir;
}

async function compileAddon(
  project: string,
  a: string,
  name: string,
  target: ReleaseTarget,
  workDir: string,
  env: CrossEnv,
  onStep: (what: string) => void,
): Promise<string> {
  const dir = join(workDir, relative(project, a));
  onStep(`cross-compiling ${name} for ${target.node}`);
  await rm(dir, {recursive: true, force: true});
  await cp(a, dir, {recursive: true, filter: (src) => !/^(build|prebuilds)(\/|$)/.test(relative(a, src))});
  const quirk = QUIRKS[name] ?? {};
  if (quirk.configureHost) {
    const script = join(dir, quirk.configureHost.script);
    const text = await readFile(script, 'utf8');
    if (!text.includes(quirk.configureHost.call))
      throw new KhpkgError(
        'release-build',
        `${name}: ${quirk.configureHost.script} no longer runs '${quirk.configureHost.call.trim()}': its cross build needs a new --host rule`,
      );
    await writeFile(script, text.replace(quirk.configureHost.call, `${quirk.configureHost.call}--host=${target.gnu} `));
  }
  const map = `-ffile-prefix-map=${dir}=.`;
  const r = await runTool(
    process.execPath,
    [env.nodeGyp, 'rebuild', '--release', `--arch=${target.node}`, `--nodedir=${env.nodeDir}`, '-j', String(availableParallelism())],
    {
      cwd: dir,
      env: {...process.env, ...env.vars, NODE_PATH: join(project, 'node_modules'), CFLAGS: `${quirk.cflags ?? ''} ${map}`.trim(), CXXFLAGS: map},
    },
  );
  if (r.code !== 0)
    throw new KhpkgError('release-build', `cross-compiling ${name} for ${target.node} failed: ${relevantLines(r.output, /error|not found/i, 2).join(' / ')}`);
  for (const f of await readdir(join(dir, 'build', 'Release'))) {
    if (!f.endsWith('.node')) continue;
    if (elfMachine(await readFile(join(dir, 'build', 'Release', f))) !== target.elfMachine)
      throw new KhpkgError('release-build', `${name}: build/Release/${f} is not a ${target.node} ELF file`);
  }
  return dir;
}

interface CrossEnv {
  nodeGyp: string;
  nodeDir: string;
  vars: Record<string, string>;
  /** The cross compiler's own word on its version (part of what a cached build was made with). */
  compiler: string;
}

/** node-gyp, this Node's headers, and the cross toolchain for the target, each checked before any build starts. */
async function crossEnv(target: ReleaseTarget): Promise<CrossEnv> {
  const cxx = toolFor(target, 'g++');
  const found = await runTool(cxx, ['--version']).catch(() => undefined);
  if (found?.code !== 0)
    throw new KhpkgError('usage', `a ${target.node} release is cross-compiled with ${cxx}, which is not installed (Debian: apt-get install g++-${target.gnu})`);
  // Node's own install keeps its headers beside it (<prefix>/include/node), as Node's tarballs and Debian's nodejs lay them.
  const nodeDir = dirname(dirname(realpathSync(process.execPath)));
  if (!existsSync(join(nodeDir, 'include', 'node', 'node.h')))
    throw new KhpkgError('usage', `no Node headers at ${nodeDir}/include/node: the addons are compiled against them`);
  const nodeGyp = join(nodeDir, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  if (!existsSync(nodeGyp)) throw new KhpkgError('usage', `no node-gyp at ${nodeGyp} (it comes with npm)`);
  // gyp's make generator builds the target with CC/CXX/LINK/AR and its host tools (none here) with *_host.
  const vars = {CC: toolFor(target, 'gcc'), CXX: cxx, LINK: cxx, AR: toolFor(target, 'ar'), CC_host: 'gcc', CXX_host: 'g++', LINK_host: 'g++', AR_host: 'ar'};
  return {nodeGyp, nodeDir, vars, compiler: found.stdout.toString().split('\n')[0]!.trim()};
}
