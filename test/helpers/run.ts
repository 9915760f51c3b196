import {spawnSync} from 'node:child_process';
import {chmodSync, copyFileSync, cpSync, mkdtempSync, rmSync, statSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {dirname, join} from 'node:path';

const ROOT = new URL('../../', import.meta.url).pathname;
/** The built CLI's entry point. */
export const BIN = join(ROOT, 'bin', 'run.js');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Tests never touch the machine's own registry: builds record into this scratch root unless told. */
export const TEST_ROOT = mkdtempSync(join(tmpdir(), 'khpkg-root-'));
process.on('exit', () => rmSync(TEST_ROOT, {recursive: true, force: true}));

/** Runs the built CLI (`npm run build` first, as `npm test` does), never through a shell. */
export function khpkg(
  args: string[],
  opts: {input?: Buffer; env?: Record<string, string | undefined>; cwd?: string; wrap?: readonly string[]} = {},
): RunResult {
  // Nor the machine's own kernel BTF: a test that plays a running kernel with KHPKG_KHEADERS names its BTF too, or has none.
  const env: Record<string, string | undefined> = {...process.env, KHPKG_ROOT: TEST_ROOT, KHPKG_SYSFS_BTF: '/nonexistent/sys/kernel/btf/vmlinux', ...opts.env};
  delete env.NODE_ENV; // oclif maps dist/ back to src/ under NODE_ENV=development|test
  // `wrap`: a command to run it under (nsenter into a test's mount namespace).
  const [cmd, ...pre] = [...(opts.wrap ?? []), process.execPath];
  const r = spawnSync(cmd!, [...pre, BIN, ...args], {input: opts.input, env, cwd: opts.cwd ?? ROOT, maxBuffer: 64 * 1024 * 1024});
  return {code: r.status ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString()};
}

/** Runs a real tool; a missing tool fails the test with a clear message instead of skipping it. */
export function tool(cmd: string, args: string[], opts: {input?: Buffer; env?: Record<string, string>; cwd?: string} = {}): RunResult {
  const r = spawnSync(cmd, args, {input: opts.input, env: {...process.env, ...opts.env}, cwd: opts.cwd, maxBuffer: 256 * 1024 * 1024});
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new Error(`${cmd} is not installed: run 'npm run setup' (bin/setup-test-deps.sh installs it)`);
  }
  return {code: r.status ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString()};
}

/** Like `tool`, but a non-zero exit fails the test with the tool's own words. */
export function mustRun(cmd: string, args: string[], opts: Parameters<typeof tool>[2] = {}): string {
  const r = tool(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}:\n${r.stderr}${r.stdout}`.slice(0, 4000));
  return r.stdout;
}

/** A scratch dir removed after the test (`after`/`afterEach` call the cleanup). */
export function scratch(prefix = 'khpkg-test-'): {dir: string; cleanup: () => void} {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {dir, cleanup: () => rmSync(dir, {recursive: true, force: true})};
}

/** `khpkg build ... --json`, which must succeed: the packages it wrote. */
export function buildJson(
  args: string[],
  env: Record<string, string> = {},
): {path: string; sha256: string; name: string; version: string; arch: string; size: number; format: string}[] {
  const r = khpkg(['build', ...args, '--json'], {env});
  if (r.code !== 0) throw new Error(`khpkg build ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout).packages;
}

/** Every directory above `path` lets other users through (o+x), as `nobody` needs to run what is there. */
function othersCanReach(path: string): boolean {
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) return false;
    if (dir === '/') return true;
  }
}

let readable: {node: string; bin: string} | undefined;
/**
 * The node binary and khpkg's bin/run.js as an unprivileged user can run them: the checkout itself
 * when others can reach it, else a copy in a world-readable temp dir (a clone in /root, mode 700, is
 * where root's clone naturally goes; a Node under /root/.nvm likewise).
 */
export function runnableByOthers(): {node: string; bin: string} {
  if (readable) return readable;
  const reach = othersCanReach(BIN);
  const nodeOk = othersCanReach(process.execPath);
  if (reach && nodeOk) return (readable = {node: process.execPath, bin: BIN});
  const dir = mkdtempSync(join(tmpdir(), 'khpkg-readable-'));
  chmodSync(dir, 0o755);
  process.on('exit', () => rmSync(dir, {recursive: true, force: true}));
  let bin = BIN;
  if (!reach) {
    for (const part of ['bin', 'dist', 'packaging', 'registry', 'node_modules', 'package.json']) cpSync(join(ROOT, part), join(dir, part), {recursive: true});
    bin = join(dir, 'bin', 'run.js');
  }
  let node = process.execPath;
  if (!nodeOk) {
    node = join(dir, 'node');
    copyFileSync(process.execPath, node);
    chmodSync(node, 0o755);
  }
  return (readable = {node, bin});
}

/**
 * What a test needs from `npm run setup` (a cached input, root): when it is missing the test fails
 * naming it and what makes it. A test never skips: a missing tool or input must not look like a pass.
 */
export function needInput(present: unknown, what: string): void {
  if (!present) throw new Error(`${what}`);
}
