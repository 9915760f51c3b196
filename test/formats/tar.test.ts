import assert from 'node:assert/strict';
import {writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {TAR_END, tarHeader, tarPadding} from '../../src/formats/tar.js';
import {mustRun, scratch} from '../helpers/run.js';

describe('tar writer (data and control archives)', () => {
  it('GNU tar reads ustar names, split prefixes, pax long names and long link targets', () => {
    const s = scratch();
    try {
      const long = `usr/src/${'d'.repeat(120)}/${'f'.repeat(90)}.h`;
      const veryLong = `usr/${'x'.repeat(300)}.h`;
      const target = `../${'t'.repeat(150)}.h`;
      const data = Buffer.from('hello\n');
      const parts = [
        tarHeader({path: '', type: 'dir', mode: 0o755, mtime: 1700000000, size: 0}),
        tarHeader({path: 'usr', type: 'dir', mode: 0o755, mtime: 1700000000, size: 0}),
        tarHeader({path: long, type: 'file', mode: 0o644, mtime: 1700000000, size: data.length}),
        data,
        tarPadding(data.length),
        tarHeader({path: veryLong, type: 'file', mode: 0o644, mtime: 1700000000, size: 0}),
        tarHeader({path: 'usr/link', type: 'symlink', mode: 0o777, mtime: 1700000000, size: 0, linkTarget: target}),
        TAR_END,
      ];
      const file = join(s.dir, 't.tar');
      writeFileSync(file, Buffer.concat(parts));
      const list = mustRun('tar', ['-tvf', file, '--numeric-owner']).trim().split('\n');
      assert.equal(list.length, 5);
      assert.match(list[2]!, new RegExp(`^-rw-r--r-- 0/0 +6 2023-11-14 \\d\\d:13 \\./${long}$`));
      assert.ok(list[3]!.endsWith(`./${veryLong}`));
      assert.ok(list[4]!.endsWith(`./usr/link -> ${target}`));
    } finally {
      s.cleanup();
    }
  });
});
