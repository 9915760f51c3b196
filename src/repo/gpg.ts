import {KhpkgError} from '../errors.js';
import {runTool} from '../tool.js';

/**
 * Signing goes through gpg: the keys live in the user's keyring (or its agent, or a smartcard), and
 * APT, DNF and rpm all verify OpenPGP. Only `--sign-key` runs it; GNUPGHOME picks the keyring.
 */
export class GpgSigner {
  constructor(readonly keyId: string) {}

  /** `InRelease`: the text clear-signed. */
  clearsign(data: Buffer): Promise<Buffer> {
    return this.run(['--clearsign'], data);
  }

  /** A detached signature, ASCII-armored (`Release.gpg`, `repomd.xml.asc`) or binary (rpm headers). */
  detach(data: Buffer, armor: boolean): Promise<Buffer> {
    return this.run(['--detach-sign', ...(armor ? ['--armor'] : [])], data);
  }

  /** The public key, armored, for clients to import. */
  publicKey(): Promise<Buffer> {
    return gpg(['--batch', '--armor', '--export', this.keyId], Buffer.alloc(0), this.keyId).then((key) => {
      if (key.length === 0) throw new KhpkgError('sign', `gpg has no public key '${this.keyId}'`);
      return key;
    });
  }

  private run(args: string[], data: Buffer): Promise<Buffer> {
    return gpg(['--batch', '--yes', '--no-tty', '--local-user', this.keyId, '--digest-algo', 'SHA256', ...args, '--output', '-'], data, this.keyId);
  }
}

async function gpg(args: string[], input: Buffer, keyId: string): Promise<Buffer> {
  const r = await runTool(process.env.KHPKG_GPG ?? 'gpg', args, {input}).catch((e: NodeJS.ErrnoException) => {
    throw new KhpkgError('sign', e.code === 'ENOENT' ? 'signing needs gpg, which is not installed' : `gpg: ${e.message}`);
  });
  if (r.code === 0) return r.stdout;
  const why = r.stderr
    .toString('utf8')
    .split('\n')
    .map((l) => l.replace(/^gpg: /, '').trim())
    .filter(Boolean)
    .slice(-1)[0];
  throw new KhpkgError('sign', `gpg could not sign with key '${keyId}'${why ? `: ${why}` : ''}`);
}
