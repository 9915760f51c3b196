import {createHash} from 'node:crypto';
import {readFile, stat} from 'node:fs/promises';
import {basename} from 'node:path';
import {KhpkgError} from '../errors.js';
import {FORMATS, formatOf} from '../formats/table.js';
import type {RepoPackage} from '../registry/types.js';

/** Reads what a repository's index needs of a package file, by its family; `filename` is where the index will say it is. */
export async function readPackageMeta(path: string, filename: string): Promise<RepoPackage> {
  const bytes = await readFile(path);
  const {mtimeMs} = await stat(path);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const row = await formatOf(bytes.subarray(0, 64 * 1024));
  if (!row) throw new KhpkgError('bad-input', `${basename(path)} is none of the packages a repository holds (${FORMATS.join(', ')})`);
  try {
    return await row.repo.entry(bytes, filename, {mtimeMs, sha256});
  } catch (e) {
    if (e instanceof KhpkgError) throw e;
    throw new KhpkgError('bad-input', `${basename(path)} is a damaged package (${(e as Error).message})`);
  }
}
