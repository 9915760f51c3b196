/**
 * Every cause the core reports, and the exit status each gives. Exit 2 is a mistake in how khpkg was
 * called; exit 1 is everything about the input, the root or the machine (scripts tell "not
 * installed" and the rest apart by the code, which `--json` errors may carry).
 */
export const ERROR_CODES = {
  /** The command line: a flag's value, a missing argument, a confirmation not given. */
  usage: 2,
  /** Input that is not what it must be: a file that is not an archive, a package khpkg did not build. */
  'bad-input': 1,
  /** An archive entry broke a validation rule (the message names the entry and the rule). */
  'invalid-archive': 1,
  /** Damaged data: truncated or failing its checksums. */
  'corrupt-input': 1,
  /** A valid archive, but not a kheaders tree. */
  'not-kheaders': 1,
  /** An architecture khpkg cannot name packages for. */
  'unsupported-arch': 1,
  /** Nothing to do now, and that is fine: an installed kernel with kheaders built in gets its headers at its first boot. */
  deferred: 0,
  /** A kernel image or vmlinux without BTF (CONFIG_DEBUG_INFO_BTF off). */
  'no-btf': 1,
  /** The running kernel has no kheaders (or it could not be loaded). */
  'no-kheaders': 1,
  /** A package field (name, version, maintainer) khpkg cannot write. */
  'bad-field': 1,
  /** A config that does not belong to these headers. */
  'bad-config': 1,
  /** A file or dir named on the command line is not there. */
  'not-found': 1,
  /** No installed header set for the release. */
  'not-installed': 1,
  /** A path no header set owns (`owns`). */
  'not-owned': 1,
  /** The installed state is in the way: other headers, a tree or link khpkg did not make. */
  conflict: 1,
  /** dpkg or rpm owns the path: never written, `--force` or not. */
  'owned-by-package': 1,
  /** The same headers are installed but changed on disk: `install --reinstall` repairs. */
  damaged: 1,
  /** A symlink in the root leads out of it. */
  'unsafe-root': 1,
  /** The root cannot be written by this user. */
  permission: 1,
  /** Another khpkg holds the root's lock. */
  busy: 1,
  /** The registry cannot be used (a newer schema, an unreadable file). */
  registry: 1,
  /** The registry file is damaged: `doctor --rebuild`. */
  'registry-damaged': 1,
  /** Writing output failed (the out dir, a full disk). */
  io: 1,
  /** `--kbuild`: a step of the module-build tier failed. */
  kbuild: 1,
  /** No kernel source of the series for a module-build tree (`--kbuild auto`, the hooks): the message says how to give one. */
  'no-kbuild-source': 1,
  /** `--btf headers`: the compiler or pahole is missing, or could not make BTF of the headers. */
  'header-btf': 1,
  /** gpg could not sign. */
  sign: 1,
  /** `--via`: dpkg or rpm is missing, or failed. */
  'no-package-manager': 1,
  'package-manager': 1,
  /** A header hook failed (the headers stay installed). */
  'hook-failed': 1,
  /** Making khpkg's own release failed: npm, node-gyp or the cross compiler could not do its part. */
  'release-build': 1,
  /** A bug in khpkg. */
  internal: 1,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/**
 * The one error type the core throws. The command layer prints `khpkg: <message>` and exits with
 * the code's status; nothing in the core prints.
 */
export class KhpkgError extends Error {
  readonly exitCode: number;

  constructor(
    /** A stable machine-readable cause (see ERROR_CODES). */
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'KhpkgError';
    this.exitCode = ERROR_CODES[code];
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
