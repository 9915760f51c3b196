import assert from 'node:assert/strict';
import {readFileSync} from 'node:fs';
import {join} from 'node:path';
import {parseSymvers} from '../../src/kbuild/symvers.js';
import {BUILD_REAL, REAL} from '../helpers/kheaders.js';
import {dkmsBuildArgs, kbuildTestInputs, writeHello} from '../helpers/module.js';
import {khpkg, mustRun, scratch, tool} from '../helpers/run.js';

/** `modprobe --dump-modversions`: the CRCs a module was built against, by symbol. */
function modversions(ko: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of mustRun('modprobe', ['--dump-modversions', ko]).split('\n')) {
    const [crc, symbol] = line.split('\t');
    if (crc && symbol) out.set(symbol, Number.parseInt(crc, 16));
  }
  return out;
}

describe("module-build tier (--kbuild): real modules from the kernel's own headers", function () {
  const s = scratch();
  after(() => s.cleanup());
  const inputs = kbuildTestInputs();

  it("Module.symvers rebuilt from a Debian kernel's modules has Debian's own CRCs and exporting modules", () => {
    const r = khpkg(['symvers', inputs.modules, '-o', join(s.dir, 'Module.symvers'), '--json']);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout) as {symbols: number; fromModules: number; fromVmlinux: number};
    const ours = parseSymvers(readFileSync(join(s.dir, 'Module.symvers'), 'utf8'));
    const debian = parseSymvers(readFileSync(inputs.debianSymvers, 'utf8'));
    assert.equal(ours.size, summary.symbols);
    assert.ok(summary.fromModules > 1000 && summary.fromVmlinux > 1000, JSON.stringify(summary));
    for (const [symbol, e] of ours) {
      const d = debian.get(symbol);
      assert.ok(d, `${symbol} is not in Debian's Module.symvers`);
      assert.equal(e.crc, d.crc, `CRC of ${symbol}`);
      assert.equal(e.module, d.module, `exporter of ${symbol}`);
      // A module's own export table also says GPL-only and namespace; vmlinux's are not in any module.
      if (e.module !== 'vmlinux') assert.deepEqual([e.gpl, e.namespace], [d.gpl, d.namespace], symbol);
    }
    assert.ok(ours.size / debian.size > 0.5, `covers ${ours.size} of ${debian.size}`);
  });

  describe('install --kbuild with --symvers-from', () => {
    const root = join(s.dir, 'root');
    const build = join(root, 'lib/modules', REAL.release, 'build');
    let result: {tier: string; kbuild: {sourceVersion: string; symversSymbols: number}};
    before(function () {
      this.timeout(600_000);
      mustRun('mkdir', ['-p', root]);
      const r = khpkg([
        'install',
        REAL.archive,
        '--config',
        REAL.config,
        '--root',
        root,
        '--kbuild',
        inputs.source,
        '--symvers-from',
        inputs.modules,
        '--json',
      ]);
      assert.equal(r.code, 0, r.stderr);
      result = JSON.parse(r.stdout);
    });

    it('records the tier, the source version and the symvers coverage', () => {
      assert.equal(result.tier, 'kbuild');
      assert.match(result.kbuild.sourceVersion, /^6\.12\.\d+$/);
      assert.ok(result.kbuild.symversSymbols > 5000);
      const info = JSON.parse(khpkg(['info', REAL.release, '--root', root, '--json']).stdout) as {tier: string; kbuild: {source: string}};
      assert.equal(info.tier, 'kbuild');
      assert.equal(info.kbuild.source, inputs.source);
      assert.equal(khpkg(['verify', REAL.release, '--root', root]).code, 0);
      // The same archive and config as a headers-only tree would throw the module build away: not without --force.
      const again = khpkg(['install', REAL.archive, '--config', REAL.config, '--root', root]);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /^khpkg: headers for .* are installed as a module-build tree: pass --force to replace it with a headers-only one\n$/);
    });

    it("make -C <root>/lib/modules/<rel>/build M=... builds a module with the kernel's vermagic and Debian's CRCs", () => {
      const hello = writeHello(join(s.dir, 'hello'));
      const r = tool('make', ['-C', build, `M=${hello}`, 'modules']);
      assert.equal(r.code, 0, r.stderr.slice(-3000));
      const ko = join(hello, 'hello.ko');
      assert.match(mustRun('modinfo', ['-F', 'vermagic', ko]), new RegExp(`^${REAL.release.replace(/[+.]/g, '\\$&')} SMP .*modversions`));
      const crcs = modversions(ko);
      const debian = parseSymvers(readFileSync(inputs.debianSymvers, 'utf8'));
      assert.ok(crcs.has('_printk') && crcs.has('module_layout'), [...crcs.keys()].join(' '));
      for (const [symbol, crc] of crcs) assert.equal(crc, debian.get(symbol)?.crc, `__versions CRC of ${symbol}`);
    });

    it('dkms build succeeds against the tree', () => {
      const dk = join(s.dir, 'dkms');
      writeHello(join(dk, 'src'), {dkms: true});
      const r = tool('dkms', dkmsBuildArgs(dk, REAL.release, build));
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const ko = join(dk, 'dkms/hello/1.0', REAL.release, 'x86_64/module/hello.ko');
      assert.ok(mustRun('modinfo', ['-F', 'vermagic', ko]).startsWith(`${REAL.release} `));
    });
  });

  it('build --kbuild without modules: the package builds modules, and says they lack CRCs', function () {
    this.timeout(600_000);
    const out = join(s.dir, 'pkgs');
    const r = khpkg([...BUILD_REAL, '-f', 'deb', '-z', 'zstd', '-o', out, '--kbuild', inputs.source, '--root', join(s.dir, 'no-modules'), '--json']);
    assert.equal(r.code, 0, r.stderr);
    const deb = (JSON.parse(r.stdout).packages as {path: string}[])[0]!.path;
    const listing = mustRun('dpkg-deb', ['-c', deb]);
    for (const f of ['scripts/basic/fixdep', 'scripts/mod/modpost', 'scripts/module.lds', 'tools/objtool/objtool', 'Makefile.kernel'])
      assert.match(listing, new RegExp(`/linux-headers-[^/]+/${f}\\n`), f);
    assert.doesNotMatch(listing, /\.o\n|\/\.[^/]+\.cmd\n|Module\.symvers/);
    const root = join(s.dir, 'dpkg-root');
    for (const d of ['info', 'updates', 'triggers']) mustRun('mkdir', ['-p', join(root, 'var/lib/dpkg', d)]);
    mustRun('touch', [join(root, 'var/lib/dpkg/status'), join(root, 'var/lib/dpkg/available')]);
    mustRun('dpkg', [`--root=${root}`, '--force-script-chrootless', '-i', deb]);
    const hello = writeHello(join(s.dir, 'hello-nosymvers'));
    const make = tool('make', ['-C', join(root, 'usr/src', `linux-headers-${REAL.release}`), `M=${hello}`, 'modules']);
    assert.equal(make.code, 0, make.stderr.slice(-3000));
    assert.match(make.stderr, /khpkg: no Module\.symvers in this tree: modules built here lack symbol CRCs/);
    assert.equal(modversions(join(hello, 'hello.ko')).size, 0);
  });
});
