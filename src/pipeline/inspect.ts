import type {KheadersInfo} from '../archive/info.js';
import type {Limits} from '../archive/limits.js';
import {scanArchive, type Progress} from '../archive/scan.js';
import {btfFacts} from '../btf/btf.js';
import {readKernelBtf, settleBtf} from '../source/btf.js';
import {HEADER_BTF_LIMITS, HEADERS_ORIGIN, headerMadeBtf, headerProgress} from '../source/header-btf.js';
import type {ArchiveSource} from '../source/index.js';

/** What `inspect` says of the kernel's BTF, when it has some to read (the running kernel's, `--btf FILE`). */
export interface BtfInfo {
  source: string;
  /** What the file was: `x86 bzImage (zstd)`, `raw BTF`, ... */
  from: string;
  /** The release the image names (undefined for raw BTF, taken as the archive's). */
  release?: string;
  sha256: string;
  types: number;
  bytes: number;
  kinds: Record<string, number>;
  note?: string;
}

/** Validates the whole archive and says what kernel it belongs to, and what its BTF is. */
export async function inspectArchive(source: ArchiveSource, limits: Limits, onProgress?: Progress): Promise<KheadersInfo & {btf?: BtfInfo; btfNote?: string}> {
  const asked = source.headerBtf === 'asked';
  const read = asked ? {} : await readKernelBtf(source.btf);
  let kbtf = read.btf;
  let note = read.note;
  const scan = await scanArchive(source.bytes, limits, onProgress, source.sha256, {keepTar: asked});
  const info = scan.info;
  if (asked)
    try {
      ({btf: kbtf, note} = await headerMadeBtf(scan, scan.tar ?? source.bytes, limits, {asked, onProgress: headerProgress(onProgress)}));
    } finally {
      scan.tar?.close();
    }
  if (!kbtf) return note ? {...info, btfNote: note} : info;
  const settled = settleBtf(kbtf, info.release);
  const {types, bytes, kinds} = btfFacts(kbtf.btf);
  const said = settled.note ?? (kbtf.origin === HEADERS_ORIGIN ? HEADER_BTF_LIMITS : undefined);
  return {...info, btf: {source: kbtf.origin, from: kbtf.from, release: kbtf.release, sha256: kbtf.sha256, types, bytes, kinds, ...(said ? {note: said} : {})}};
}
