import assert from 'node:assert/strict';
import {randomBytes} from 'node:crypto';
import {existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {FileWriter} from '../../src/install/file-writer.js';
import {scratch} from '../helpers/run.js';

describe('FileWriter: file creation on its own thread', () => {
  const s = scratch();
  after(() => s.cleanup());

  it('writes every byte in order, across many batches, with files larger than a batch sent alone', async () => {
    const dir = join(s.dir, 'many');
    mkdirSync(dir);
    const w = new FileWriter();
    const files = new Map<string, Buffer>();
    await w.mkdir(join(dir, 'd'), 0o755);
    // Sizes straddle the 256 KiB batch: many small files fill batches, the big ones go alone,
    // and a view into a larger buffer must give only its own bytes.
    const sizes = [0, 1, 4095, 100_000, 262_144, 262_145, 700_000, ...Array.from({length: 600}, (_, i) => (i * 997) % 9000)];
    for (const [i, size] of sizes.entries()) {
      const backing = randomBytes(size + 64);
      const data = backing.subarray(32, 32 + size);
      const path = join(dir, 'd', `f${i}.h`);
      files.set(path, Buffer.from(data));
      await w.writeFile(path, data, 0o644);
    }
    await w.symlink('d/f1.h', join(dir, 'link'));
    await w.done();
    for (const [path, data] of files) assert.ok(readFileSync(path).equals(data), path);
    assert.equal(lstatSync(join(dir, 'd/f3.h')).mode & 0o777, 0o644);
    assert.equal(readlinkSync(join(dir, 'link')), 'd/f1.h');
  });

  it('reports the first failure with its code and path, and writes nothing after it', async () => {
    const dir = join(s.dir, 'fails');
    mkdirSync(dir);
    writeFileSync(join(dir, 'taken.h'), 'planted');
    const w = new FileWriter();
    await w.writeFile(join(dir, 'before.h'), Buffer.from('a'), 0o644);
    await w.writeFile(join(dir, 'taken.h'), Buffer.from('b'), 0o644);
    await w.writeFile(join(dir, 'after.h'), Buffer.from('c'), 0o644);
    await assert.rejects(w.done(), (e: NodeJS.ErrnoException) => e.code === 'EEXIST' && e.path === join(dir, 'taken.h'));
    assert.equal(readFileSync(join(dir, 'taken.h'), 'utf8'), 'planted', "'wx' never replaces what is there");
    assert.equal(existsSync(join(dir, 'before.h')), true);
    assert.equal(existsSync(join(dir, 'after.h')), false);
  });
});
