import type {Limits} from '../archive/limits.js';
import {dumpBtf, writeHeaderFile, type BtfDump} from '../pipeline/btf-dump.js';

/**
 * `btf dump`, as the command and its fast path (cli/fast-path.ts) both run it: vmlinux.h to `out`
 * (whole or not at all) or to stdout. Returns what was read, and the line that says so.
 */
export async function runBtfDump(
  source: string | undefined,
  out: string | undefined,
  limits: Limits,
): Promise<{facts: Omit<BtfDump, 'header'>; bytes: number; said: string}> {
  const {header, ...facts} = await dumpBtf(source, limits);
  if (out === undefined) process.stdout.write(header);
  else await writeHeaderFile(out, header);
  return {facts, bytes: header.length, said: `wrote ${out ?? 'stdout'}: ${facts.types} types from ${facts.source} (${facts.from})`};
}
