/**
 * The one error type the core throws. The command layer prints `khpkg: <message>` and exits with
 * `exitCode`; nothing in the core prints.
 */
export class KhpkgError extends Error {
  constructor(
    /** A stable machine-readable cause, e.g. `invalid-archive`, `not-found`, `usage`. */
    readonly code: string,
    message: string,
    readonly exitCode = code === 'usage' ? 2 : 1,
  ) {
    super(message);
    this.name = 'KhpkgError';
  }
}

/** An archive entry broke a rule: the message names the entry and the rule. */
export function invalidEntry(name: string, rule: string): KhpkgError {
  return new KhpkgError('invalid-archive', `archive entry '${printable(name)}': ${rule}`);
}

/** Names from hostile archives may hold control characters; never echo them raw to a terminal. */
export function printable(s: string): string {
  return s.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** The one way every command says a release has no installed headers. */
export function notInstalled(release: string): KhpkgError {
  return new KhpkgError('not-installed', `headers for ${release} are not installed (see 'khpkg list')`);
}
