import {KhpkgError} from '../errors.js';
import {debPackager} from './deb/deb.js';
import {rpmPackager} from './rpm/rpm.js';
import type {Format, Packager} from './writer.js';

/** The format registry (nfpm's `nfpm.Get(format)`): the build pipeline knows formats only by name. */
const PACKAGERS: Record<Format, Packager> = {deb: debPackager, rpm: rpmPackager};

export function packagerFor(format: Format): Packager {
  const p = PACKAGERS[format];
  if (!p) throw new KhpkgError('usage', `format '${format}' is not supported yet`);
  return p;
}
