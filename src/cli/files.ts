import {readFileSync} from 'node:fs';
import {readFile} from 'node:fs/promises';
import {KhpkgError} from '../errors.js';

/** A `--config` file, with the one-line error a missing one deserves. */
export async function readConfigFile(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    throw new KhpkgError('not-found', `--config ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
}

/** A small text file a flag names (`--os-release`), read at once, with the flag in its error. */
export function readTextFile(path: string, flag = '--os-release'): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new KhpkgError('not-found', `${flag} ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
}
