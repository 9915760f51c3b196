#!/usr/bin/env node
import {fastPath} from '../dist/cli/fast-path.js';

if (!(await fastPath(process.argv.slice(2)))) {
  const {execute} = await import('@oclif/core');
  await execute({dir: import.meta.url});
}
