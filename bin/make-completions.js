#!/usr/bin/env node
// Writes packaging/completions/{khpkg.bash,_khpkg}: the bash and zsh completions oclif's autocomplete
// plugin generates from the commands, for khpkg's own packages. They are committed because the
// plugin lists its commands in an order that varies from run to run (its plugins load in parallel),
// and a release must be reproducible; a test checks they still match the commands. Run after a
// change to the commands or their flags: `npm run build && node bin/make-completions.js`.
import {spawnSync} from 'node:child_process';
import {copyFileSync, mkdirSync, mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const cache = mkdtempSync(join(tmpdir(), 'khpkg-completions-'));
try {
  const r = spawnSync(process.execPath, [join(root, 'bin/run.js'), 'autocomplete', '--refresh-cache'], {
    env: {...process.env, XDG_CACHE_HOME: cache},
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`khpkg autocomplete --refresh-cache: ${r.stderr || r.stdout}`);
  const made = join(cache, 'khpkg/autocomplete/functions');
  const out = process.argv[2] ?? join(root, 'packaging/completions');
  mkdirSync(out, {recursive: true});
  copyFileSync(join(made, 'bash/khpkg.bash'), join(out, 'khpkg.bash'));
  copyFileSync(join(made, 'zsh/_khpkg'), join(out, '_khpkg'));
} finally {
  rmSync(cache, {recursive: true, force: true});
}
