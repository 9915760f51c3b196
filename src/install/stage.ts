import {mkdirSync, symlinkSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import type {Entry} from '../archive/entry.js';
import {modeFor, type ContentPlan, type PackageEntry} from '../content/plan.js';
import type {EntrySink} from '../pipeline/feed.js';
import type {FileRecord} from '../registry/types.js';
import {FileWriter} from './file-writer.js';

/**
 * Writes a plan's header tree into a staging dir beside its final place (same file system, so the
 * final step is one rename). Entries outside the tree (parent dirs, the build link) are only
 * collected here: they are made at swap time. Every entry becomes a registry record.
 */
export class StageSink implements EntrySink {
  readonly records: FileRecord[] = [];
  readonly outsideDirs: string[] = [];
  buildLink?: {path: string; target: string};
  bytes = 0;

  constructor(
    private readonly treeRel: string,
    private readonly stageAbs: string,
  ) {}

  async add(e: PackageEntry, data: Buffer | undefined): Promise<void> {
    this.record(e);
    if (e.path === this.treeRel) {
      // 0700 while incomplete; opened to 0755 just before it is renamed into place.
      mkdirSync(this.stageAbs, {mode: 0o700});
      return;
    }
    if (!e.path.startsWith(`${this.treeRel}/`)) {
      if (e.type === 'dir') this.outsideDirs.push(e.path);
      else if (e.type === 'symlink') this.buildLink = {path: e.path, target: e.linkTarget!};
      return;
    }
    writeEntry(join(this.stageAbs, e.path.slice(this.treeRel.length + 1)), e, data);
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

function writeEntry(target: string, e: {type: Entry['type']; mode: number; linkTarget?: string}, data: Buffer | undefined): void {
  switch (e.type) {
    case 'dir':
      // Directories come before their contents; made at once so files can follow.
      mkdirSync(target, {mode: e.mode});
      return;
    case 'symlink':
      symlinkSync(e.linkTarget!, target);
      return;
    case 'file':
      // Synchronous: headers are small, and one thread making three syscalls per file beats
      // the thread pool's hand-offs (measured 4x faster on the 6.12 tree). 'wx' is
      // O_CREAT|O_EXCL, which never follows a symlink planted at the name.
      writeFileSync(target, data ?? EMPTY, {flag: 'wx', mode: e.mode});
  }
}

const EMPTY = Buffer.alloc(0);
