import {mkdirSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {mustRun} from './run.js';

/** An empty dpkg database under `root`, as `dpkg --root` needs it. */
export function dpkgRoot(root: string): void {
  for (const d of ['info', 'updates', 'triggers']) mkdirSync(join(root, 'var/lib/dpkg', d), {recursive: true});
  writeFileSync(join(root, 'var/lib/dpkg/status'), '');
  writeFileSync(join(root, 'var/lib/dpkg/available'), '');
}

/** `rpm --root` arguments, with an rpm database made inside the root (Debian's rpm keeps it in ~/.rpmdb). */
export function rpmRoot(root: string): string[] {
  mkdirSync(root, {recursive: true});
  mustRun('rpm', ['--root', root, '--initdb']);
  return ['--root', root];
}
