import {createHash} from 'node:crypto';
import {lstatSync, readdirSync, readFileSync, readlinkSync} from 'node:fs';
import {join} from 'node:path';
import {HEADERS_ONLY_BUILD} from '../../src/content/headers.js';

/** path → `dir` | `link:<target>` | `file:<sha256>` for every entry below `root`, for tree equality. */
export function treeDigest(root: string, skip: (rel: string) => boolean = () => false): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      if (skip(r)) continue;
      const st = lstatSync(join(root, r));
      if (st.isSymbolicLink()) out.set(r, `link:${readlinkSync(join(root, r))}`);
      else if (st.isDirectory()) {
        out.set(r, 'dir');
        walk(r);
      } else
        out.set(
          r,
          `file:${createHash('sha256')
            .update(readFileSync(join(root, r)))
            .digest('hex')}`,
        );
    }
  };
  walk('');
  return out;
}

/** What khpkg adds to the archive's tree (left out when comparing a tree with the archive). */
export const addedByKhpkg = (rel: string): boolean =>
  rel === '.config' || rel === 'include/config' || rel === 'Makefile' || rel === HEADERS_ONLY_BUILD || rel === 'include/linux/version.h';
