#!/usr/bin/env node
// The release (`npm run dist`, through bin/dist.sh): stages the runnable tree, then writes the
// tarball and the packages from it. Options: --out DIR (default release/), --formats tar,deb,rpm.
import {parseArgs} from 'node:util';
import {makeRelease} from '../dist/release/release.js';

const {values} = parseArgs({options: {out: {type: 'string', default: 'release'}, formats: {type: 'string', default: 'tar,deb,rpm'}}});
const project = new URL('..', import.meta.url).pathname;
try {
  const made = await makeRelease(project, values.out, values.formats.split(','));
  for (const a of made.outputs) console.log(`${a.path}  ${(a.size / 1048576).toFixed(1)} MiB  sha256 ${a.sha256}`);
  console.log(`staged ${made.files} files (${(made.stagedBytes / 1048576).toFixed(1)} MiB) in ${made.stageDir}`);
} catch (e) {
  console.error(`make-dist: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
}
