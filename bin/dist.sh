#!/usr/bin/env bash
# `npm run dist`: khpkg's own release, in release/: the self-contained tarball (its Node runtime
# inside) and khpkg's .deb and .rpm, written by khpkg's own package writers. Reproducible: every
# time in them is SOURCE_DATE_EPOCH, by default the commit's time.
set -euo pipefail
cd "$(dirname "$0")/.."
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}"
# A clean build: tsc leaves the output of deleted sources behind, and the release ships dist whole.
# KHPKG_DIST_PREBUILT=1: dist is the clean build already (the tests': npm test built it, and other
# test files run khpkg from it meanwhile, so it must not be taken away under them).
if [ -z "${KHPKG_DIST_PREBUILT:-}" ]; then
  rm -rf dist
  npm run build --silent
fi
exec node bin/make-dist.js "$@"
