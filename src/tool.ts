import {spawn, spawnSync} from 'node:child_process';
import {PassThrough, type Readable} from 'node:stream';

/** What an external tool did: its exit status and what it said. */
export interface ToolResult {
  /** The exit status; 128 + n when killed by signal n. */
  code: number;
  stdout: Buffer;
  stderr: Buffer;
  /** stdout and stderr as the tool wrote them, interleaved, as text. */
  output: string;
}

/**
 * The one way khpkg runs the optional external tools (make, dpkg, rpm, gpg, modprobe, hooks): no
 * shell, stdin from `input` or closed, both outputs captured. Resolves whatever the exit status (the
 * caller decides what a failure means); rejects only when the tool cannot be started, with the
 * spawn error (`code` ENOENT when it is not installed).
 */
export function runTool(cmd: string, args: readonly string[], opts: {cwd?: string; env?: NodeJS.ProcessEnv; input?: Buffer} = {}): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {cwd: opts.cwd, env: opts.env ?? process.env, stdio: [opts.input ? 'pipe' : 'ignore', 'pipe', 'pipe']});
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const both: Buffer[] = [];
    child.stdout!.on('data', (d: Buffer) => (out.push(d), both.push(d)));
    child.stderr!.on('data', (d: Buffer) => (err.push(d), both.push(d)));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const status = code ?? 128 + (signal ? (({SIGINT: 2, SIGKILL: 9, SIGTERM: 15} as Record<string, number>)[signal] ?? 1) : 1);
      resolve({code: status, stdout: Buffer.concat(out), stderr: Buffer.concat(err), output: Buffer.concat(both).toString('utf8')});
    });
    if (opts.input) {
      child.stdin!.on('error', () => undefined); // a tool that exits without reading all of it
      child.stdin!.end(opts.input);
    }
  });
}

/** runTool for the few quick queries asked from synchronous code (`rpm -qf`, `rpm --eval`); never throws. */
export function runToolSync(cmd: string, args: readonly string[], timeoutMs = 60_000): {code: number; stdout: string} {
  const r = spawnSync(cmd, args, {encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe']});
  return {code: r.status ?? -1, stdout: r.stdout ?? ''};
}

/**
 * The lines of a tool's output that explain a failure: those matching `pattern` (and a few after
 * each, where tools list details: missing files, the compiler's note), else the last lines; at most
 * `max`, each trimmed.
 */
export function relevantLines(output: string, pattern: RegExp, max = 8): string[] {
  const lines = output
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.trim() !== '');
  const picked = new Set<number>();
  lines.forEach((l, i) => {
    if (pattern.test(l)) for (let j = i; j < Math.min(lines.length, i + 4); j++) picked.add(j);
  });
  const chosen = picked.size > 0 ? [...picked].sort((a, b) => a - b).map((i) => lines[i]!) : lines.slice(-Math.min(3, max));
  return chosen.slice(0, max).map((l) => l.trim());
}

/**
 * A tool as a stream filter (`bzip2 -dc`): `source` is piped into its stdin, its stdout is returned.
 * The stream fails when the tool cannot start (`missing` is the one line then) or exits non-zero.
 */
export function filterThroughTool(cmd: string, args: readonly string[], source: Readable, missing: string): Readable {
  const child = spawn(cmd, args, {stdio: ['pipe', 'pipe', 'pipe']});
  const out = new PassThrough();
  let said = '';
  child.stderr!.on('data', (d: Buffer) => (said = (said + d.toString()).slice(-400)));
  child.on('error', (e: NodeJS.ErrnoException) => out.destroy(e.code === 'ENOENT' ? new Error(missing) : e));
  // The output ends only once the tool said it succeeded: a tool that fails midway must not look like a short input.
  child.on('close', (code) => {
    if (code === 0) out.end();
    else out.destroy(new Error(`${cmd} ${args.join(' ')} exited ${code}${said.trim() ? `: ${said.trim().split('\n')[0]}` : ''}`));
  });
  child.stdin!.on('error', () => undefined); // the tool stopped reading: its exit says why
  source.on('error', (e) => out.destroy(e));
  source.pipe(child.stdin!);
  child.stdout!.pipe(out, {end: false});
  out.on('close', () => {
    if (child.exitCode === null) child.kill();
  });
  return out;
}
