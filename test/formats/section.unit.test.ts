import assert from 'node:assert/strict';
import {open, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {Transform, type TransformCallback} from 'node:stream';
import {CompressedSection} from '../../src/formats/output.js';

/** A "compressor" that passes bytes through, but only takes a chunk when the test lets it. */
class HeldCompressor extends Transform {
  private readonly waiting: (() => void)[] = [];
  held = true;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    const go = (): void => cb(null, Buffer.from(chunk));
    if (this.held) this.waiting.push(go);
    else go();
  }
  release(): void {
    this.held = false;
    for (const go of this.waiting.splice(0)) go();
  }
}

describe('CompressedSection: backpressure between the archive reader and a compressor', () => {
  it('a write waits while more than maxQueued bytes are queued, and goes on once the compressor takes them', async () => {
    const file = join(tmpdir(), `khpkg-section-${process.pid}`);
    const fh = await open(file, 'w+');
    try {
      const compressor = new HeldCompressor({highWaterMark: 1});
      const section = new CompressedSection(compressor, fh, 0, {maxQueued: 1 << 20, digest: true});
      let finished = false;
      const writing = section.write(Buffer.alloc(3 << 20, 1)).then(() => (finished = true));
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(finished, false, 'the reader is held back while the compressor takes nothing');
      compressor.release();
      await writing;
      assert.equal(finished, true);
      const {size, sha256} = await section.end();
      assert.equal(size, 3 << 20, 'every byte reached the file, once');
      assert.match(sha256!, /^[0-9a-f]{64}$/);
    } finally {
      await fh.close();
      await rm(file, {force: true});
    }
  });

  it('a compressor failure reaches the writer instead of hanging it', async () => {
    const file = join(tmpdir(), `khpkg-section-fail-${process.pid}`);
    const fh = await open(file, 'w+');
    try {
      const failing = new Transform({transform: (_c, _e, cb) => cb(new Error('disk on fire'))});
      const section = new CompressedSection(failing, fh, 0, {maxQueued: 1 << 20});
      await assert.rejects(async () => {
        await section.write(Buffer.alloc(4 << 20));
        await section.end();
      }, /disk on fire/);
    } finally {
      await fh.close();
      await rm(file, {force: true});
    }
  });
});
