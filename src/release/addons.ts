import {existsSync, realpathSync} from 'node:fs';
import {cp, readdir, readFile, rm, writeFile} from 'node:fs/promises';
import {availableParallelism} from 'node:os';
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
export async function addonBuilds(project: string, addons: string[], target: ReleaseTarget, workDir: string, onStep: (what: string) => void): Promise<Map<string, string>> {
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

async function crossBuild(project: string, a: string, target: ReleaseTarget, workDir: string, env: CrossEnv, onStep: (what: string) => void): Promise<string> {
  const rel = relative(project, a);
  const name = rel.split('node_modules/').pop()!;
  const dir = join(workDir, rel);
  onStep(`cross-compiling ${name} for ${target.node}`);
  await rm(dir, {recursive: true, force: true});
  await cp(a, dir, {recursive: true, filter: (src) => !/^(build|prebuilds)(\/|$)/.test(relative(a, src))});
  const quirk = QUIRKS[name] ?? {};
  if (quirk.configureHost) {
    const script = join(dir, quirk.configureHost.script);
    const text = await readFile(script, 'utf8');
    if (!text.includes(quirk.configureHost.call)) throw new KhpkgError('release-build', `${name}: ${quirk.configureHost.script} no longer runs '${quirk.configureHost.call.trim()}': its cross build needs a new --host rule`);
    await writeFile(script, text.replace(quirk.configureHost.call, `${quirk.configureHost.call}--host=${target.gnu} `));
  }
  const map = `-ffile-prefix-map=${dir}=.`;
  const r = await runTool(process.execPath, [env.nodeGyp, 'rebuild', '--release', `--arch=${target.node}`, `--nodedir=${env.nodeDir}`, '-j', String(availableParallelism())], {
    cwd: dir,
    env: {...process.env, ...env.vars, NODE_PATH: join(project, 'node_modules'), CFLAGS: `${quirk.cflags ?? ''} ${map}`.trim(), CXXFLAGS: map},
  });
  if (r.code !== 0) throw new KhpkgError('release-build', `cross-compiling ${name} for ${target.node} failed: ${relevantLines(r.output, /error|not found/i, 2).join(' / ')}`);
  for (const f of await readdir(join(dir, 'build', 'Release'))) {
    if (!f.endsWith('.node')) continue;
    if (elfMachine(await readFile(join(dir, 'build', 'Release', f))) !== target.elfMachine) throw new KhpkgError('release-build', `${name}: build/Release/${f} is not a ${target.node} ELF file`);
  }
  return dir;
}

interface CrossEnv {
  nodeGyp: string;
  nodeDir: string;
  vars: Record<string, string>;
}

/** node-gyp, this Node's headers, and the cross toolchain for the target, each checked before any build starts. */
async function crossEnv(target: ReleaseTarget): Promise<CrossEnv> {
  const cxx = toolFor(target, 'g++');
  const found = await runTool(cxx, ['--version']).catch(() => undefined);
  if (found?.code !== 0) throw new KhpkgError('usage', `a ${target.node} release is cross-compiled with ${cxx}, which is not installed (Debian: apt-get install g++-${target.gnu})`);
  // Node's own install keeps its headers beside it (<prefix>/include/node), as Node's tarballs and Debian's nodejs lay them.
  const nodeDir = dirname(dirname(realpathSync(process.execPath)));
  if (!existsSync(join(nodeDir, 'include', 'node', 'node.h'))) throw new KhpkgError('usage', `no Node headers at ${nodeDir}/include/node: the addons are compiled against them`);
  const nodeGyp = join(nodeDir, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  if (!existsSync(nodeGyp)) throw new KhpkgError('usage', `no node-gyp at ${nodeGyp} (it comes with npm)`);
  // gyp's make generator builds the target with CC/CXX/LINK/AR and its host tools (none here) with *_host.
  const vars = {CC: toolFor(target, 'gcc'), CXX: cxx, LINK: cxx, AR: toolFor(target, 'ar'), CC_host: 'gcc', CXX_host: 'g++', LINK_host: 'g++', AR_host: 'ar'};
  return {nodeGyp, nodeDir, vars};
}
