#!/usr/bin/env node
// Writes dist/build-info.json: the commit this build is of, for `khpkg --version` (a release has no
// git to ask). Run by `npm run build`; "-dirty" marks uncommitted changes.
import {execFileSync} from 'node:child_process';
import {mkdirSync, writeFileSync} from 'node:fs';

const root = new URL('..', import.meta.url).pathname;
const git = (...args) => execFileSync('git', ['-C', root, ...args], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore']}).trim();
let commit = 'unknown';
try {
  commit = git('rev-parse', '--short=12', 'HEAD') + (git('status', '--porcelain', '--untracked-files=no') ? '-dirty' : '');
} catch {
  // not a git checkout (an unpacked npm tarball): the version alone says what it is
}
mkdirSync(new URL('../dist/', import.meta.url), {recursive: true});
writeFileSync(new URL('../dist/build-info.json', import.meta.url), JSON.stringify({commit}) + '\n');
