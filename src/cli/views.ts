import {HEADER_BTF_LIMITS, HEADERS_ORIGIN} from '../source/header-btf.js';
import {readFileSync} from 'node:fs';
import {consumerCflags} from '../archive/info.js';
import {notInstalled} from '../errors.js';
import {owners} from '../install/owns.js';
import {readRegistry} from '../install/query.js';
import {kernelStatus, type KernelStatus} from '../install/status.js';
import {verifyHeaders, type Problem} from '../install/verify.js';
import type {EntryType} from '../archive/entry.js';
import type {FileRecord, HeaderSet} from '../registry/types.js';
import {inRoot} from '../root/paths.js';
import {KhpkgError} from '../errors.js';
import {describeKbuild} from './kbuild.js';

/**
 * What the read commands print, shared by their oclif commands and the start-up fast path (which
 * answers without loading oclif), so both say exactly the same. Paths are where the files really
 * are (under --root); `rel` in JSON is the same path relative to the root.
 */
export interface View {
  out: string;
  /** Exit status when the answer itself is a failure (verify found differences). */
  code: number;
}

const json = (value: unknown): View => ({out: `${JSON.stringify(value, null, 2)}\n`, code: 0});
const lines = (ls: string[]): View => ({out: ls.map((l) => `${l}\n`).join(''), code: 0});

/**
 * `info --json`: the registry's record, `path` where the tree is and `rel` relative to the root, and
 * `consumerCflags`: what BCC or clang need beyond include paths to compile against the tree.
 */
export type InfoJson = Omit<HeaderSet, 'path'> & {path: string; rel: string; consumerCflags: string[]; btfLimits?: string};

export function infoView(root: string, release: string, asJson: boolean): View {
  const set = readRegistry(root, (r) => r.get(release), undefined);
  if (!set) throw notInstalled(release);
  const shown: InfoJson = {
    ...set,
    path: inRoot(root, set.path),
    rel: set.path,
    consumerCflags: treeConsumerCflags(root, set.path),
    ...(set.btf?.source === HEADERS_ORIGIN ? {btfLimits: HEADER_BTF_LIMITS} : {}),
  };
  if (asJson) return json(shown);
  const {kbuild, btf, consumerCflags: cflags, btfLimits, ...plain} = shown;
  // What a set does not have (a config, a content digest from before they were recorded) is said, not printed as 'undefined'.
  const entries: [string, unknown][] = Object.entries(plain);
  if (!('configSha256' in plain)) entries.splice(entries.findIndex(([k]) => k === 'sourceSha256') + 1, 0, ['configSha256', undefined]);
  const out = entries.map(([k, v]) => `${k.padEnd(13)} ${v ?? (k === 'configSha256' ? 'none (installed without a config)' : '-')}`);
  out.push(`${'cflags'.padEnd(13)} ${cflags.length > 0 ? `${cflags.join(' ')} (what BCC and clang need beyond include paths)` : 'none beyond include paths'}`);
  if (kbuild) out.push(`${'kbuild'.padEnd(13)} ${describeKbuild(kbuild).replace(/^module-build tree: /, '')} (source ${kbuild.source})`);
  out.push(
    `${'btf'.padEnd(13)} ${btf ? `${btf.types} types from ${btf.source}, sha256 ${btf.sha256}: vmlinux.h and vmlinux in the tree` : "none: the kernel's BTF was not found or given (--btf), or the kernel has none (CONFIG_DEBUG_INFO_BTF: --btf headers makes it from the headers)"}`,
  );
  if (btfLimits) out.push(`${'btf-limits'.padEnd(13)} ${btfLimits}`);
  return lines(out);
}

/** The installed tree's own word on what consumers need (its autoconf.h); none when it cannot be read. */
function treeConsumerCflags(root: string, treeRel: string): string[] {
  try {
    return consumerCflags(readFileSync(inRoot(root, `${treeRel}/include/generated/autoconf.h`), 'utf8'));
  } catch {
    return [];
  }
}

/** `files --json`: every entry the set owns. */
export type FilesJson = (FileRecord & {rel: string})[];

export function filesView(root: string, release: string, asJson: boolean): View {
  const files = readRegistry(root, (r) => (r.get(release) ? r.files(release) : undefined), undefined);
  if (!files) throw notInstalled(release);
  if (asJson) return json(files.map((f): FilesJson[number] => ({...f, path: inRoot(root, f.path), rel: f.path})));
  return lines(files.map((f) => inRoot(root, f.path)));
}

/** `owns --json`: each set that lists the path. */
export type OwnsJson = {release: string; path: string; rel: string; type: EntryType}[];

export function ownsView(root: string, spec: string, asJson: boolean): View {
  const found = readRegistry(root, (r) => owners(root, r, spec), []);
  if (found.length === 0) throw new KhpkgError('not-owned', `${spec} belongs to no installed header set`);
  if (asJson) return json(found.map((o) => ({release: o.release, path: inRoot(root, o.file.path), rel: o.file.path, type: o.file.type})));
  return lines(found.map((o) => `${o.release}: ${inRoot(root, o.file.path)}`));
}

/** `verify --json`: every difference found; empty when clean (exit 1 otherwise). */
export type VerifyJson = Problem[];

export function verifyView(root: string, releases: string[], asJson: boolean): View {
  const problems = readRegistry(root, (r) => verifyHeaders(root, r, releases), []);
  const v = asJson ? json(problems) : lines(problems.map((p) => `${p.problem.padEnd(15)} ${p.path} (${p.detail})`));
  return {...v, code: problems.length > 0 ? 1 : 0};
}

/** `status --json`: the running kernel and its headers. */
export type StatusJson = KernelStatus;

export function statusView(root: string, asJson: boolean): View {
  const s = kernelStatus(root);
  if (asJson) return json(s);
  const headers = s.installed ? (s.current === null ? 'installed' : s.current ? 'installed, current' : 'installed, OUT OF DATE') : 'not installed';
  return lines([
    `running kernel  ${s.release}`,
    `kheaders        ${s.kheaders}`,
    `config          ${s.config ? 'present' : 'absent'}`,
    `headers         ${headers}`,
    ...(s.tier
      ? [
          `tier            ${s.tier === 'kbuild' ? 'module-build tree (DKMS and make M=... build against it)' : 'headers-only (BPF tools; a kernel source gives modules: see khpkg install --kernel)'}`,
        ]
      : []),
    s.advice,
  ]);
}
