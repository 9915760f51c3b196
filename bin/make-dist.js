#!/usr/bin/env node
// The release (`npm run dist`, through bin/dist.sh): stages the runnable tree, then writes the
// tarball and the packages from it. Options: --out DIR (default release/), --formats tar,deb,... (default
// the tarball and every package family khpkg writes),
// --arch x64,arm64 (Node's CPU names; default this machine's: another's is cross-built).
import {parseArgs} from 'node:util';
import {makeRelease} from '../dist/release/release.js';

const {values} = parseArgs({
  options: {out: {type: 'string', default: 'release'}, formats: {type: 'string'}, arch: {type: 'string', default: process.arch}},
});
const project = new URL('..', import.meta.url).pathname;
// Minutes of cross-compiling say what they are doing on a terminal; a pipe gets only the results.
const onStep = process.stderr.isTTY ? (what) => process.stderr.write(`make-dist: ${what}\n`) : undefined;
try {
  for (const arch of values.arch.split(',')) {
    const started = Date.now();
    const made = await makeRelease(project, values.out, {kinds: values.formats?.split(','), arch, onStep});
    for (const a of made.outputs) console.log(`${a.path}  ${(a.size / 1048576).toFixed(1)} MiB  sha256 ${a.sha256}`);
    console.log(
      `staged ${made.files} files (${(made.stagedBytes / 1048576).toFixed(1)} MiB) in ${made.stageDir} in ${((Date.now() - started) / 1000).toFixed(0)} s`,
    );
  }
} catch (e) {
  console.error(`make-dist: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
}
