import {KhpkgError} from '../errors.js';
import type {ByteSource} from '../archive/byte-source.js';
import {debRow} from './deb/row.js';
import type {FormatRow} from './family.js';
import {pacmanRow} from './pacman/row.js';
import {rpmRow} from './rpm/row.js';
import {sysextRow} from './sysext/row.js';

/**
 * The package families khpkg writes, reads and installs through, one row each, each row in its own
 * folder beside its writer and reader (deb/row.ts, rpm/row.ts, pacman/row.ts). Nothing outside
 * `formats/` decides a layout, a tool or an index kind by a family's name: it asks its row.
 */
const ROWS = {deb: debRow, rpm: rpmRow, pacman: pacmanRow, sysext: sysextRow} as const;

/** A family's name (`--format`, the registry's records): the table's keys. */
export type Format = keyof typeof ROWS;
export const FORMATS = Object.keys(ROWS) as Format[];
export const FORMAT_TABLE: Readonly<Record<Format, FormatRow>> = ROWS;

/** The package managers the families install through (`install --via`), and khpkg's own installer. */
export type Manager = (typeof ROWS)[Format]['manager']['via'];
export type Via = 'khpkg' | Manager;
export const MANAGERS = FORMATS.map((f) => ROWS[f].manager.via) as Manager[];

/** The row of a format by name; an unknown one is a usage error. */
export function formatRow(format: string): FormatRow {
  const row = (FORMAT_TABLE as Record<string, FormatRow>)[format];
  if (!row) throw new KhpkgError('usage', `format '${format}' is not supported (${FORMATS.join(', ')})`);
  return row;
}

/** The row whose package manager `--via` (or the registry's `via`) names. */
export function rowForManager(via: string): FormatRow {
  const row = Object.values(FORMAT_TABLE).find((r) => r.manager.via === via);
  if (!row) throw new KhpkgError('internal', `no package family installs through '${via}'`);
  return row;
}

/** Whether a registry's `via` is one khpkg knows (a newer khpkg may have written one it does not). */
export function isVia(via: string): via is Via {
  return via === 'khpkg' || (MANAGERS as string[]).includes(via);
}

/** The family of a package file, by its first bytes (64 KiB: a compressed package may have to be looked into); undefined for anything else. */
export async function formatOf(head: Buffer): Promise<FormatRow | undefined> {
  for (const row of Object.values(FORMAT_TABLE)) if (await row.probe(head)) return row;
  return undefined;
}

/** The start of a file that formatOf needs. */
export async function packageHead(source: ByteSource): Promise<Buffer> {
  return source.read(0, Math.min(64 * 1024, source.size), 'its first bytes');
}
