import assert from 'node:assert/strict';
import {existsSync, mkdirSync, readdirSync} from 'node:fs';
import {join} from 'node:path';
import {fileSource} from '../../src/archive/byte-source.js';
import {FORMAT_TABLE, FORMATS, formatOf, packageHead, type Format} from '../../src/formats/table.js';
import {treeDirFor} from '../../src/content/headers.js';
import {treeFromPackage} from '../../src/source/package.js';
import {REAL} from '../helpers/kheaders.js';
import {dpkgRoot, immutableRoot, pacmanArgs, pacmanRoot, rpmRoot} from '../helpers/roots.js';
import {khpkg, mustRun, scratch} from '../helpers/run.js';
import {addedByKhpkg, treeDigest} from '../helpers/tree.js';

/** A root as each family's systems have one, and how a test reaches into it (a namespace, for an extension's merged /usr). */
interface FamilyRoot {
  wrap?: string[];
  view: (path: string) => string;
  /** What systemd-sysext merged on the root's /usr (an extension's root only). */
  merged?: (root: string) => string[];
  close: () => void;
}
const plain =
  (make: (root: string) => unknown) =>
  (root: string): FamilyRoot => (make(root), {view: (p) => p, close: () => undefined});
const ROOT: Record<Format, (root: string) => FamilyRoot> = {
  deb: plain(dpkgRoot),
  rpm: plain(rpmRoot),
  pacman: plain(pacmanRoot),
  // Flatcar: /usr read-only, extensions merged by the real systemd-sysext in a private mount namespace.
  sysext: (root) => immutableRoot(root),
};

/** Each family's real package manager, asked who owns a path of the installed tree (dpkg -S, rpm -qf, pacman -Qo, systemd-sysext status). */
const OWNER: Record<Format, (root: string, path: string, r: FamilyRoot) => string> = {
  deb: (root, path) => mustRun('dpkg', [`--root=${root}`, '-S', path]).split(':')[0]!,
  rpm: (root, path) => mustRun('rpm', ['--root', root, '-qf', '--qf', '%{NAME}\\n', path]).trim(),
  pacman: (root, path) => /is owned by (\S+) /.exec(mustRun('pacman', [...pacmanArgs(root), '-Qo', join(root, path)]))![1]!,
  sysext: (root, path, r) => {
    assert.ok(existsSync(r.view(join(root, path))), `${path} is in the merged /usr`);
    return r.merged!(root).join('\n');
  },
};

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
          // gzip where the family compresses (what every dpkg and rpm reads); an erofs image is never compressed.
          ...(row.defaultCompression === 'none' ? [] : ['-z', 'gzip']),
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
      const fr = ROOT[format](root);
      try {
        const run = (args: string[]) => khpkg(args, {wrap: fr.wrap});
        const r = run(['install', REAL.archive, '--config', REAL.config, '--root', root, '--via', row.manager.via, '--json']);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(JSON.parse(r.stdout).via, row.manager.via);
        const treeRel = treeDirFor(row.layout, REAL.release);
        assert.deepEqual(treeDigest(fr.view(join(root, treeRel)), addedByKhpkg), expected, 'the installed tree is the archive');
        assert.equal(OWNER[format](root, `/${treeRel}/include/linux/sched.h`, fr), pkg.name, `${row.manager.via} owns the headers`);
        const owns = JSON.parse(run(['owns', `/${treeRel}/include/linux/sched.h`, '--root', root, '--json']).stdout) as {release: string}[];
        assert.deepEqual(
          owns.map((o) => o.release),
          [REAL.release],
        );
        assert.equal(run(['verify', REAL.release, '--root', root]).code, 0);
        assert.equal(run(['doctor', '--root', root]).code, 0);
        if (row.manager.onlyWayIn === undefined) {
          // khpkg's own installer writes over nothing the package manager owns.
          const own = run(['install', REAL.archive, '--root', root, '--layout', row.layout, '--force']);
          assert.equal(own.code, 1);
          assert.match(own.stderr, new RegExp(`are installed through ${row.manager.via}`));
        } else {
          // Where this family is the only way in (a read-only /usr), khpkg's own installer is it, and says so.
          const own = run(['install', REAL.archive, '--config', REAL.config, '--root', root]);
          assert.equal(own.code, 0, own.stderr);
          assert.match(own.stdout, new RegExp(`^note: .*read-only.*\\n.*already installed, nothing to do`, 'm'));
        }
        assert.equal(run(['remove', REAL.release, '--root', root]).code, 0);
        assert.equal(existsSync(fr.view(join(root, treeRel))), false, `${row.manager.via} took the tree out`);
        assert.deepEqual(JSON.parse(run(['list', '--root', root, '--json']).stdout), []);
        if (format === 'pacman')
          assert.deepEqual(
            readdirSync(join(root, 'var/lib/pacman/local')).filter((d) => d.startsWith('linux-headers')),
            [],
          );
        if (format === 'sysext') assert.deepEqual(readdirSync(join(root, 'var/lib/extensions')), [], 'no extension is left');
      } finally {
        fr.close();
      }
    });
  }
});
