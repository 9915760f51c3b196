/**
 * The 96-byte lead rpm still reads first: magic, format 3.0, binary, the package's NVR (66 bytes,
 * NUL-terminated), and "header-style signature" (5). Arch/OS numbers are legacy; rpm ignores them.
 */
export const LEAD_SIZE = 96;

export function lead(nvr: string): Buffer {
  const b = Buffer.alloc(LEAD_SIZE);
  b.writeUInt32BE(0xedabeedb, 0);
  b[4] = 3;
  b[5] = 0;
  b.writeUInt16BE(0, 6);
  b.writeUInt16BE(1, 8);
  Buffer.from(nvr, 'utf8').subarray(0, 65).copy(b, 10);
  b.writeUInt16BE(1, 76);
  b.writeUInt16BE(5, 78);
  return b;
}
