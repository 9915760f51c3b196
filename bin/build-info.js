#!/usr/bin/env node
// Writes dist/build-info.json: the commit this build is of, for `khpkg --version` (a release has no
// git to ask). Run by `npm run build`; "-dirty" marks uncommitted changes. Where git itself is not
// installed (a fresh machine given only Node), the commit is read from .git's own files; whether the
// tree is dirty then cannot be told, and nothing is said of it.
import {execFileSync} from 'node:child_process';
import {existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const git = (...args) => execFileSync('git', ['-C', root, ...args], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore']}).trim();

/** HEAD's commit from .git's files: HEAD, then the ref it names, loose or packed. */
function commitFromFiles() {
  const dir = join(root, '.git');
  if (!existsSync(join(dir, 'HEAD'))) return undefined;
  const head = readFileSync(join(dir, 'HEAD'), 'utf8').trim();
  const ref = /^ref: (.+)$/.exec(head)?.[1];
  if (!ref) return /^[0-9a-f]{40}$/.test(head) ? head : undefined;
  if (existsSync(join(dir, ref))) return readFileSync(join(dir, ref), 'utf8').trim();
  const packed = existsSync(join(dir, 'packed-refs')) ? readFileSync(join(dir, 'packed-refs'), 'utf8') : '';
  return packed
    .split('\n')
    .find((l) => l.endsWith(` ${ref}`))
    ?.split(' ')[0];
}

let commit = 'unknown';
try {
  commit = git('rev-parse', '--short=12', 'HEAD') + (git('status', '--porcelain', '--untracked-files=no') ? '-dirty' : '');
} catch {
  // no git program, or not a git checkout (an unpacked npm tarball): .git's files, or the version alone
  commit = commitFromFiles()?.slice(0, 12) ?? 'unknown';
}
mkdirSync(new URL('../dist/', import.meta.url), {recursive: true});
writeFileSync(new URL('../dist/build-info.json', import.meta.url), JSON.stringify({commit}) + '\n');
