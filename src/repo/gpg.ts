import {spawn} from 'node:child_process';
import {KhpkgError} from '../errors.js';

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

function gpg(args: string[], input: Buffer, keyId: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.env.KHPKG_GPG ?? 'gpg', args, {stdio: ['pipe', 'pipe', 'pipe']});
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.stdin.on('error', () => undefined);
    child.on('error', (e: NodeJS.ErrnoException) =>
      reject(new KhpkgError('sign', e.code === 'ENOENT' ? 'signing needs gpg, which is not installed' : `gpg: ${e.message}`)),
    );
    child.on('close', (code) => {
      if (code === 0) return resolve(Buffer.concat(out));
      const why = Buffer.concat(err).toString('utf8').split('\n').map((l) => l.replace(/^gpg: /, '').trim()).filter(Boolean).slice(-1)[0];
      reject(new KhpkgError('sign', `gpg could not sign with key '${keyId}'${why ? `: ${why}` : ''}`));
    });
    child.stdin.end(input);
  });
}
