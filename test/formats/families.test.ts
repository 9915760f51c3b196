import assert from 'node:assert/strict';
import {existsSync, mkdirSync, readdirSync} from 'node:fs';
import {join} from 'node:path';
import {fileSource} from '../../src/archive/byte-source.js';
import {FORMAT_TABLE, FORMATS, formatOf, packageHead, type Format} from '../../src/formats/table.js';
import {treeDirFor} from '../../src/content/headers.js';
import {treeFromPackage} from '../../src/source/package.js';
import {REAL} from '../helpers/kheaders.js';
import {dpkgRoot, pacmanArgs, pacmanRoot, rpmRoot} from '../helpers/roots.js';
import {khpkg, mustRun, scratch} from '../helpers/run.js';
import {addedByKhpkg, treeDigest} from '../helpers/tree.js';

/** Each family's real package manager, asked who owns a path of the installed tree (dpkg -S, rpm -qf, pacman -Qo). */
const OWNER: Record<Format, (root: string, path: string) => string> = {
  deb: (root, path) => mustRun('dpkg', [`--root=${root}`, '-S', path]).split(':')[0]!,
  rpm: (root, path) => mustRun('rpm', ['--root', root, '-qf', '--qf', '%{NAME}\\n', path]).trim(),
  pacman: (root, path) => /is owned by (\S+) /.exec(mustRun('pacman', [...pacmanArgs(root), '-Qo', join(root, path)]))![1]!,
};
/** A root with each family's database, as its systems have one. */
const ROOT: Record<Format, (root: string) => void> = {deb: dpkgRoot, rpm: (r) => void rpmRoot(r), pacman: pacmanRoot};

/**
 * The conformance test of the format table: every family (formats/table.ts) is built from the real
 * archive, read back by khpkg's own reader (probe, summary, tree), installed by its real package
 * manager through `install --via`, and then owned, verified and removed as any set. A family that
 * is a folder and a row passes it, or the table is not true.
 */
describe('every package family: build, read back, install by its own package manager, owns, verify, remove (#37)', function () {
  this.timeout(600_000);
  const s = scratch();
  after(() => s.cleanup());
  let expected: Map<string, string>;
  before(() => {
    mkdirSync(join(s.dir, 'x'));
    mustRun('tar', ['-xJf', REAL.archive, '-C', join(s.dir, 'x')]);
    expected = treeDigest(join(s.dir, 'x'));
  });

  for (const format of FORMATS) {
    const row = FORMAT_TABLE[format];
    it(`${format}: built, told apart by its own probe, its tree read back equal to the archive; installed by ${row.manager.via}, who owns it; verify, remove`, async () => {
      const out = join(s.dir, `out-${format}`);
      const built = JSON.parse(
        mustRun(process.execPath, [
          new URL('../../bin/run.js', import.meta.url).pathname,
          'build',
          REAL.archive,
          '--config',
          REAL.config,
          '-f',
          format,
          '-z',
          'gzip',
          '-o',
          out,
          '--json',
        ]),
      ) as {
        packages: {path: string; format: string; name: string}[];
      };
      const pkg = built.packages[0]!;
      assert.equal(pkg.format, format);
      assert.equal(
        pkg.path.split('/').pop(),
        row.fileName(pkg.name, (built.packages[0] as unknown as {version: string}).version, (built.packages[0] as unknown as {arch: string}).arch, pkg.path),
        'its canonical file name',
      );
      const source = await fileSource(pkg.path);
      try {
        // The probe knows its own family and no other's.
        const found = await formatOf(await packageHead(source));
        assert.equal(found?.format, format);
        const summary = await row.summary(source);
        assert.equal(summary.name, pkg.name);
        assert.ok(
          summary.files.some((f) => f.endsWith('include/linux/sched.h')),
          'the summary lists its files',
        );
        const tree = await treeFromPackage(source, format);
        const back = join(s.dir, `back-${format}`);
        mkdirSync(back);
        mustRun('tar', ['-xf', '-', '-C', back], {input: tree.tar});
        assert.deepEqual(treeDigest(back, addedByKhpkg), expected, 'the tree read back is the archive');
      } finally {
        await source.close();
      }

      const root = join(s.dir, `root-${format}`);
      ROOT[format](root);
      const r = khpkg(['install', REAL.archive, '--config', REAL.config, '--root', root, '--via', row.manager.via, '--json']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).via, row.manager.via);
      const treeRel = treeDirFor(row.layout, REAL.release);
      assert.deepEqual(treeDigest(join(root, treeRel), addedByKhpkg), expected, 'the installed tree is the archive');
      assert.equal(OWNER[format](root, `/${treeRel}/include/linux/sched.h`), pkg.name, `${row.manager.via} owns the headers`);
      const owns = JSON.parse(khpkg(['owns', `/${treeRel}/include/linux/sched.h`, '--root', root, '--json']).stdout) as {release: string}[];
      assert.deepEqual(
        owns.map((o) => o.release),
        [REAL.release],
      );
      assert.equal(khpkg(['verify', REAL.release, '--root', root]).code, 0);
      assert.equal(khpkg(['doctor', '--root', root]).code, 0);
      // khpkg's own installer writes over nothing the package manager owns.
      const own = khpkg(['install', REAL.archive, '--root', root, '--layout', row.layout, '--force']);
      assert.equal(own.code, 1);
      assert.match(own.stderr, new RegExp(`are installed through ${row.manager.via}`));
      assert.equal(khpkg(['remove', REAL.release, '--root', root]).code, 0);
      assert.equal(existsSync(join(root, treeRel)), false, `${row.manager.via} took the tree out`);
      assert.deepEqual(JSON.parse(khpkg(['list', '--root', root, '--json']).stdout), []);
      if (format === 'pacman')
        assert.deepEqual(
          readdirSync(join(root, 'var/lib/pacman/local')).filter((d) => d.startsWith('linux-headers')),
          [],
        );
    });
  }
});
