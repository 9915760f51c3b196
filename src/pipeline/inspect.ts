import type {KheadersInfo} from '../archive/info.js';
import type {Limits} from '../archive/limits.js';
import {scanArchive, type Progress} from '../archive/scan.js';
import type {ArchiveSource} from '../source/index.js';

/** Validates the whole archive and says what kernel it belongs to. */
export async function inspectArchive(source: ArchiveSource, limits: Limits, onProgress?: Progress): Promise<KheadersInfo> {
  return (await scanArchive(source.bytes, limits, onProgress, source.sha256)).info;
}
