import {TarSpool} from '../archive/spool.js';
import type {ScannedEntry} from '../archive/scan.js';

/**
 * Entries read before the kernel's identity is known (the package paths name the release, and
 * utsrelease.h comes a third of the way into the archive): their metadata stays in memory, their
 * content goes to an unlinked temp file, so memory does not grow with the archive. Where the temp
 * dir cannot take it, content is held in memory instead.
 */
export class HeldEntries {
  private readonly items: {entry: ScannedEntry; at?: number; data?: Buffer}[] = [];
  private readonly spool = TarSpool.create();

  add(entry: ScannedEntry, data: Buffer | undefined): void {
    if (!data) {
      this.items.push({entry});
      return;
    }
    const at = this.spool?.length;
    this.spool?.write(data);
    if (this.spool?.usable) this.items.push({entry, at});
    else this.items.push({entry, data: Buffer.from(data)});
  }

  /** The held entries in order, with their content, and then forgets them. */
  *drain(): Generator<{entry: ScannedEntry; data?: Buffer}> {
    for (const {entry, at, data} of this.items.splice(0)) {
      yield {entry, data: data ?? (at === undefined ? undefined : this.spool!.readAt(at, entry.size))};
    }
  }

  close(): void {
    this.spool?.close();
  }
}
