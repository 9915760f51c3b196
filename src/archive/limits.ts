/**
 * Bounds that stop a hostile or broken archive before it costs real memory or disk. The largest
 * header in 6.12 is under 1 MiB and a whole tree is ~35 MiB, so the defaults leave a wide margin.
 */
export interface Limits {
  /** Largest single file, in bytes (`--max-file-size`). */
  maxFileBytes: number;
  /** Largest sum of all file contents, in bytes (`--max-total-size`). */
  maxTotalBytes: number;
  /** Most entries of any kind. */
  maxEntries: number;
  /** Largest compressed input held in memory, in bytes. */
  maxInputBytes: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxFileBytes: 32 * 1024 * 1024,
  maxTotalBytes: 1024 * 1024 * 1024,
  maxEntries: 1_000_000,
  maxInputBytes: 512 * 1024 * 1024,
};

/** Parses sizes like `64M`, `1G`, `1048576` for the CLI flags. */
export function parseSize(text: string): number | undefined {
  const m = /^(\d+)\s*([kmg]i?b?)?$/i.exec(text.trim());
  if (!m) return undefined;
  const unit = (m[2] ?? '').charAt(0).toLowerCase();
  const mult = unit === 'k' ? 1024 : unit === 'm' ? 1024 ** 2 : unit === 'g' ? 1024 ** 3 : 1;
  return Number(m[1]) * mult;
}
