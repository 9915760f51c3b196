import {mkdirSync, symlinkSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import type {EntryType} from '../archive/entry.js';
import type {EntrySink} from './feed.js';
import type {PackageEntry} from './plan.js';

/**
 * Writes a plan's header tree into a new dir (`dirAbs` becomes the tree's root). Entries outside the
 * tree (its parent dirs, the links in /lib/modules/<rel>) are only collected: where and whether to
 * make them is the caller's decision (the installer makes them at swap time; the kbuild kit needs none).
 */
export class TreeSink implements EntrySink {
  readonly outsideDirs: string[] = [];
  readonly links: {path: string; target: string}[] = [];

  constructor(
    protected readonly treeRel: string,
    protected readonly dirAbs: string,
  ) {}

  async add(e: PackageEntry, data: Buffer | undefined): Promise<void> {
    if (e.path === this.treeRel) {
      // 0700 while incomplete; the caller opens it when it is whole.
      mkdirSync(this.dirAbs, {mode: 0o700});
      return;
    }
    if (!e.path.startsWith(`${this.treeRel}/`)) {
      if (e.type === 'dir') this.outsideDirs.push(e.path);
      else if (e.type === 'symlink') this.links.push({path: e.path, target: e.linkTarget!});
      return;
    }
    writeEntry(join(this.dirAbs, e.path.slice(this.treeRel.length + 1)), e, data);
  }
}

/** One tree entry on disk; the rules have checked its path before it gets here. */
export function writeEntry(target: string, e: {type: EntryType; mode: number; linkTarget?: string}, data: Buffer | undefined): void {
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
