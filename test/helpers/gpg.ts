import {mkdirSync} from 'node:fs';
import {mustRun} from './run.js';

/** The test signing key's user id, for `khpkg repo --sign-key`. */
export const TEST_KEY = 'test@khpkg.invalid';

/** A fresh GNUPGHOME at `dir` holding an unprotected signing key; returns the env that selects it. */
export function testSigningKey(dir: string): {GNUPGHOME: string} {
  mkdirSync(dir, {mode: 0o700});
  const env = {GNUPGHOME: dir};
  const quiet = ['--batch', '--quiet', '--pinentry-mode', 'loopback', '--passphrase', ''];
  mustRun('gpg', [...quiet, '--quick-gen-key', `khpkg test <${TEST_KEY}>`, 'rsa2048', 'sign', 'never'], {env});
  return env;
}
