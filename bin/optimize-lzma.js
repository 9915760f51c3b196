#!/usr/bin/env node
// lzma-native's shipped binary builds its bundled liblzma without -O2 (its configure call sets CFLAGS,
// which drops autoconf's default), so it compresses about 2x slower than the xz tool. Rebuild it once,
// optimised. Runs from package.json "postinstall"; a failure keeps the slower prebuilt binary.
import {spawnSync} from 'node:child_process';
import {existsSync} from 'node:fs';
import {createRequire} from 'node:module';
import {dirname, join} from 'node:path';

const require = createRequire(import.meta.url);
let dir;
try {
  dir = dirname(require.resolve('lzma-native/package.json'));
} catch {
  process.exit(0);
}
if (existsSync(join(dir, 'build', 'Release', 'lzma_native.node')) && !process.env.KHPKG_REBUILD_LZMA) process.exit(0);
const gyp = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
const args = existsSync(gyp) ? [gyp, 'rebuild', '--release'] : null;
if (!args) {
  console.error('khpkg: node-gyp not found; keeping the prebuilt (slower) lzma-native');
  process.exit(0);
}
const r = spawnSync(process.execPath, args, {cwd: dir, stdio: 'inherit', env: {...process.env, CFLAGS: '-O2'}});
if (r.status !== 0) console.error('khpkg: lzma-native -O2 rebuild failed; keeping the prebuilt (slower) binary');
