import {readFileSync} from 'node:fs';
import {join} from 'node:path';
import {createCompressor} from '../formats/compression.js';
import {TAR_END, tarHeader, tarPadding} from '../formats/tar.js';
import {CompressedSection, writePackageFile} from '../formats/output.js';
import type {StagedFile} from './stage.js';

/**
 * `khpkg-<version>-linux-<arch>.tar.xz`: the staged tree under one top directory, root-owned,
 * sorted, every mtime the release's time, so two runs give the same bytes (khpkg's own tar writer,
 * the one its .deb data members use).
 */
export async function writeTarball(path: string, top: string, dir: string, files: StagedFile[], mtime: number): Promise<{size: number; sha256: string}> {
  let sha256 = '';
  const size = await writePackageFile(path, async (fh) => {
    // The whole file is the compressed stream: its digest is the file's.
    const section = new CompressedSection(await createCompressor('xz'), fh, 0, {digest: true});
    try {
      await section.write(tarHeader({path: top, type: 'dir', mode: 0o755, mtime, size: 0}));
      for (const f of files) {
        const data = f.type === 'file' ? readFileSync(join(dir, f.path)) : undefined;
        await section.write(tarHeader({path: `${top}/${f.path}`, type: f.type, mode: f.mode, mtime, size: data?.length ?? 0}));
        if (data) {
          await section.write(data);
          await section.write(tarPadding(data.length));
        }
      }
      await section.write(TAR_END);
      const end = await section.end();
      sha256 = end.sha256!;
      return end.size;
    } catch (e) {
      section.destroy();
      throw e;
    }
  });
  return {size, sha256};
}
