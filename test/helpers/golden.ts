import assert from 'node:assert/strict';
import {existsSync, readFileSync, writeFileSync} from 'node:fs';

const DIR = new URL('../formats/testdata/', import.meta.url);

/**
 * Compares bytes with `test/formats/testdata/<name>.golden` (hex for binary formats, so a format
 * change shows as a reviewable diff, as rpmpack's tests do). `KHPKG_UPDATE_GOLDEN=1` writes the
 * file instead (a new golden, or a change meant to alter the format: read the diff). Without it a
 * missing golden fails, on every machine: a test that writes its own expectation proves nothing.
 */
export function assertGolden(name: string, actual: Buffer | string, as: 'hex' | 'text' = 'text'): void {
  const file = new URL(`${name}.golden`, DIR);
  const text = typeof actual === 'string' ? actual : as === 'hex' ? hexDump(actual) : actual.toString('utf8');
  if (process.env.KHPKG_UPDATE_GOLDEN === '1') {
    writeFileSync(file, text);
    return;
  }
  if (!existsSync(file)) assert.fail(`golden file test/formats/testdata/${name}.golden is missing (KHPKG_UPDATE_GOLDEN=1 writes it: then read it)`);
  assert.equal(text, readFileSync(file, 'utf8'), `${name}.golden differs (KHPKG_UPDATE_GOLDEN=1 rewrites it, for a change meant to alter the format)`);
}

/** 16 bytes a line, offset first: readable in a diff. */
export function hexDump(b: Buffer): string {
  let out = '';
  for (let at = 0; at < b.length; at += 16) {
    const row = b.subarray(at, at + 16);
    out += `${at.toString(16).padStart(6, '0')}  ${[...row]
      .map((x) => x.toString(16).padStart(2, '0'))
      .join(' ')
      .padEnd(47)}  ${[...row].map((x) => (x >= 0x20 && x < 0x7f ? String.fromCharCode(x) : '.')).join('')}\n`;
  }
  return out;
}
