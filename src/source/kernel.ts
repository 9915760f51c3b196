import {gunzipBounded} from '../codec/decompress.js';
import {existsSync, readFileSync} from 'node:fs';
import {readFile} from 'node:fs/promises';
import {release as osRelease} from 'node:os';
import {KhpkgError} from '../errors.js';
import {runTool} from '../tool.js';

/** Where the running kernel serves its archive and config (env overrides for chroots and tests). */
export function kernelPaths(): {kheaders: string; config: string; modules: string; btf: string} {
  return {
    kheaders: process.env.KHPKG_KHEADERS ?? '/sys/kernel/kheaders.tar.xz',
    btf: process.env.KHPKG_SYSFS_BTF ?? '/sys/kernel/btf/vmlinux',
    config: process.env.KHPKG_PROC_CONFIG ?? '/proc/config.gz',
    modules: process.env.KHPKG_MODULES_DIR ?? `/lib/modules/${runningRelease()}`,
  };
}

export function runningRelease(): string {
  return process.env.KHPKG_RUNNING_RELEASE ?? osRelease();
}

/**
 * The running kernel's archive. With CONFIG_IKHEADERS=m the file appears only while the module is
 * loaded: load it, read, and unload it again if we were the ones who loaded it (as BCC does).
 */
export async function readRunningKernelArchive(): Promise<Buffer> {
  const paths = kernelPaths();
  if (existsSync(paths.kheaders)) return readFile(paths.kheaders);
  const rel = runningRelease();
  const setting = ikheadersSetting(paths.config);
  if (setting === 'n') {
    throw new KhpkgError(
      'no-kheaders',
      `the running kernel ${rel} was built without CONFIG_IKHEADERS: pass an archive or a kheaders.ko, or install the distro's headers package`,
    );
  }
  if (!hasKheadersModule(paths.modules)) {
    throw new KhpkgError(
      'no-kheaders',
      `the running kernel ${rel} has no ${paths.kheaders} and no kheaders module: rebuild it with CONFIG_IKHEADERS=m or =y, or pass an archive or a kheaders.ko`,
    );
  }
  if (process.getuid?.() !== 0) {
    throw new KhpkgError(
      'no-kheaders',
      `${paths.kheaders} appears only after 'modprobe kheaders', which needs root: run khpkg as root, or load the module first`,
    );
  }
  await run('modprobe', ['kheaders']);
  try {
    if (!existsSync(paths.kheaders)) throw new KhpkgError('no-kheaders', `'modprobe kheaders' succeeded but ${paths.kheaders} did not appear`);
    return await readFile(paths.kheaders);
  } finally {
    await run('rmmod', ['kheaders']).catch(() => undefined);
  }
}

/** The running kernel's `.config` (from /proc/config.gz), if it exposes one. */
export function readRunningKernelConfig(): Buffer | undefined {
  const {config} = kernelPaths();
  return existsSync(config) ? plainConfig(readFileSync(config)) : undefined;
}

/** /proc/config.gz is gzip; a stand-in (a chroot's copy, KHPKG_PROC_CONFIG) may be the plain text. */
function plainConfig(raw: Buffer): Buffer {
  return raw[0] === 0x1f && raw[1] === 0x8b ? gunzipBounded(raw, 64 << 20) : raw;
}

function ikheadersSetting(configPath: string): 'y' | 'm' | 'n' | undefined {
  try {
    const text = plainConfig(readFileSync(configPath)).toString('utf8');
    const m = /^CONFIG_IKHEADERS=([ym])$/m.exec(text);
    return m ? (m[1] as 'y' | 'm') : 'n';
  } catch {
    return undefined;
  }
}

function hasKheadersModule(modulesDir: string): boolean {
  try {
    return /(^|\/)kheaders\.ko(\.[a-z]+)?:/m.test(readFileSync(`${modulesDir}/modules.dep`, 'utf8'));
  } catch {
    return false;
  }
}

async function run(cmd: string, args: string[]): Promise<void> {
  const r = await runTool(cmd, args).catch((e: Error) => {
    throw new KhpkgError('no-kheaders', `cannot run ${cmd}: ${e.message}`);
  });
  if (r.code !== 0) throw new KhpkgError('no-kheaders', `${cmd} ${args.join(' ')} failed: ${r.stderr.toString().trim().split('\n')[0] || `exit ${r.code}`}`);
}
