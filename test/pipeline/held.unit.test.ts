import assert from 'node:assert/strict';
import {HeldEntries} from '../../src/pipeline/held.js';

const entry = (path: string, type: 'file' | 'dir', size = 0) => ({path, type, mode: 0o644, mtime: 0, size});

describe('HeldEntries: what is read before the release is known', () => {
  it('gives back every entry in order with its exact content, once', () => {
    const held = new HeldEntries();
    try {
      const a = Buffer.from('#define A 1\n');
      const big = Buffer.alloc(300_000, 7);
      held.add(entry('include', 'dir'), undefined);
      held.add(entry('include/a.h', 'file', a.length), a);
      a.fill(0); // the caller reuses its buffers: what is held must not change with them
      held.add(entry('include/big.h', 'file', big.length), big);
      const out = [...held.drain()];
      assert.deepEqual(
        out.map((o) => o.entry.path),
        ['include', 'include/a.h', 'include/big.h'],
      );
      assert.equal(out[0]!.data, undefined);
      assert.equal(out[1]!.data!.toString(), '#define A 1\n');
      assert.ok(out[2]!.data!.equals(Buffer.alloc(300_000, 7)));
      assert.deepEqual([...held.drain()], [], 'drained entries are forgotten');
    } finally {
      held.close();
    }
  });
});
