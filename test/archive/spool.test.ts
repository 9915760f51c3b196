import assert from 'node:assert/strict';
import {mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {DEFAULT_LIMITS} from '../../src/archive/limits.js';
import {readTree} from '../../src/archive/reader.js';
import {scanArchive} from '../../src/archive/scan.js';
import {TarSpool} from '../../src/archive/spool.js';
import {decompressAll} from '../../src/archive/compression.js';
import {kheadersArchive, REAL} from '../helpers/kheaders.js';
import {khpkg, scratch} from '../helpers/run.js';

async function collect(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

async function entries(input: Parameters<typeof readTree>[0]): Promise<string[]> {
  const out: string[] = [];
  for await (const {entry, data} of readTree(input, DEFAULT_LIMITS)) out.push(`${entry.type} ${entry.path} ${entry.size} ${data?.toString('base64') ?? ''}`);
  return out;
}

describe('the tar kept between passes (TarSpool)', () => {
  it('leaves no name in its directory, and gives back exactly what was written', async () => {
    const s = scratch();
    try {
      const spool = TarSpool.create(s.dir)!;
      assert.ok(spool);
      assert.deepEqual(readdirSync(s.dir), [], 'unlinked at once');
      const written = Buffer.alloc(3 * 1024 * 1024 + 17);
      for (let i = 0; i < written.length; i++) written[i] = (i * 7919) & 0xff;
      spool.write(written.subarray(0, 1000));
      spool.write(written.subarray(1000));
      assert.ok(spool.usable);
      assert.ok((await collect(spool.chunks())).equals(written));
      spool.close();
    } finally {
      s.cleanup();
    }
  });

  it('is simply absent where no temp file can be made (the second pass then decompresses again)', () => {
    const s = scratch();
    try {
      assert.equal(TarSpool.create(join(s.dir, 'missing')), undefined);
    } finally {
      s.cleanup();
    }
  });

  it('scanArchive keeps the decompressed tar, and reading it gives the same entries as the archive', async () => {
    const bytes = await kheadersArchive();
    const scan = await scanArchive(bytes, DEFAULT_LIMITS, undefined, undefined, {keepTar: true});
    try {
      assert.ok(scan.tar, 'a spool was kept');
      assert.ok((await collect(scan.tar.chunks())).equals(await decompressAll(bytes, 1 << 30)));
      assert.deepEqual(await entries(scan.tar), await entries(bytes));
    } finally {
      scan.tar?.close();
    }
    const plain = await scanArchive(bytes, DEFAULT_LIMITS);
    assert.equal(plain.tar, undefined, 'only kept when asked for');
  });

  it('on the bundled real archive, the kept tar is the whole 6.12 tar', async () => {
    const bytes = readFileSync(REAL.archive);
    const scan = await scanArchive(bytes, DEFAULT_LIMITS, undefined, undefined, {keepTar: true});
    try {
      const tar = await collect(scan.tar!.chunks());
      assert.equal(tar.length, 34344960, 'xz -l gives 34,344,960 bytes');
      assert.equal((await entries(scan.tar!)).length, scan.entries.length);
    } finally {
      scan.tar?.close();
    }
  });

  it('build and install leave nothing in TMPDIR, after success and after a bad archive', async () => {
    const s = scratch();
    try {
      const tmp = join(s.dir, 'tmp');
      mkdirSync(tmp);
      const env = {TMPDIR: tmp};
      assert.equal(khpkg(['build', REAL.archive, '-f', 'deb', '-z', 'zstd', '-o', join(s.dir, 'out'), '-q'], {env}).code, 0);
      mkdirSync(join(s.dir, 'root'));
      assert.equal(khpkg(['install', REAL.archive, '--root', join(s.dir, 'root'), '-q'], {env}).code, 0);
      const cut = readFileSync(REAL.archive).subarray(0, 2_000_000);
      writeFileSync(join(s.dir, 'cut.tar.xz'), cut);
      const bad = khpkg(['build', join(s.dir, 'cut.tar.xz'), '-o', join(s.dir, 'out2'), '-q'], {env});
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /cut short/);
      assert.deepEqual(readdirSync(tmp), []);
    } finally {
      s.cleanup();
    }
  });
});
