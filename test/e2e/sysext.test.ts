import assert from 'node:assert/strict';
import {chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {bpfFlags} from '../helpers/bpf.js';
import {CACHE} from '../helpers/debian-root.js';
import {BUILD_REAL, REAL, REAL72} from '../helpers/kheaders.js';
import {kbuildTestInputs, writeHello} from '../helpers/module.js';
import {immutableRoot, type NamespacedRoot} from '../helpers/roots.js';
import {BIN, buildJson, khpkg, mustRun, needInput, scratch, TEST_ROOT, tool} from '../helpers/run.js';
import {addedByKhpkg, treeDigest} from '../helpers/tree.js';

const ENTRYPOINT = new URL('../../packaging/kubernetes/entrypoint.sh', import.meta.url).pathname;
const TRANSFER = new URL('../../packaging/sysupdate/linux-headers.conf', import.meta.url).pathname;
const REL = REAL.release;
const NAME = `linux-headers-${REL}`;
const TREE = `usr/src/${NAME}`;

/** Every path under `dir`, relative, sorted (dirs with a trailing `/`). */
function listing(dir: string, rel = ''): string[] {
  return readdirSync(join(dir, rel), {withFileTypes: true})
    .flatMap((e) => {
      const p = rel ? `${rel}/${e.name}` : e.name;
      return e.isDirectory() && !e.isSymbolicLink() ? [`${p}/`, ...listing(dir, p)] : [p];
    })
    .sort();
}

describe('system extensions: the headers on an immutable /usr (Flatcar), merged by the real systemd-sysext (#36)', function () {
  this.timeout(900_000);
  const s = scratch();
  let expected: Map<string, string>;
  const roots: NamespacedRoot[] = [];
  const flatcar = (name: string, os?: Parameters<typeof immutableRoot>[2]): {root: string; ns: NamespacedRoot} => {
    const root = join(s.dir, name);
    const ns = immutableRoot(root, REL, os);
    roots.push(ns);
    return {root, ns};
  };
  before(() => {
    mkdirSync(join(s.dir, 'x'));
    mustRun('tar', ['-xJf', REAL.archive, '-C', join(s.dir, 'x')]);
    expected = treeDigest(join(s.dir, 'x'));
  });
  after(() => {
    for (const ns of roots) ns.close();
    s.cleanup();
  });

  it('build -f sysext: an erofs image fsck.erofs accepts, holding exactly the set (the tree, its links, extension-release), the same twice; the kernel mounts it', () => {
    const os = join(s.dir, 'os-release');
    writeFileSync(os, 'NAME="Flatcar Container Linux by Kinvolk"\nID=flatcar\nVERSION_ID=4081.2.0\nSYSEXT_LEVEL=1.0\n');
    const [a] = buildJson([...BUILD_REAL.slice(1), '-f', 'sysext', '--os-release', os, '-o', join(s.dir, 'a')]);
    const [b] = buildJson([...BUILD_REAL.slice(1), '-f', 'sysext', '--os-release', os, '-o', join(s.dir, 'b')]);
    assert.equal(a!.path.split('/').pop(), `${NAME}.raw`);
    assert.ok(readFileSync(a!.path).equals(readFileSync(b!.path)), 'two builds are the same bytes');
    assert.match(mustRun('fsck.erofs', [a!.path]), /No errors found|^$/);
    const out = join(s.dir, 'extracted');
    mustRun('fsck.erofs', [`--extract=${out}`, a!.path]);
    assert.deepEqual(treeDigest(join(out, TREE), addedByKhpkg), expected, 'the tree is the archive');
    // Outside the tree: the links in /usr/lib/modules/<rel> and the extension's own identity, nothing else.
    assert.deepEqual(
      listing(out).filter((p) => !p.startsWith(`${TREE}/`) && !p.endsWith('/')),
      [`usr/lib/extension-release.d/extension-release.${NAME}`, `usr/lib/modules/${REL}/build`, `usr/lib/modules/${REL}/source`],
    );
    assert.equal(mustRun('readlink', [join(out, `usr/lib/modules/${REL}/source`)]).trim(), `../../../src/${NAME}`);
    const release = readFileSync(join(out, `usr/lib/extension-release.d/extension-release.${NAME}`), 'utf8');
    assert.match(release, /^ID=flatcar\nSYSEXT_LEVEL=1\.0\nARCHITECTURE=x86-64\nSYSEXT_VERSION_ID=6\.12\.117-1\n$/m);
    assert.match(release, new RegExp(`^# Built from the kheaders archive with sha256 ${REAL.sha256}\\.$`, 'm'));
    // The kernel's own erofs, through a loop device, sees the same tree.
    const mnt = join(s.dir, 'mnt');
    mkdirSync(mnt);
    const r = tool('unshare', [
      '-m',
      '--propagation',
      'private',
      'sh',
      '-c',
      `mount -t erofs -o loop,ro '${a!.path}' '${mnt}' && diff -r --no-dereference '${mnt}' '${out}'`,
    ]);
    assert.equal(r.code, 0, `${r.stderr}${r.stdout}`.slice(0, 3000));
  });

  it('on a Flatcar root, plain install writes nothing under /usr and says why; merged, clang and BCC read /usr/lib/modules/<rel>; list, verify, doctor; remove leaves no extension', () => {
    const {root, ns} = flatcar('flatcar');
    const run = (args: string[]) => khpkg(args, {wrap: ns.wrap});
    const r = run(['install', REAL.archive, '--config', REAL.config, '--root', root]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^note: .*\/usr is read-only: installing the headers as a system extension \(\/var\/lib\/extensions\)\n/);
    assert.match(r.stdout, new RegExp(`installed ${REL.replace(/[.+]/g, '\\$&')} at .* through sysext`));
    // Nothing under /usr itself: the tree is only in the merged view.
    assert.equal(existsSync(join(root, TREE)), false, 'the real /usr holds no tree');
    assert.deepEqual(readdirSync(join(root, 'usr/lib/modules', REL)), ['kernel']);
    assert.deepEqual(readdirSync(join(root, 'var/lib/extensions')), [`${NAME}.raw`]);
    const merged = ns.view(join(root, 'usr/lib/modules', REL));
    assert.deepEqual(treeDigest(ns.view(join(root, TREE)), addedByKhpkg), expected);
    // clang against the tree through the build and source links, as BCC's flags give them.
    const prog = join(s.dir, 'task.c');
    writeFileSync(prog, '#include <linux/sched.h>\nint off_tgid = __builtin_offsetof(struct task_struct, tgid);\n');
    const ir = mustRun('clang', ['-O2', '-S', '-emit-llvm', '-o', '-', prog, ...bpfFlags(join(merged, 'source'))]);
    const offset = Number(/@off_tgid = [^\n]*i32 (\d+)/.exec(ir)?.[1]);
    assert.ok(offset > 1000, `offsetof(struct task_struct, tgid) = ${offset}`);
    // BCC inside the namespace, where /lib/modules/<rel> is the merged one.
    const bcc = join(s.dir, 'bcc_sysext.py');
    writeFileSync(
      bcc,
      'import struct\nfrom bcc import BPF\nb = BPF(text=r"""#include <linux/sched.h>\nint probe(void *ctx) { struct task_struct *t = (struct task_struct *)bpf_get_current_task(); return t->tgid; }""")\ninsns = b.dump_func("probe")\nprint(" ".join(str(struct.unpack_from("<i", insns, i + 4)[0]) for i in range(0, len(insns), 8)))\n',
    );
    const tmp = join(s.dir, 'bcc-tmp');
    mkdirSync(tmp);
    const py = tool(ns.wrap[0]!, [...ns.wrap.slice(1), 'env', `BCC_KERNEL_SOURCE=${root}/lib/modules/${REL}/source`, `TMPDIR=${tmp}`, '/usr/bin/python3', bcc]);
    assert.equal(py.code, 0, py.stderr.slice(-2000));
    assert.ok(py.stdout.trim().split(' ').map(Number).includes(offset), `BCC's bytecode holds ${offset}`);
    const list = JSON.parse(run(['list', '--root', root, '--json']).stdout) as {release: string; via: string}[];
    assert.deepEqual(
      list.map((l) => [l.release, l.via]),
      [[REL, 'sysext']],
    );
    assert.equal(run(['verify', REL, '--root', root]).code, 0);
    assert.equal(run(['doctor', '--root', root]).code, 0);
    const rm = run(['remove', REL, '--root', root]);
    assert.equal(rm.code, 0, rm.stderr);
    assert.deepEqual(readdirSync(join(root, 'var/lib/extensions')), [], 'no extension is left');
    assert.equal(existsSync(ns.view(join(root, TREE))), false, 'unmerged');
    assert.equal(existsSync(ns.view(join(root, 'usr/.systemd-sysext'))), false, 'nothing merged on /usr any more');
  });

  it('the module-build tier as an extension: make -C /lib/modules/<rel>/build M=... builds a module on the read-only /usr', function () {
    const inputs = kbuildTestInputs();
    const {root, ns} = flatcar('flatcar-kbuild');
    const r = khpkg(['install', REAL.archive, '--config', REAL.config, '--kbuild', inputs.source, '--symvers-from', inputs.modules, '--root', root], {
      wrap: ns.wrap,
    });
    assert.equal(r.code, 0, r.stderr);
    const hello = writeHello(join(s.dir, 'hello'));
    const made = tool(ns.wrap[0]!, [...ns.wrap.slice(1), 'make', '-C', `${root}/lib/modules/${REL}/build`, `M=${hello}`, 'modules']);
    assert.equal(made.code, 0, made.stderr.slice(-3000));
    assert.match(mustRun('modinfo', ['-F', 'vermagic', join(hello, 'hello.ko')]), new RegExp(`^${REL.replace(/[.+]/g, '\\$&')} `));
    assert.equal(existsSync(join(root, TREE)), false, 'the real /usr holds no tree');
  });

  it('an image for another VERSION_ID or another architecture is not merged: install says so in one line and leaves nothing', function () {
    // An image built for hosts at VERSION_ID 1 (no SYSEXT_LEVEL), on a host at VERSION_ID 2.
    const old = join(s.dir, 'os-old');
    writeFileSync(old, 'ID=flatcar\nVERSION_ID=1\n');
    const [img] = buildJson([...BUILD_REAL.slice(1), '-f', 'sysext', '--os-release', old, '-o', join(s.dir, 'old')]);
    const {root, ns} = flatcar('flatcar-v2', {versionId: '2', sysextLevel: ''});
    mkdirSync(join(root, 'var/lib/extensions'), {recursive: true});
    mustRun('cp', [img!.path, join(root, 'var/lib/extensions')]);
    mustRun(ns.wrap[0]!, [...ns.wrap.slice(1), 'systemd-sysext', `--root=${root}`, 'refresh']);
    assert.equal(existsSync(ns.view(join(root, TREE))), false, 'systemd-sysext did not merge it');
    rmSync(join(root, 'var/lib/extensions', `${NAME}.raw`));

    // The arm64 kernel's headers on an x86-64 host: built and installed, never merged.
    const dir = readdirSync(CACHE, {withFileTypes: true}).find((e) => /^arm64-kheaders-/.test(e.name));
    needInput(dir !== undefined, `no arm64 kheaders in ${CACHE}: 'npm run setup' makes them (bin/make-arm64-kheaders.sh)`);
    const arm = join(CACHE, dir!.name);
    const r = khpkg(['install', join(arm, 'kheaders.tar.xz'), '--config', join(arm, 'config'), '--root', root], {wrap: ns.wrap});
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^khpkg: systemd-sysext did not merge linux-headers-[^ ]+-arm64\.raw: it does not match .* \(its os-release ID, SYSEXT_LEVEL or VERSION_ID, or its architecture\)\n$/,
    );
    assert.deepEqual(readdirSync(join(root, 'var/lib/extensions')), [], 'no image left');
    assert.deepEqual(JSON.parse(khpkg(['list', '--root', root, '--json'], {wrap: ns.wrap}).stdout), [], 'no registry row');
    assert.equal(existsSync(ns.view(join(root, 'usr/.systemd-sysext'))), false, 'nothing merged');
  });

  it('bad hosts: no os-release, an os-release without ID, a full /var: one line each, nothing left behind, nothing merged', () => {
    const {root, ns} = flatcar('flatcar-bad');
    const install = () => khpkg(['install', REAL.archive, '--config', REAL.config, '--root', root], {wrap: ns.wrap});
    const nothingLeft = (what: string) => {
      assert.deepEqual(existsSync(join(root, 'var/lib/extensions')) ? readdirSync(join(root, 'var/lib/extensions')) : [], [], `${what}: no image`);
      assert.deepEqual(JSON.parse(khpkg(['list', '--root', root, '--json'], {wrap: ns.wrap}).stdout), [], `${what}: no registry row`);
      assert.equal(existsSync(ns.view(join(root, TREE))), false, `${what}: nothing merged`);
    };
    const osRelease = readFileSync(join(root, 'usr/lib/os-release'), 'utf8');
    // /usr is read-only in the namespace: the file is changed from outside, where it is not.
    rmSync(join(root, 'usr/lib/os-release'));
    let r = install();
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^khpkg: .* has no os-release \(usr\/lib\/os-release or etc\/os-release\): a system extension is matched against it\n$/);
    nothingLeft('no os-release');
    writeFileSync(join(root, 'usr/lib/os-release'), 'NAME=Flatcar\nVERSION_ID=1\n');
    r = install();
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^khpkg: .*os-release names no ID=: a system extension is matched by it\n$/);
    nothingLeft('no ID');
    writeFileSync(join(root, 'usr/lib/os-release'), osRelease);
    // /var/lib/extensions on a 1 MiB file system: the 30 MB image does not fit.
    mkdirSync(join(root, 'var/lib/extensions'), {recursive: true});
    mustRun(ns.wrap[0]!, [...ns.wrap.slice(1), 'mount', '-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', join(root, 'var/lib/extensions')]);
    r = install();
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^khpkg: .*var\/lib\/extensions: no space left on device\n$/);
    assert.deepEqual(readdirSync(ns.view(join(root, 'var/lib/extensions'))), [], 'full /var: no partial image');
    nothingLeft('full /var');
  });

  it("the boot unit keeps them current: the running kernel's extension is made at boot, only read once merged, and after an OS update (new VERSION_ID, new kernel) the new kernel's is made and the old one removed", () => {
    const {root, ns} = flatcar('flatcar-update', {versionId: '1', sysextLevel: ''});
    const boot = (k: {archive: string; config: string; release: string}) => {
      const r = khpkg(['hooks', 'run', 'boot', '--root', root, '--json'], {
        wrap: ns.wrap,
        env: {KHPKG_KHEADERS: k.archive, KHPKG_PROC_CONFIG: k.config, KHPKG_RUNNING_RELEASE: k.release},
      });
      assert.equal(r.code, 0, r.stderr);
      return (JSON.parse(r.stdout) as {said: string}).said;
    };
    const merged = () => ns.merged(root);
    assert.match(boot(REAL), new RegExp(`^installed headers for ${REL.replace(/[.+]/g, '\\$&')} at .* through sysext$`));
    assert.deepEqual(merged(), [NAME]);
    assert.match(boot(REAL), /are installed already \(through sysext\)$/);
    // The OS update: a reboot into a new /usr with VERSION_ID 2 and a new kernel; the old kernel is gone.
    mustRun(ns.wrap[0]!, [...ns.wrap.slice(1), 'systemd-sysext', `--root=${root}`, 'unmerge']);
    writeFileSync(join(root, 'usr/lib/os-release'), 'ID=flatcar\nVERSION_ID=2\n');
    rmSync(join(root, 'usr/lib/modules', REL), {recursive: true});
    mkdirSync(join(root, 'usr/lib/modules', REAL72.release, 'kernel'), {recursive: true});
    mustRun(ns.wrap[0]!, [...ns.wrap.slice(1), 'systemd-sysext', `--root=${root}`, 'refresh']);
    assert.equal(existsSync(ns.view(join(root, TREE))), false, "the old kernel's extension does not match the new host");
    const said = boot(REAL72);
    assert.match(
      said,
      new RegExp(
        `^installed headers for ${REAL72.release.replace(/[.+]/g, '\\$&')} at .* through sysext; removed the headers of ${REL.replace(/[.+]/g, '\\$&')}, whose kernel is gone$`,
      ),
    );
    assert.deepEqual(merged(), [`linux-headers-${REAL72.release}`]);
    assert.deepEqual(readdirSync(join(root, 'var/lib/extensions')), [`linux-headers-${REAL72.release}.raw`]);
    const list = JSON.parse(khpkg(['list', '--root', root, '--json'], {wrap: ns.wrap}).stdout) as {release: string}[];
    assert.deepEqual(
      list.map((l) => l.release),
      [REAL72.release],
    );
    assert.match(readFileSync(ns.view(join(root, `usr/lib/extension-release.d/extension-release.linux-headers-${REAL72.release}`)), 'utf8'), /^VERSION_ID=2$/m);
  });
  it("the Kubernetes agent on an immutable node: from a pod's own mount namespace it merges the extension in the host's, and the host sees the headers; a pod that cannot reach the host's says so", () => {
    const {root, ns} = flatcar('flatcar-agent');
    // khpkg as the image has it: one executable (the agent finds /opt/khpkg-*/khpkg there).
    const khpkgBin = join(s.dir, 'khpkg-wrapper');
    writeFileSync(khpkgBin, `#!/bin/sh\nexport KHPKG_ROOT='${TEST_ROOT}' KHPKG_SYSFS_BTF=/nonexistent\nexec '${process.execPath}' '${BIN}' "$@"\n`);
    chmodSync(khpkgBin, 0o755);
    const env = ['KHPKG_AGENT_MODE=oneshot', `KHPKG_RUNNING_RELEASE=${REL}`, `KHPKG_ARCHIVE=${REAL.archive}`, `KHPKG=${khpkgBin}`, `KHPKG_HOST_ROOT=${root}`];
    // The pod: a mount namespace of its own whose mounts follow the host's (mountPropagation:
    // HostToContainer), the host's / at KHPKG_HOST_ROOT. The host's PID 1 is the namespace's holder
    // here; the real agent finds PID 1 by itself (hostPID), as the next case shows it refusing without.
    const holder = ns.wrap[2]!;
    const pod = tool(ns.wrap[0]!, [
      ...ns.wrap.slice(1),
      'unshare',
      '-m',
      '--propagation',
      'slave',
      '--',
      'env',
      ...env,
      `KHPKG_SYSEXT_NAMESPACE=${holder}`,
      `KHPKG_SYSEXT_ROOT=${root}`,
      'sh',
      ENTRYPOINT,
    ]);
    assert.equal(pod.code, 0, pod.stderr + pod.stdout);
    assert.match(pod.stdout, new RegExp(`installed ${REL.replace(/[.+]/g, '\\$&')} at .* through sysext`));
    // Merged in the host's namespace, not only the pod's: the host's /usr shows the tree and its extension.
    assert.deepEqual(ns.merged(root), [NAME]);
    assert.deepEqual(treeDigest(ns.view(join(root, TREE)), addedByKhpkg), expected);
    assert.equal(khpkg(['verify', REL, '--root', root], {wrap: ns.wrap}).code, 0);
    assert.equal(khpkg(['remove', REL, '--root', root], {wrap: ns.wrap}).code, 0);
    // Without hostPID the pod's PID 1 is in the pod's own mount namespace: one line saying what the
    // pod needs, exit 1 in oneshot, and nothing written on the host.
    const alone = tool(ns.wrap[0]!, [
      ...ns.wrap.slice(1),
      'unshare',
      '-m',
      '-p',
      '-f',
      '--mount-proc',
      '--propagation',
      'slave',
      '--',
      'env',
      ...env,
      'sh',
      ENTRYPOINT,
    ]);
    assert.equal(alone.code, 1, alone.stderr + alone.stdout);
    assert.match(alone.stderr, /^khpkg-agent: the node's \/usr is read-only: .*hostPID: true and privileged: true: daemonset-immutable\.yaml\)$/m);
    assert.deepEqual(readdirSync(join(root, 'var/lib/extensions')), []);
  });
  it("a fleet's repository through systemd-sysupdate's transfer: its Source pattern picks this kernel's image, its Target layout merges, and the boot unit leaves those headers alone", () => {
    const {root, ns} = flatcar('flatcar-sysupdate');
    const [img] = buildJson([...BUILD_REAL.slice(1), '-f', 'sysext', '--os-release', join(root, 'usr/lib/os-release'), '-o', join(s.dir, 'fleet-out')]);
    const repo = join(s.dir, 'fleet-repo');
    const r = khpkg(['repo', repo, img!.path, '--json']);
    assert.equal(r.code, 0, r.stderr);
    // The transfer file as systemd-sysupdate reads it (Debian 12 ships no systemd-sysupdate): %v is
    // the running kernel's release, @v the revision; one image of the repository matches, and SHA256SUMS lists it.
    const conf = readFileSync(TRANSFER, 'utf8');
    const section = (name: string) =>
      new Map(
        [...(new RegExp(`^\\[${name}\\]\\n((?:(?!\\[).*\\n)*)`, 'm').exec(conf)?.[1] ?? '').matchAll(/^(\w+)=(.*)$/gm)].map((m) => [
          m[1]!,
          m[2]!.replaceAll('%v', REL),
        ]),
      );
    const [source, target] = [section('Source'), section('Target')];
    const pattern = (p: string) => new RegExp(`^${p.replace(/[.+]/g, '\\$&').replace('@v', '([A-Za-z0-9.~^_-]+)')}$`);
    const offered = readdirSync(join(repo, 'sysext')).filter((f) => pattern(source.get('MatchPattern')!).test(f));
    assert.deepEqual(offered, [`${NAME}_6.12.117-1.raw`]);
    assert.match(readFileSync(join(repo, 'sysext/SHA256SUMS'), 'utf8'), new RegExp(`^[0-9a-f]{64}  ${offered[0]!.replace(/[.+]/g, '\\$&')}$`, 'm'));
    assert.match(offered[0]!, pattern(target.get('MatchPattern')!));
    // What sysupdate then does: the file into Target's Path, and CurrentSymlink names it in
    // /var/lib/extensions, the name systemd-sysext merges it by. systemd 252's --root does not
    // follow such a link (it finds no extension), so the file itself goes under that name here: what
    // is proved is that the repository's image merges under CurrentSymlink's name, not sysupdate's link.
    const link = target.get('CurrentSymlink')!;
    assert.equal(link, `/var/lib/extensions/${NAME}.raw`);
    mkdirSync(join(root, target.get('Path')!), {recursive: true});
    writeFileSync(join(root, target.get('Path')!, offered[0]!), readFileSync(join(repo, 'sysext', offered[0]!)));
    mkdirSync(join(root, 'var/lib/extensions'), {recursive: true});
    writeFileSync(join(root, link), readFileSync(join(repo, 'sysext', offered[0]!)));
    mustRun(ns.wrap[0]!, [...ns.wrap.slice(1), 'systemd-sysext', `--root=${root}`, 'refresh']);
    assert.deepEqual(ns.merged(root), [NAME]);
    assert.deepEqual(treeDigest(ns.view(join(root, TREE)), addedByKhpkg), expected);
    // The boot unit: the kernel's headers are there, not khpkg's: said, and left (no second image, no registry row).
    const boot = khpkg(['hooks', 'run', 'boot', '--root', root, '--json'], {
      wrap: ns.wrap,
      env: {KHPKG_KHEADERS: REAL.archive, KHPKG_PROC_CONFIG: REAL.config, KHPKG_RUNNING_RELEASE: REL},
    });
    assert.equal(boot.code, 0, boot.stderr);
    assert.match((JSON.parse(boot.stdout) as {said: string}).said, /are there already, not through khpkg .*: left as they are$/);
    assert.deepEqual(readdirSync(join(root, 'var/lib/extensions')), [`${NAME}.raw`]);
    assert.ok(readFileSync(join(root, link)).equals(readFileSync(join(repo, 'sysext', offered[0]!))), 'the image is the repository’s still');
    assert.deepEqual(JSON.parse(khpkg(['list', '--root', root, '--json'], {wrap: ns.wrap}).stdout), []);
  });
});
