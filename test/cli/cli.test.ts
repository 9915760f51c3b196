import assert from 'node:assert/strict';
import {existsSync, mkdirSync, readFileSync} from 'node:fs';
import {join} from 'node:path';
import {REAL} from '../helpers/kheaders.js';
import {khpkg, mustRun, scratch} from '../helpers/run.js';

const REL = REAL.release;
const MAN = new URL('../../dist/man/khpkg.1', import.meta.url).pathname;

describe('a command line like apt, dnf and every oclif tool', function () {
  this.timeout(120_000);
  const s = scratch();
  after(() => s.cleanup());

  it('help, help COMMAND, -h and COMMAND -h print usage and exit 0', () => {
    for (const args of [['help'], ['help', 'install'], ['-h'], ['install', '-h'], ['hooks', 'enable', '-h']]) {
      const r = khpkg(args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stdout, /USAGE/, args.join(' '));
    }
    assert.match(khpkg(['help', 'install']).stdout, /\$ khpkg install \[SOURCE\.\.\.\]/, "install takes one kernel's packages together");
  });

  it('a mistyped command gets the closest one, in one line, exit 2', () => {
    const r = khpkg(['instal', 'foo']);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, "khpkg: 'instal foo' is not a khpkg command. Did you mean 'khpkg install'? ('khpkg help' lists them)\n");
    assert.match(khpkg(['hooks', 'enabel']).stderr, /Did you mean 'khpkg hooks enable'\?/);
  });

  it('a missing argument is named, with the usage line', () => {
    const r = khpkg(['info']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^khpkg: usage: Missing 1 required arg:\s*release/);
    assert.match(r.stderr, /khpkg info RELEASE/);
  });

  it('bash and zsh completion scripts are generated', () => {
    const cache = join(s.dir, 'cache');
    const r = khpkg(['autocomplete', '--refresh-cache'], {env: {XDG_CACHE_HOME: cache}});
    assert.equal(r.code, 0, r.stderr);
    const bash = join(cache, 'khpkg/autocomplete/functions/bash/khpkg.bash');
    assert.match(readFileSync(bash, 'utf8'), /install/);
    mustRun('bash', ['-n', bash]);
    assert.ok(existsSync(join(cache, 'khpkg/autocomplete/functions/zsh/_khpkg')));
  });

  it('the completions khpkg ships (packaging/completions) are what oclif makes of today’s commands, and bash completes with them', () => {
    const made = join(s.dir, 'completions');
    mustRun(process.execPath, [new URL('../../bin/make-completions.js', import.meta.url).pathname, made]);
    // The plugin orders its commands differently from run to run: the same lines are the same completions.
    const lines = (f: string): string[] => readFileSync(f, 'utf8').split('\n').sort();
    for (const f of ['khpkg.bash', '_khpkg']) {
      assert.deepEqual(
        lines(join(made, f)),
        lines(new URL(`../../packaging/completions/${f}`, import.meta.url).pathname),
        `${f} is stale: run node bin/make-completions.js`,
      );
    }
    const script = new URL('../../packaging/completions/khpkg.bash', import.meta.url).pathname;
    const out = mustRun('bash', ['-c', `. ${script}; COMP_WORDS=(khpkg hooks ""); COMP_CWORD=2; _khpkg_autocomplete; echo "\${COMPREPLY[@]}"`]);
    assert.equal(out.trim(), 'disable enable status');
  });

  it('the man page exists after the build and man -l renders it', () => {
    assert.ok(existsSync(MAN), 'npm run build writes dist/man/khpkg.1');
    const page = mustRun('man', ['-l', MAN], {env: {MANWIDTH: '100', PAGER: 'cat'}});
    for (const cmd of ['khpkg install', 'khpkg owns', 'khpkg hooks enable', 'EXIT STATUS']) assert.match(page, new RegExp(cmd), cmd);
  });

  describe('owns, remove, verify and list on an installed set', () => {
    const root = join(s.dir, 'root');
    before(() => {
      mkdirSync(root);
      assert.equal(khpkg(['install', REAL.archive, '--root', root, '-q']).code, 0);
    });
    const tree = (): string => join(root, `usr/src/linux-headers-${REL}`);

    it('owns takes a path relative to the working directory', () => {
      const r = khpkg(['owns', 'sched.h', '--root', root, '--json'], {cwd: join(tree(), 'include/linux')});
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(
        JSON.parse(r.stdout).map((o: {rel: string}) => o.rel),
        [`usr/src/linux-headers-${REL}/include/linux/sched.h`],
      );
    });

    it('owns follows the links in /lib/modules/<release> (the paths compiler errors show)', () => {
      const r = khpkg(['owns', `/lib/modules/${REL}/source/include/linux/sched.h`, '--root', root]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `${REL}: ${join(tree(), 'include/linux/sched.h')}\n`);
      const viaHostPath = khpkg(['owns', join(root, `lib/modules/${REL}/source/include/linux/kconfig.h`), '--root', root]);
      assert.equal(viaHostPath.code, 0, viaHostPath.stderr);
      const viaBuild = khpkg(['owns', `/lib/modules/${REL}/build/arch/x86/include/generated/asm/orc_hash.h`, '--root', root]);
      assert.equal(viaBuild.stdout, `${REL}: ${join(tree(), 'arch/x86/include/generated/asm/orc_hash.h')}\n`, viaBuild.stderr);
    });

    it('owns takes shell patterns like dpkg -S, and exits 1 only when nothing matches', () => {
      const r = khpkg(['owns', '*/linux/sched.h', '--root', root, '--json']);
      assert.equal(r.code, 0, r.stderr);
      // `*` crosses `/`, as in dpkg -S: the uapi header matches too.
      assert.deepEqual(
        JSON.parse(r.stdout).map((o: {rel: string}) => o.rel),
        [`usr/src/linux-headers-${REL}/include/linux/sched.h`, `usr/src/linux-headers-${REL}/include/uapi/linux/sched.h`],
      );
      const many = JSON.parse(khpkg(['owns', '*/include/linux/sched*.h', '--root', root, '--json']).stdout) as unknown[];
      assert.ok(many.length > 3, 'a pattern can match many');
      const none = khpkg(['owns', '*/no-such-header.h', '--root', root]);
      assert.equal(none.code, 1);
      assert.equal(none.stderr, 'khpkg: */no-such-header.h belongs to no installed header set\n');
    });

    it('list PATTERN, verify of several releases, and paths where the files really are', () => {
      const all = JSON.parse(khpkg(['list', '--root', root, '--json']).stdout);
      assert.equal(all[0].path, tree());
      assert.equal(all[0].rel, `usr/src/linux-headers-${REL}`);
      assert.deepEqual(JSON.parse(khpkg(['list', '6.12.*', '--root', root, '--json']).stdout).length, 1);
      assert.deepEqual(JSON.parse(khpkg(['list', '5.*', '--root', root, '--json']).stdout), []);
      const info = JSON.parse(khpkg(['info', REL, '--root', root, '--json']).stdout);
      assert.equal(info.path, tree());
      const absent = khpkg(['verify', REL, '6.1.0-absent', '--root', root]);
      assert.equal(absent.code, 1);
      assert.match(absent.stderr, /headers for 6\.1\.0-absent are not installed/);
      assert.equal(khpkg(['verify', REL, '--root', root]).code, 0);
    });

    it('remove --dry-run says what would go; remove of absent releases warns and exits 0; several at once', () => {
      const dry = JSON.parse(khpkg(['remove', REL, '--dry-run', '--root', root, '--json']).stdout);
      assert.equal(dry[0].status, 'would-remove');
      assert.ok(existsSync(tree()), 'a dry run removes nothing');
      const r = khpkg(['remove', '6.1.0-absent', REL, '6.1.0-gone', '--root', root, '--json']);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(
        JSON.parse(r.stdout).map((x: {release: string; status: string}) => [x.release, x.status]),
        [
          ['6.1.0-absent', 'not-installed'],
          [REL, 'removed'],
          ['6.1.0-gone', 'not-installed'],
        ],
      );
      assert.equal(
        r.stderr,
        'khpkg: warning: headers for 6.1.0-absent are not installed; nothing to remove\nkhpkg: warning: headers for 6.1.0-gone are not installed; nothing to remove\n',
      );
      assert.equal(existsSync(tree()), false);
      const again = khpkg(['remove', REL, '--root', root]);
      assert.equal(again.code, 0, 'removing what is gone is idempotent');
    });
  });

  it('build --json is always one object: {packages, repo?}', () => {
    const r = khpkg(['build', REAL.archive, '-z', 'zstd', '-o', join(s.dir, 'pk'), '--json']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.deepEqual(Object.keys(j), ['packages']);
    assert.equal(j.packages[0].format, 'deb');
  });
});
