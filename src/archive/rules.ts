import {posix} from 'node:path';
import {invalidEntry, KhpkgError} from '../errors.js';
import type {Entry, EntryType} from './entry.js';
import type {Limits} from './limits.js';

/** The tar header fields the rules look at, before any content is read. */
export interface RawHeader {
  /** The name as raw bytes decoded latin1, so invalid UTF-8 is still visible. */
  rawName: string;
  /** Type names: file, contiguous-file, directory, symlink, link, fifo, character-device, block-device. */
  type: string;
  mode: number;
  mtime: number;
  size: number;
  linkname?: string | null;
}

const utf8 = new TextDecoder('utf-8', {fatal: true});
const TYPES: Record<string, EntryType | undefined> = {file: 'file', 'contiguous-file': 'file', directory: 'dir', symlink: 'symlink'};

/**
 * Checks every entry as it streams past, before its content is read, so a hostile archive is stopped
 * at its first bad entry and nothing has been written. Each rejection names the entry and the rule.
 */
export class TreeRules {
  private readonly seen = new Map<string, EntryType>();
  private readonly links = new Map<string, string>();
  srcarch: string | undefined;
  /** The first entry's mtime (the root `./` in a kernel-made archive): the time of the tree's own dir. */
  treeMtime: number | undefined;
  private entries = 0;
  private total = 0;

  constructor(private readonly limits: Limits) {}

  /** Validates one header and returns the entry, or `undefined` for the tree root `./`. */
  check(h: RawHeader): Entry | undefined {
    const name = decodeName(h.rawName);
    if (++this.entries > this.limits.maxEntries) {
      throw invalidEntry(name, `more than ${this.limits.maxEntries} entries`);
    }
    const type = TYPES[h.type];
    if (!type) throw invalidEntry(name, typeRule(h.type));
    const path = normalise(name);
    if (path === undefined) {
      if (type !== 'dir') throw invalidEntry(name, 'the tree root must be a directory');
      this.treeMtime ??= h.mtime;
      return undefined;
    }
    this.treeMtime ??= h.mtime;
    this.checkPlace(name, path, type);
    if (type === 'file') {
      if (h.size > this.limits.maxFileBytes) {
        throw invalidEntry(name, `${h.size} bytes is over the per-file bound of ${this.limits.maxFileBytes} (--max-file-size)`);
      }
      this.total += h.size;
      if (this.total > this.limits.maxTotalBytes) {
        throw invalidEntry(name, `the archive's contents pass the total bound of ${this.limits.maxTotalBytes} bytes (--max-total-size)`);
      }
    }
    const entry: Entry = {path, type, mode: h.mode & 0o7777, mtime: h.mtime, size: type === 'file' ? h.size : 0};
    if (type === 'symlink') entry.linkTarget = this.checkLink(name, path, h.linkname ?? '');
    this.seen.set(path, type);
    return entry;
  }

  /** Whether the archive so far holds this path (tree-relative). */
  has(path: string): boolean {
    return this.seen.has(path);
  }

  /** After the last entry: is this a kheaders tree, and does every link land on something? */
  finish(): {srcarch: string} {
    for (const [path, target] of this.links) {
      if (!this.resolves(path, target)) throw invalidEntry(path, `symlink to '${target}' points at nothing in the tree`);
    }
    if (this.seen.get('include/linux/kconfig.h') !== 'file') {
      throw new KhpkgError('not-kheaders', 'not a kheaders archive: include/linux/kconfig.h is missing');
    }
    if (this.seen.get('include/generated/autoconf.h') !== 'file') {
      throw new KhpkgError('not-kheaders', 'not a kheaders archive: include/generated/autoconf.h is missing');
    }
    if (!this.srcarch) throw new KhpkgError('not-kheaders', 'not a kheaders archive: no arch/<arch>/include directory');
    return {srcarch: this.srcarch};
  }

