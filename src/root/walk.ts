import {readdir} from 'node:fs/promises';
import {join} from 'node:path';

/**
 * Every regular file below `dir`, as paths relative to it (`/`-separated, sorted). Links are never
 * followed (a link is neither a file nor walked into). Directories are read 32 at a time: a
 * repository's pool has a directory per package, and Node's own recursive readdir reads them one
 * after another (10,000 packages: 330 -> 90 ms). A missing `dir` is an error for the caller to word.
 */
export async function filesBelow(dir: string): Promise<string[]> {
  const files: string[] = [];
  let level = [''];
  while (level.length > 0) {
    const next: string[] = [];
    for (let i = 0; i < level.length; i += 32)
      await Promise.all(
        level.slice(i, i + 32).map(async (rel) => {
          // Below the top, a directory gone meanwhile is as if it was never there.
          const entries = await readdir(rel === '' ? dir : join(dir, rel), {withFileTypes: true}).catch((e: NodeJS.ErrnoException) => {
            if (rel === '' || e.code !== 'ENOENT') throw e;
            return [];
          });
          for (const e of entries) {
            const path = rel === '' ? e.name : `${rel}/${e.name}`;
            if (e.isDirectory()) next.push(path);
            else if (e.isFile()) files.push(path);
          }
        }),
      );
    level = next;
  }
  return files.sort();
}
