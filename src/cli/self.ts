import {realpathSync} from 'node:fs';

/**
 * How hooks and units call this very khpkg: `KHPKG_SELF` where a launcher sets it (an installed
 * release's /usr/bin/khpkg), else this Node and this script, by absolute path.
 */
export function selfCommand(): string {
  if (process.env.KHPKG_SELF) return process.env.KHPKG_SELF;
  const script = realpathSync(process.argv[1]!);
  for (const p of [process.execPath, script]) {
    if (/[\s'"\\$`]/.test(p)) throw new Error(`khpkg's path '${p}' holds characters a hook cannot quote safely; set KHPKG_SELF`);
  }
  return `${process.execPath} ${script}`;
}
