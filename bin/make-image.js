#!/usr/bin/env node
// The node agent's multi-arch image (`npm run image`): one image per release tarball, built by podman
// from packaging/kubernetes/Containerfile, joined in one OCI image index. Options:
//   --to DEST      where the index goes (default oci-archive:release/khpkg-agent-<version>.oci.tar;
//                  docker://REGISTRY/khpkg-agent:<version> pushes it to a registry)
//   --base IMAGE   the base of every image, or --base arm64=IMAGE for one CPU (default debian:bookworm-slim)
//   --storage DIR  a private podman store there (vfs driver), not the user's
// Arguments: the tarballs (default: every release/khpkg-<version>-linux-*.tar.xz).
import {readdirSync, readFileSync} from 'node:fs';
import {join, resolve} from 'node:path';
import {parseArgs} from 'node:util';
import {buildAgentImage} from '../dist/release/image.js';

const project = new URL('..', import.meta.url).pathname;
const {values, positionals} = parseArgs({
  allowPositionals: true,
  options: {to: {type: 'string'}, base: {type: 'string', multiple: true, default: []}, storage: {type: 'string'}},
});
const version = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8')).version;
const releaseDir = join(project, 'release');
const tarballs =
  positionals.length > 0
    ? positionals.map((p) => resolve(p))
    : readdirSync(releaseDir)
        .filter((f) => f.startsWith(`khpkg-${version}-linux-`) && f.endsWith('.tar.xz'))
        .map((f) => join(releaseDir, f));
const bases = Object.fromEntries(values.base.map((b) => (/^[a-z0-9]+=/.test(b) ? b.split(/=(.*)/s).slice(0, 2) : ['*', b])));
const podman = values.storage ? ['--root', join(values.storage, 'storage'), '--runroot', join(values.storage, 'run'), '--storage-driver', 'vfs'] : [];
const onStep = process.stderr.isTTY ? (what) => process.stderr.write(`make-image: ${what}\n`) : undefined;
try {
  const made = await buildAgentImage(project, {
    tarballs,
    to: values.to ?? `oci-archive:${join(releaseDir, `khpkg-agent-${version}.oci.tar`)}`,
    bases,
    podman,
    onStep,
  });
  for (const i of made.images) console.log(`${i.platform}  ${i.tag}`);
  console.log(`${made.name} -> ${made.to}`);
} catch (e) {
  console.error(`make-image: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
}
