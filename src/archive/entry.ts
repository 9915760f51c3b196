/** One entry of a headers tree, as it is in the archive: POSIX path relative to the tree, no `./`. */
export type EntryType = 'file' | 'dir' | 'symlink';

export interface Entry {
  path: string;
  type: EntryType;
  /** Permission bits as the archive stores them (packages normalise them; see content/). */
  mode: number;
  /** Seconds since the epoch. */
  mtime: number;
  /** Bytes of content; 0 for dirs and links. */
  size: number;
  /** For symlinks: the target exactly as stored (relative, checked to stay inside the tree). */
  linkTarget?: string;
}

/** An entry with its content (files only). Files are small headers, so one is held at a time. */
export interface EntryWithData {
  entry: Entry;
  data?: Buffer;
}
