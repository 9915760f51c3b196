import {mkdirSync} from 'node:fs';
import {join} from 'node:path';
import type {Entry} from '../archive/entry.js';
import {modeFor, type ContentPlan, type PackageEntry} from '../content/plan.js';
import {TreeSink} from '../content/tree-writer.js';
import type {FileRecord} from '../registry/types.js';
import {FileWriter} from './file-writer.js';

/**
 * The installer's tree writer: a TreeSink into a staging dir beside the tree's final place (same
 * file system, so the final step is one rename) that also makes every entry a registry record.
 */
export class StageSink extends TreeSink {
  readonly records: FileRecord[] = [];
  bytes = 0;

  override async add(e: PackageEntry, data: Buffer | undefined): Promise<void> {
    this.record(e);
    await super.add(e, data);
  }

  /**
   * For a stage the archive was already written into while it was read (ScanStage): records the
   * archive's entries and the tree root, and writes only what khpkg adds.
   */
  async addExtras(plan: ContentPlan): Promise<void> {
    for (const e of plan.entries) {
      if (e.fromArchive || e.path === this.treeRel) this.record(e);
      else await this.add(e, e.data);
    }
  }

  private record(e: PackageEntry): void {
    this.records.push({path: e.path, type: e.type, mode: e.mode, size: e.size, sha256: e.sha256, linkTarget: e.linkTarget});
    if (e.type === 'file' && e.path.startsWith(`${this.treeRel}/`)) this.bytes += e.size;
  }
}

/**
 * Writes archive entries into a new dir as the first pass reads them, so installing reads the archive
 * once and file creation (most of an install) starts at once, on its own thread (FileWriter). The
 * rules have checked every path before it gets here. Call `done()` before using the tree, and
 * `close()` before the caller removes the dir after a failure.
 */
export class ScanStage {
  written = 0;
  private readonly writer: FileWriter;

  constructor(readonly dirAbs: string) {
    mkdirSync(dirAbs, {mode: 0o700});
    this.writer = new FileWriter();
  }

  async add(e: Entry, data: Buffer | undefined): Promise<void> {
    const target = join(this.dirAbs, e.path);
    this.written++;
    if (e.type === 'dir') await this.writer.mkdir(target, modeFor('dir'));
    else if (e.type === 'symlink') await this.writer.symlink(e.linkTarget!, target);
    else await this.writer.writeFile(target, data ?? EMPTY, modeFor('file'));
  }

  async done(): Promise<void> {
    await this.writer.done();
  }

  async close(): Promise<void> {
    await this.writer.close();
  }
}

const EMPTY = Buffer.alloc(0);
