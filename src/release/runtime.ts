import {existsSync} from 'node:fs';
import {mkdir, open, rm} from 'node:fs/promises';
import {join} from 'node:path';
import {elfMachine} from '../elf/elf.js';
import {KhpkgError} from '../errors.js';
import {runTool} from '../tool.js';
import {isNative, type ReleaseTarget} from './target.js';

/**
 * The Node runtime a release carries: this one on its own machine, else the same version for the
 * target from npm's `node-linux-<arch>` package (the official binary; npm checks the tarball's
 * integrity against the registry and keeps it in its cache, so a second dist asks nothing of the
 * network). Its ELF machine is checked: a wrong binary fails here, not on the user's board.
 */
export async function nodeRuntime(target: ReleaseTarget, workDir: string): Promise<string> {
  if (isNative(target)) return process.execPath;
  const version = process.versions.node;
  const pkg = `node-linux-${target.node}@${version}`;
  const dir = join(workDir, `node-linux-${target.node}-${version}`);
  const node = join(dir, 'package', 'bin', 'node');
  if (!existsSync(node)) {
    await rm(dir, {recursive: true, force: true});
    await mkdir(dir, {recursive: true});
    const packed = await runTool('npm', ['pack', pkg, '--prefer-offline', '--silent', '--pack-destination', dir]);
    const tgz = packed.stdout.toString().trim().split('\n').pop() ?? '';
    if (packed.code !== 0 || tgz === '') {
      const why =
        packed.stderr
          .toString()
          .trim()
          .split('\n')
          .find((l) => /ERR|error/i.test(l)) ?? `exit ${packed.code}`;
      throw new KhpkgError('usage', `cannot fetch the ${target.node} Node runtime (npm pack ${pkg}): ${why}`);
    }
    const untar = await runTool('tar', ['-xzf', join(dir, tgz), '-C', dir, 'package/bin/node', 'package/LICENSE']);
    if (untar.code !== 0) throw new KhpkgError('usage', `${tgz}: no package/bin/node in it (${untar.stderr.toString().trim()})`);
    await rm(join(dir, tgz));
  }
  const fh = await open(node);
  const head = Buffer.alloc(20);
  await fh.read(head, 0, 20, 0).finally(() => fh.close());
  if (elfMachine(head) !== target.elfMachine) throw new KhpkgError('usage', `${node}: not a ${target.node} ELF program`);
  return node;
}
