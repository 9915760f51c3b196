import assert from 'node:assert/strict';
import {contentDigest, manifestLine} from '../../src/archive/scan.js';
import {PlanBuilder, timeBounds} from '../../src/content/plan.js';

const scanned = (path: string, type: 'file' | 'dir' | 'symlink', mtime: number, size = 0) => ({
  path,
  type,
  mode: 0o600,
  mtime,
  size,
  ...(type === 'symlink' ? {linkTarget: 'x.h'} : {}),
});

describe('PlanBuilder: the package content model, in the order it is written', () => {
  it('opens the tree with its parents (shared ones marked), then archive entries with normalised modes', () => {
    const plan = new PlanBuilder('usr/src/linux-headers-r', {}, new Set(['usr', 'usr/src'])).openTree(400000000);
    plan.addArchiveEntry(scanned('include', 'dir', 400000001)).addArchiveEntry(scanned('include/a.h', 'file', 400000002, 3));
    const first = plan.take();
    assert.deepEqual(
      first.map((e) => [e.path, e.type, e.mode.toString(8), Boolean(e.shared)]),
      [
        ['usr', 'dir', '755', true],
        ['usr/src', 'dir', '755', true],
        ['usr/src/linux-headers-r', 'dir', '755', false],
        ['usr/src/linux-headers-r/include', 'dir', '755', false],
        ['usr/src/linux-headers-r/include/a.h', 'file', '644', false],
      ],
    );
    assert.deepEqual(plan.take(), [], 'take() hands out each entry once');
  });

  it('extras come after the timestamp is set, with their parents; twice the same path is a bug', () => {
    const plan = new PlanBuilder('t', {}, new Set()).openTree(400000000);
    assert.throws(() => plan.addExtra({path: '.config', data: Buffer.from('x')}), /timestamp is set after the archive was read/);
    plan.setTimestamp(500000000).addExtra({path: 'include/config/auto.conf', data: Buffer.from('CONFIG_X=y\n')});
    plan.addExtra({path: 'lib/modules/r/build', linkTarget: '/t', absolute: true});
    const paths = plan.take().map((e) => `${e.path}:${e.type}:${e.mtime}`);
    assert.deepEqual(paths, [
      't:dir:400000000',
      't/include:dir:500000000',
      't/include/config:dir:500000000',
      't/include/config/auto.conf:file:500000000',
      'lib:dir:500000000',
      'lib/modules:dir:500000000',
      'lib/modules/r:dir:500000000',
      'lib/modules/r/build:symlink:500000000',
    ]);
    assert.throws(() => plan.addExtra({path: 'include/config/auto.conf', data: Buffer.from('')}), /in the package twice/);
    assert.equal(plan.build().entries.length, 8);
  });

  it('SOURCE_DATE_EPOCH clamps every mtime, and nothing is older than 1980', () => {
    const plan = new PlanBuilder('t', timeBounds({SOURCE_DATE_EPOCH: '400000000'}), new Set()).openTree(10);
    plan.addArchiveEntry(scanned('late.h', 'file', 900000000, 1));
    assert.deepEqual(
      plan.take().map((e) => e.mtime),
      [315532800, 400000000],
    );
    assert.throws(() => timeBounds({SOURCE_DATE_EPOCH: 'yesterday'}), /not a number of seconds/);
  });
});

describe('content identity', () => {
  it('is the same for the same entries in any order, and changes with a byte, a type or a link target', () => {
    const lines = [manifestLine('dir', 'include', undefined), manifestLine('file', 'include/a.h', 'aa'), manifestLine('symlink', 'include/b.h', 'a.h')];
    const id = contentDigest(lines);
    assert.equal(contentDigest([...lines].reverse()), id);
    assert.notEqual(contentDigest([lines[0]!, manifestLine('file', 'include/a.h', 'ab'), lines[2]!]), id);
    assert.notEqual(contentDigest([lines[0]!, lines[1]!, manifestLine('symlink', 'include/b.h', 'c.h')]), id);
    assert.notEqual(contentDigest([lines[0]!, lines[1]!, manifestLine('file', 'include/b.h', 'a.h')]), id);
  });
});
