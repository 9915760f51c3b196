import {open, rename, rm} from 'node:fs/promises';
import {KhpkgError} from '../../errors.js';
import {bin, headerBytes, readHeader} from './header.js';
import {HEADER_SIGNATURES, SIG_OPENPGP} from './tags.js';

/** Makes a binary (not armored) detached OpenPGP signature of the bytes given. */
export type DetachedSigner = (data: Buffer) => Promise<Buffer>;

const LEAD_SIZE = 96;

/** Where the parts of an rpm file start: the signature header, the main header, the payload. */
export function rpmLayout(front: Buffer): {sigAt: number; sigLength: number; headerAt: number; headerLength: number; payloadAt: number} {
  const sig = readHeader(front, LEAD_SIZE);
  const headerAt = LEAD_SIZE + sig.length + ((8 - (sig.length % 8)) % 8);
  const main = readHeader(front, headerAt);
  return {sigAt: LEAD_SIZE, sigLength: sig.length, headerAt, headerLength: main.length, payloadAt: headerAt + main.length};
}

/**
 * Signs an rpm the way `rpm --addsign` (rpm >= 4.16) does: an OpenPGP signature of the main header
 * alone (which already holds the payload digest), stored in the signature header under RSAHEADER
 * or DSAHEADER (DSA, ECDSA, EdDSA) by the key's algorithm. The main header and payload are left
 * byte for byte; the file is rewritten beside itself and renamed over, so a failure leaves it as it was.
 */
export async function signRpmFile(path: string, sign: DetachedSigner): Promise<void> {
  const fh = await open(path, 'r');
  let front: Buffer;
  let size: number;
  try {
    size = (await fh.stat()).size;
    // Headers of a kheaders rpm are a few MB at most; read up to the payload.
    front = Buffer.alloc(Math.min(size, 64 * 1024 * 1024));
    await fh.read(front, 0, front.length, 0);
  } finally {
    await fh.close();
  }
  let layout: ReturnType<typeof rpmLayout>;
  try {
    layout = rpmLayout(front);
  } catch (e) {
    throw new KhpkgError('bad-input', `${path} is not an rpm (${(e as Error).message})`);
  }
  const header = front.subarray(layout.headerAt, layout.payloadAt);
  const signature = await sign(header);
  const tag = signatureTag(signature);
  const sig = readHeader(front, layout.sigAt);
  const tags = new Map(sig.tags);
  tags.delete(HEADER_SIGNATURES);
  for (const t of Object.values(SIG_OPENPGP)) tags.delete(t);
  tags.set(tag, bin(signature));
  const sigBytes = headerBytes(HEADER_SIGNATURES, tags);
  const newFront = Buffer.concat([front.subarray(0, LEAD_SIZE), sigBytes, Buffer.alloc((8 - (sigBytes.length % 8)) % 8)]);

  const tmp = `${path}.signing-${process.pid}`;
  try {
    const out = await open(tmp, 'wx', 0o644);
    try {
      await out.write(newFront, 0, newFront.length, 0);
      const src = await open(path, 'r');
      try {
        const chunk = Buffer.alloc(1 << 20);
        let at = layout.headerAt;
        let pos = newFront.length;
        while (at < size) {
          const {bytesRead} = await src.read(chunk, 0, chunk.length, at);
          if (bytesRead === 0) break;
          await out.write(chunk, 0, bytesRead, pos);
          at += bytesRead;
          pos += bytesRead;
        }
      } finally {
        await src.close();
      }
      await out.sync();
    } finally {
      await out.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, {force: true});
    throw e;
  }
}

/** RSAHEADER for RSA keys, DSAHEADER for the others rpm knows, from the signature packet itself. */
export function signatureTag(packet: Buffer): number {
  const algo = publicKeyAlgorithm(packet);
  if (algo === 1) return SIG_OPENPGP.RSA;
  if (algo === 17 || algo === 19 || algo === 22) return SIG_OPENPGP.DSA;
  throw new KhpkgError('sign', `rpm cannot hold a signature made with OpenPGP public-key algorithm ${algo}`);
}

/** The public-key algorithm of a v4 signature packet (RFC 4880 5.2.3), old or new packet format. */
function publicKeyAlgorithm(p: Buffer): number {
  if (p.length < 6 || (p[0]! & 0x80) === 0) throw new KhpkgError('sign', 'the signer gave no binary OpenPGP signature');
  let body: number;
  if (p[0]! & 0x40) {
    const l = p[1]!;
    body = l < 192 ? 2 : l < 224 ? 3 : 6;
  } else {
    body = 1 + [1, 2, 4][p[0]! & 0x03]!;
  }
  const version = p[body]!;
  if (version === 3) return p[body + 15]!;
  return p[body + 2]!;
}