  private checkPlace(name: string, path: string, type: EntryType): void {
    if (this.seen.has(path)) throw invalidEntry(name, 'duplicate entry');
    const parts = path.split('/');
    // kheaders holds exactly include/ and arch/<SRCARCH>/include/ (kernel/gen_kheaders.sh).
    const top = parts[0];
    if (top === 'arch') {
      if (parts.length >= 2) {
        if (this.srcarch === undefined) this.srcarch = parts[1];
        else if (this.srcarch !== parts[1]) throw invalidEntry(name, `a second architecture (arch/${this.srcarch} came first)`);
        if (!/^[a-z0-9_]+$/.test(parts[1]!)) throw invalidEntry(name, 'not a kernel architecture name');
      }
      if (parts.length >= 3 && parts[2] !== 'include') throw invalidEntry(name, 'outside arch/<arch>/include');
      if (parts.length < 3 && type !== 'dir') throw invalidEntry(name, 'outside arch/<arch>/include');
    } else if (top !== 'include') {
      throw invalidEntry(name, 'outside include/ and arch/<arch>/include/, where kheaders archives keep everything');
    }
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      const kind = this.seen.get(parent);
      if (kind === 'symlink') throw invalidEntry(name, `written through the symlink ${parent}`);
      if (kind === 'file') throw invalidEntry(name, `its parent ${parent} is a file`);
    }
  }

  private checkLink(name: string, path: string, target: string): string {
    if (target === '') throw invalidEntry(name, 'symlink with an empty target');
    if (target.includes('\0') || /[\x00-\x1f\x7f]/.test(target)) throw invalidEntry(name, 'control character in symlink target');
    if (target.startsWith('/')) throw invalidEntry(name, `absolute symlink target '${target}'`);
    const resolved = posix.normalize(posix.join(posix.dirname(path), target));
    if (resolved === '..' || resolved.startsWith('../') || resolved === '.') {
      throw invalidEntry(name, `symlink to '${target}' points outside the tree`);
    }
    this.links.set(path, target);
    return target;
  }

  /** Follows a link chain inside the tree; bounded so a loop ends. */
  private resolves(path: string, target: string): boolean {
    let current = posix.normalize(posix.join(posix.dirname(path), target));
    for (let hops = 0; hops < 40; hops++) {
      const kind = this.seen.get(current);
      if (kind === 'file' || kind === 'dir') return true;
      const next = this.links.get(current);
      if (kind !== 'symlink' || next === undefined) return false;
      current = posix.normalize(posix.join(posix.dirname(current), next));
      if (current.startsWith('../')) return false;
    }
    return false;
  }
}

function decodeName(raw: string): string {
  const bytes = Buffer.from(raw, 'latin1');
  try {
    return utf8.decode(bytes);
  } catch {
    throw invalidEntry(raw, 'name is not valid UTF-8');
  }
}

/** `./include/linux/` → `include/linux`; `./` or `.` → undefined (the root). Rejects escapes. */
function normalise(name: string): string | undefined {
  if (/[\x00-\x1f\x7f]/.test(name)) throw invalidEntry(name, 'control character in name');
  if (name.startsWith('/')) throw invalidEntry(name, 'absolute path');
  let p = name.startsWith('./') ? name.slice(2) : name;
  if (p.endsWith('/')) p = p.slice(0, -1);
  if (p === '' || p === '.') return undefined;
  // Real kernel header paths stay under 100 bytes; anything near PATH_MAX/NAME_MAX is hostile.
  if (Buffer.byteLength(p) > 1024) throw invalidEntry(name.slice(0, 120) + '...', 'name is longer than 1024 bytes');
  for (const part of p.split('/')) {
    if (Buffer.byteLength(part) > 255) throw invalidEntry(name.slice(0, 120) + '...', 'a name component is longer than 255 bytes');
    if (part === '..') throw invalidEntry(name, "path escapes the tree ('..')");
    if (part === '' || part === '.') throw invalidEntry(name, 'non-canonical path (empty or . component)');
  }
  return p;
}

function typeRule(type: string): string {
  switch (type) {
    case 'link':
      return 'hard links are not allowed (kheaders archives have none)';
    case 'character-device':
    case 'block-device':
      return 'device files are not allowed';
    case 'fifo':
      return 'FIFOs are not allowed';
    default:
      return `entry type '${type}' is not allowed (only directories, files and symlinks)`;
  }
}
