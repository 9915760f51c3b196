import {readFileSync} from 'node:fs';
import {KhpkgError} from '../errors.js';

/** packaging/ at the top of the project, from src/content/ and dist/content/ alike. */
const PACKAGING = new URL('../../packaging/', import.meta.url);

/** A file from packaging/ with its `@NAME@` placeholders filled in; every one must be. */
export function renderTemplate(path: string, vars: Record<string, string>): string {
  const text = readFileSync(new URL(path, PACKAGING), 'utf8');
  return text.replace(/@([A-Z0-9_]+)@/g, (whole, key: string) => {
    const value = vars[key];
    if (value === undefined) throw new KhpkgError('internal', `packaging/${path}: no value for ${whole}`);
    return value;
  });
}

/** khpkg's own version (package.json beside packaging/), for what a package says made it. */
export function khpkgVersion(): string {
  return (JSON.parse(readFileSync(new URL('../package.json', PACKAGING), 'utf8')) as {version: string}).version;
}
