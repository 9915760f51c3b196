import {realpathSync} from 'node:fs';
import {isAbsolute, posix, relative, resolve, sep} from 'node:path';
import type {Registry} from '../registry/registry.js';
import type {FileRecord} from '../registry/types.js';
import {inRoot} from '../root/paths.js';

export interface Owner {
  release: string;
  file: FileRecord;
}

/**
 * `khpkg owns PATH` as `dpkg -S` answers it: a path relative to the working directory or absolute (in
 * the root, with or without the root's own prefix), followed through links such as the build link
 * (`/lib/modules/<rel>/build/include/linux/sched.h`, the path compiler errors show); or a shell
 * pattern (`*`, `?`, `[...]`, where `*` crosses `/` as in dpkg) matched against every recorded path.
 */
export function owners(root: string, registry: Registry, spec: string, cwd = process.cwd()): Owner[] {
  if (/[*?[]/.test(spec)) {
    const re = globToRegExp(spec.startsWith('/') || spec.startsWith('*') ? spec : `*/${spec}`);
    return registry.allFiles().filter((o) => re.test(`/${o.file.path}`));
  }
  const rel = rootRelative(root, spec, cwd);
  const direct = registry.owners(rel);
  if (direct.length > 0) return direct;
  const real = realInRoot(root, rel);
  return real !== undefined && real !== rel ? registry.owners(real) : [];
}

/** A path as the user gives it, relative to the root and normalised (see owners). */
export function rootRelative(root: string, path: string, cwd = process.cwd()): string {
  const abs = isAbsolute(path) ? path : resolve(cwd, path);
  let p = posix.normalize(abs.replace(/\/+$/, ''));
  if (root !== '/' && (p === root || p.startsWith(`${root}/`))) p = p.slice(root.length);
  return p.replace(/^\/+/, '');
}

/** Where `rel` really is, through its links, if that is inside the root. */
function realInRoot(root: string, rel: string): string | undefined {
  try {
    const real = realpathSync(inRoot(root, rel));
    const base = realpathSync(root);
    const r = relative(base, real);
    return r.startsWith('..') || isAbsolute(r) ? undefined : r.split(sep).join('/');
  } catch {
    return undefined;
  }
}

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end === -1) re += '\\[';
      else {
        re += `[${glob
          .slice(i + 1, end)
          .replace(/^!/, '^')
          .replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}
