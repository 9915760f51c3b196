#!/usr/bin/env node
import {setFlagsFromString} from 'node:v8';

// Keep V8's young generation at its initial 1 MiB semi-spaces instead of letting it grow to 16:
// a build or install allocates many short-lived objects and buffers, and a large young generation
// only holds them longer (peak RSS of a .deb xz build 262 -> 220 MB, install 124 -> 110 MB, same
// wall time). This V8 heuristic is read on each growth decision, so setting it now takes effect.
setFlagsFromString('--semi-space-growth-factor=1');

// Signals undo open work, a closed or full stdout ends with one line at most, nothing prints a stack.
const {guardProcess} = await import('../dist/cli/errors.js');
guardProcess();
const {fastPath} = await import('../dist/cli/fast-path.js');
if (!(await fastPath(process.argv.slice(2)))) {
  const {execute} = await import('@oclif/core');
  await execute({dir: import.meta.url});
}
