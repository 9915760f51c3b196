import assert from 'node:assert/strict';
import {existsSync, mkdirSync, readFileSync} from 'node:fs';
import {join} from 'node:path';
import {mustRun, tool, type RunResult} from './run.js';
import {PROJECT} from './debian-root.js';

/** The OCI image index `npm run image` wrote, and the private podman store it was built in. */
export interface AgentImage {
  archive: string;
  /** podman's options that select the private store. */
  store: string[];
  podman: (args: string[]) => RunResult;
}

/**
 * The agent's image index built by bin/make-image.js from release tarballs, each image on a base
 * imported from a test root of its CPU (no registry here: the roots stand in for debian:bookworm-slim),
 * in a private store with the vfs driver. Where podman cannot build, the test fails with podman's words.
 */
export function agentImage(dir: string, tarballs: string[], bases: Record<string, string>): AgentImage {
  const built = tryAgentImage(dir, tarballs, bases);
  if (!built.image) assert.fail(`npm run image could not build the agent image (podman is what the test judges it with): ${built.failed}`);
  return built.image;
}

function tryAgentImage(dir: string, tarballs: string[], bases: Record<string, string>): {image?: AgentImage; failed?: string} {
  const storeDir = join(dir, 'podman');
  const store = ['--root', `${storeDir}/storage`, '--runroot', `${storeDir}/run`, '--storage-driver', 'vfs'];
  const podman = (args: string[]): RunResult => tool('podman', [...store, ...args]);
  mkdirSync(dir, {recursive: true});
  const baseArgs: string[] = [];
  for (const [arch, root] of Object.entries(bases)) {
    mustRun('tar', ['-C', root, '-cf', join(dir, `base-${arch}.tar`), '.']);
    const r = podman(['import', '--arch', arch, join(dir, `base-${arch}.tar`), `localhost/khpkg-test-base:${arch}`]);
    tool('rm', ['-f', join(dir, `base-${arch}.tar`)]);
    if (r.code !== 0) return {failed: `podman import failed: ${(r.stderr || r.stdout).trim().split('\n').pop()}`};
    baseArgs.push('--base', `${arch}=localhost/khpkg-test-base:${arch}`);
  }
  const archive = join(dir, 'khpkg-agent.oci.tar');
  const r = tool('node', [join(PROJECT, 'bin/make-image.js'), '--storage', storeDir, ...baseArgs, '--to', `oci-archive:${archive}`, ...tarballs]);
  if (r.code !== 0) return {failed: r.stderr.trim().split('\n').pop()};
  return {image: {archive, store, podman}};
}

/** One image's root as a container of it would see it: created and exported (podman cannot run containers here). */
export function exportImage(image: AgentImage, tag: string, dir: string): string {
  const name = `export-${tag.replace(/\W/g, '-')}`;
  const created = image.podman(['create', '--name', name, tag]);
  if (created.code !== 0) throw new Error(`podman create ${tag}: ${created.stderr}`);
  mkdirSync(dir, {recursive: true});
  mustRun('sh', ['-c', `"$0" "$@" | tar -C "${dir}" -xf -`, 'podman', ...image.store, 'export', name]);
  if (!existsSync(join(dir, 'usr/local/bin/khpkg-agent'))) throw new Error(`${tag}: its root has no entrypoint`);
  return dir;
}

/** An OCI archive's index (the one index.json names) and, for each image, its platform and its config's architecture. */
export function ociIndex(archive: string, dir: string): {platform: string; configArch: string}[] {
  mkdirSync(dir, {recursive: true});
  mustRun('tar', ['-C', dir, '-xf', archive, 'index.json', 'oci-layout']);
  const blob = (digest: string): Record<string, unknown> => {
    const path = `blobs/${digest.replace(':', '/')}`;
    mustRun('tar', ['-C', dir, '-xf', archive, path]);
    return JSON.parse(readFileSync(join(dir, path), 'utf8')) as Record<string, unknown>;
  };
  type Descriptor = {mediaType: string; digest: string; platform?: {os: string; architecture: string}};
  const top = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as {manifests: Descriptor[]};
  const index =
    top.manifests.length === 1 && top.manifests[0]!.mediaType.endsWith('image.index.v1+json')
      ? (blob(top.manifests[0]!.digest) as {manifests: Descriptor[]})
      : top;
  return index.manifests.map((m) => {
    const manifest = blob(m.digest) as {config: {digest: string}};
    const config = blob(manifest.config.digest) as {os: string; architecture: string};
    return {platform: `${m.platform?.os}/${m.platform?.architecture}`, configArch: `${config.os}/${config.architecture}`};
  });
}
