#!/usr/bin/env bash
# `npm run dist`: khpkg's own release, in release/: the self-contained tarball (its Node runtime
# inside) and khpkg's .deb and .rpm, written by khpkg's own package writers. Reproducible: every
# time in them is SOURCE_DATE_EPOCH, by default the commit's time.
set -euo pipefail
cd "$(dirname "$0")/.."
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}"
# A clean build: tsc leaves the output of deleted sources behind, and the release ships dist whole.
rm -rf dist
npm run build --silent
exec node bin/make-dist.js "$@"
