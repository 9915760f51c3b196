import assert from 'node:assert/strict';
import {mkdirSync, mkdtempSync, rmSync, symlinkSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {ensureDirInRoot, isWithin} from '../../src/root/paths.js';
import {KhpkgError} from '../../src/errors.js';

describe('paths inside a root', () => {
  it('every real path is inside /: a merged-/usr host (lib -> usr/lib) is its own root', () => {
    assert.ok(isWithin('/', '/usr/lib'));
    assert.ok(isWithin('/srv/r', '/srv/r'));
    assert.ok(isWithin('/srv/r', '/srv/r/usr/lib'));
    assert.ok(!isWithin('/srv/r', '/srv/root2/usr'));
    assert.ok(!isWithin('/srv/r', '/usr/lib'));
  });

  it("follows a root's own lib -> usr/lib, refuses a link that leads out", () => {
    const root = mkdtempSync(join(tmpdir(), 'khpkg-paths-'));
    try {
      mkdirSync(join(root, 'usr/lib'), {recursive: true});
      symlinkSync('usr/lib', join(root, 'lib'));
      assert.equal(ensureDirInRoot(root, 'lib/modules/x'), join(root, 'lib/modules/x'));
      symlinkSync(tmpdir(), join(root, 'out'));
      assert.throws(
        () => ensureDirInRoot(root, 'out/x'),
        (e: unknown) => e instanceof KhpkgError && /symlink out of the root/.test(e.message),
      );
    } finally {
      rmSync(root, {recursive: true, force: true});
    }
  });
});
