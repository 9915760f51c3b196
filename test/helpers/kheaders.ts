import {mkdirSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {mustRun} from './run.js';
import {compressBuffer, type Compression} from '../../src/formats/compression.js';
import {tarBytes, type RawMember} from './tar.js';

export interface TreeOptions {
  srcarch?: string;
  release?: string;
  version?: [number, number, number];
  /** Extra `#define CONFIG_X 1` lines of autoconf.h (64BIT, X86_64, CPU_LITTLE_ENDIAN...). */
  config?: string[];
  /** This many more headers under include/linux/many/, for tests that need a tree of some size. */
  extraFiles?: number;
}

/**
 * A small tree shaped like a real kheaders archive (GNU tar, `./` names, sorted, dirs first): the
 * files khpkg reads plus a header and a relative symlink, for tests that need other arches or
 * releases than the bundled real archive.
 */
export function kheadersMembers(opts: TreeOptions = {}): RawMember[] {
  const arch = opts.srcarch ?? 'x86';
  const release = opts.release ?? '6.1.0-test';
  const [maj, min, sub] = opts.version ?? [6, 1, 42];
  const config = opts.config ?? ['64BIT', 'X86_64'];
  const autoconf = config.map((c) => `#define CONFIG_${c} 1\n`).join('') + '#define CONFIG_CC_VERSION_TEXT "gcc (Test) 12.2.0"\n';
  const dir = (name: string): RawMember => ({name: `./${name}/`, type: '5'});
  const file = (name: string, data: string): RawMember => ({name: `./${name}`, data});
  return [
    {name: './', type: '5'},
    dir('arch'),
    dir(`arch/${arch}`),
    dir(`arch/${arch}/include`),
    dir(`arch/${arch}/include/asm`),
    file(`arch/${arch}/include/asm/page.h`, '/* SPDX-License-Identifier: GPL-2.0 */\n#define PAGE_SHIFT 12\n'),
    dir('include'),
    dir('include/generated'),
    file('include/generated/autoconf.h', autoconf),
    dir('include/generated/uapi'),
    dir('include/generated/uapi/linux'),
    file(
      'include/generated/uapi/linux/version.h',
      `#define LINUX_VERSION_CODE ${(maj << 16) + (min << 8) + Math.min(sub, 255)}\n#define LINUX_VERSION_MAJOR ${maj}\n#define LINUX_VERSION_PATCHLEVEL ${min}\n#define LINUX_VERSION_SUBLEVEL ${sub}\n`,
    ),
    file('include/generated/utsrelease.h', `#define UTS_RELEASE "${release}"\n`),
    dir('include/linux'),
    file('include/linux/kconfig.h', '#include <generated/autoconf.h>\n'),
    {name: './include/linux/kref-link.h', type: '2', linkname: 'kref.h'},
    file('include/linux/kref.h', 'struct kref { int refcount; };\n'),
    ...(opts.extraFiles ? [dir('include/linux/many')] : []),
    ...Array.from({length: opts.extraFiles ?? 0}, (_, i) => file(`include/linux/many/h${String(i).padStart(5, '0')}.h`, `#define H${i} ${i}\n`.repeat(20))),
  ];
}

export async function kheadersArchive(opts: TreeOptions = {}, compression: Compression = 'xz'): Promise<Buffer> {
  return compressBuffer(compression, tarBytes(kheadersMembers(opts)));
}

/** The bundled real archive and its config (copied from the shared corpus; see test/fixtures/README.md). */
export const REAL = {
  archive: new URL('../fixtures/6.12.117+deb12-amd64-x86_64.tar.xz', import.meta.url).pathname,
  config: new URL('../fixtures/6.12.117+deb12-amd64-x86_64.config', import.meta.url).pathname,
  release: '6.12.117+deb12-amd64',
  sha256: '4f9a10730cf5cf0a2e8a8c4643431659c0ba2de44ead373f707019e5498de3b0',
};

/** `khpkg build` of the bundled archive with its config: the start of many tests' command lines. */
export const BUILD_REAL: readonly string[] = ['build', REAL.archive, '--config', REAL.config];

/** The bundled real 7.2 archive and its config (from the shared corpus; see test/fixtures/README.md). */
export const REAL72 = {
  archive: new URL('../fixtures/7.2.13+deb14-cloud-amd64-x86_64.tar.xz', import.meta.url).pathname,
  config: new URL('../fixtures/7.2.13+deb14-cloud-amd64-x86_64.config', import.meta.url).pathname,
  release: '7.2.13+deb14-cloud-amd64',
  sha256: '9718660fae46e377b4f696efebaa907f0ee9c18d2552a87c47db775e631823b1',
};

/** The bundled archive's tree with one more header, tarred as gen_kheaders.sh does: the same release, other content. */
export function withExtraHeader(dir: string, name: string, out: string): string {
  mkdirSync(dir, {recursive: true});
  mustRun('tar', ['-xJf', REAL.archive, '-C', dir]);
  writeFileSync(join(dir, 'include/linux', name), `#define ${name.replace(/\W/g, '_').toUpperCase()} 1\n`);
  mustRun('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '-C', dir, '-cJf', out, '.']);
  return out;
}
