import {copyFileSync, mkdirSync, mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {basename, join} from 'node:path';
import {KhpkgError} from '../errors.js';
import {relevantLines, runTool} from '../tool.js';
import {releaseTarget, type ReleaseTarget} from './target.js';

/** What the agent image is made of and where its index goes. */
export interface ImageRequest {
  /** Release tarballs, one per CPU: khpkg-<version>-linux-<arch>.tar.xz. */
  tarballs: string[];
  /** Where podman pushes the index and its images: any containers-transports name (oci-archive:FILE, oci:DIR, docker://...). */
  to: string;
  /** The index's name in podman's store (localhost/khpkg-agent:<version> by default). */
  name?: string;
  /** The base image of each OCI architecture ('*' for all): a glibc image (Containerfile's BASE). */
  bases?: Record<string, string>;
  /** podman's global options (a private store: --root, --runroot, --storage-driver). */
  podman?: string[];
  onStep?: (what: string) => void;
}

export interface AgentImage {
  name: string;
  version: string;
  to: string;
  /** Each image of the index: its platform and its tag in podman's store. */
  images: {platform: string; tag: string}[];
}

const TARBALL = /^khpkg-(\d[^-]*)-linux-([a-z0-9]+)\.tar\.xz$/;

/**
 * khpkg's node agent as one multi-arch image: each release tarball becomes an image by
 * packaging/kubernetes/Containerfile (ADD and COPY only, so another CPU's image builds without
 * emulation), and the images become one OCI image index that a cluster's nodes pull by one name,
 * each getting its own CPU's. Built by podman, which is the one tool that needs.
 */
export async function buildAgentImage(project: string, req: ImageRequest): Promise<AgentImage> {
  if (req.tarballs.length === 0) throw new KhpkgError('usage', 'no release tarball to make the image of (npm run dist -- --arch x64,arm64 writes them)');
  const parts = req.tarballs.map((path) => {
    const m = TARBALL.exec(basename(path));
    if (!m) throw new KhpkgError('usage', `${path}: not a release tarball (khpkg-<version>-linux-<arch>.tar.xz)`);
    return {path, version: m[1]!, target: releaseTarget(m[2]!)};
  });
  const version = parts[0]!.version;
  for (const p of parts)
    if (p.version !== version)
      throw new KhpkgError('usage', `${p.path}: version ${p.version}, but ${parts[0]!.path} is ${version}: one index holds one version`);
  const platforms = new Set<string>();
  for (const p of parts) {
    if (platforms.has(p.target.oci)) throw new KhpkgError('usage', `two tarballs for linux/${p.target.oci}`);
    platforms.add(p.target.oci);
  }
  const name = req.name ?? `localhost/khpkg-agent:${version}`;
  const repo = name.replace(/:[^:/]+$/, '');
  const podman = async (what: string, args: string[], mayFail = false): Promise<void> => {
    const r = await runTool('podman', [...(req.podman ?? []), ...args]).catch((e: NodeJS.ErrnoException) => {
      throw new KhpkgError(
        e.code === 'ENOENT' ? 'usage' : 'release-build',
        e.code === 'ENOENT' ? 'the agent image is built by podman, which is not installed' : `podman: ${e.message}`,
      );
    });
    if (r.code !== 0 && !mayFail)
      throw new KhpkgError('release-build', `podman ${what} failed: ${relevantLines(r.output, /error/i, 1)[0] ?? `exit ${r.code}`}`);
  };

  const context = contextDir(project, parts);
  try {
    const images: AgentImage['images'] = [];
    for (const p of parts) {
      const tag = `${repo}:${version}-${p.target.oci}`;
      req.onStep?.(`building ${tag}`);
      await podman(`build of ${tag}`, [
        'build',
        '--platform',
        `linux/${p.target.oci}`,
        '--build-arg',
        `BASE=${baseFor(req.bases, p.target)}`,
        '--build-arg',
        `RELEASE=release/${basename(p.path)}`,
        '-f',
        join(context, 'packaging', 'kubernetes', 'Containerfile'),
        '-t',
        tag,
        context,
      ]);
      images.push({platform: `linux/${p.target.oci}`, tag});
    }
    // A second run replaces the index rather than adding to the last one's.
    await podman('manifest rm', ['manifest', 'rm', name], true);
    await podman('manifest create', ['manifest', 'create', name]);
    for (const i of images) await podman(`manifest add ${i.tag}`, ['manifest', 'add', name, `containers-storage:${i.tag}`]);
    req.onStep?.(`pushing ${name} to ${req.to}`);
    await podman(`manifest push to ${req.to}`, ['manifest', 'push', '--all', '--format', 'oci', name, req.to]);
    return {name, version, to: req.to, images};
  } finally {
    rmSync(context, {recursive: true, force: true});
  }
}

function baseFor(bases: Record<string, string> | undefined, target: ReleaseTarget): string {
  return bases?.[target.oci] ?? bases?.['*'] ?? 'docker.io/library/debian:bookworm-slim';
}

/** The build context the Containerfile expects: release/<tarball>, packaging/kubernetes/ and nothing else. */
function contextDir(project: string, parts: {path: string}[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'khpkg-image-'));
  mkdirSync(join(dir, 'release'));
  mkdirSync(join(dir, 'packaging', 'kubernetes'), {recursive: true});
  for (const p of parts) copyFileSync(p.path, join(dir, 'release', basename(p.path)));
  for (const f of ['Containerfile', 'entrypoint.sh']) copyFileSync(join(project, 'packaging', 'kubernetes', f), join(dir, 'packaging', 'kubernetes', f));
  copyFileSync(join(project, '.containerignore'), join(dir, '.containerignore'));
  return dir;
}
