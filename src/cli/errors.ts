import {KhpkgError, printable} from '../errors.js';
import {runInterruptCleanups} from '../interrupt.js';
import {registryError} from '../registry/registry.js';

/** What the system says, in words a person reads, for the errors a command meets on a real machine. */
const ERRNO_WORDS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EEXIST: 'already exists (and is in the way)',
  ENOTDIR: 'a part of this path is not a directory',
  EISDIR: 'is a directory',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  ENOTEMPTY: 'directory not empty',
  EMFILE: 'too many open files',
  EIO: 'input/output error',
};

/**
 * Any error as the one line a command prints, and its exit status: khpkg's own errors as they are,
 * a damaged registry with its fix, system errors with the path and plain words. Only a real bug is
 * an "internal error".
 */
export function describeError(err: unknown): {message: string; exitCode: number} {
  const e = registryError(err) ?? err;
  if (e instanceof KhpkgError) return {message: e.message, exitCode: e.exitCode};
  const errno = e as NodeJS.ErrnoException;
  if (typeof errno?.code === 'string' && (errno.syscall || ERRNO_WORDS[errno.code])) {
    const words = ERRNO_WORDS[errno.code] ?? errno.message.replace(/^[A-Z]+: /, '').replace(/, \w+ '.*'$/, '');
    const where = errno.path ?? errno.syscall ?? 'khpkg';
    const hint = errno.code === 'EACCES' || errno.code === 'EPERM' ? (process.getuid?.() === 0 ? '' : ' (run as root, or pass --root DIR that you own)') : '';
    return {message: `${where}: ${words}${hint}`, exitCode: 1};
  }
  return {message: `internal error: ${(e as Error)?.message ?? String(e)}`, exitCode: 1};
}

/** Prints the one line, and the stack only when asked for. */
export function reportError(err: unknown, debug: boolean): number {
  const {message, exitCode} = describeError(err);
  // One line, but for the tool output some errors carry on indented lines (--kbuild's missing files, a compiler's error).
  process.stderr.write(`khpkg: ${message.split('\n').map(printable).join('\n')}\n`);
  if (debug && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  return exitCode;
}

/**
 * Process-wide: stdout closed by its reader (`| head`) ends quietly with status 1, a full one with
 * one line; SIGINT and SIGTERM undo open work (interrupt.ts) and exit 130 and 143, as a shell reports
 * them; an error nothing caught is one line, not a stack.
 */
export function guardProcess(): void {
  const debug = process.argv.includes('--debug') || process.env.KHPKG_DEBUG === '1';
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') process.stderr.write(`khpkg: standard output: ${ERRNO_WORDS[e.code ?? ''] ?? e.message}\n`);
    process.exit(1);
  });
  for (const [signal, status] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.on(signal, () => {
      runInterruptCleanups();
      process.stderr.write(`khpkg: interrupted (${signal}): nothing was left half done\n`);
      process.exit(status);
    });
  }
  process.on('uncaughtException', (e) => process.exit(reportError(e, debug)));
  process.on('unhandledRejection', (e) => process.exit(reportError(e, debug)));
}
