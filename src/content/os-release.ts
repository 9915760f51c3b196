import {readFileSync} from 'node:fs';
import {KhpkgError} from '../errors.js';
import {inRoot} from '../root/paths.js';

/** What a system extension is matched against (os-release(5), systemd-sysext(8)): the host's identity. */
export interface HostRelease {
  /** `ID=`: must equal the extension's (or the extension says `_any`). */
  id: string;
  /** `SYSEXT_LEVEL=`: where the host has one, the extension must carry the same. */
  sysextLevel?: string;
  /** `VERSION_ID=`: what the extension must carry where the host has no SYSEXT_LEVEL. */
  versionId?: string;
  /** Where it was read, for messages. */
  origin: string;
}

/** os-release's `KEY=value` lines, values unquoted as the shell would (os-release(5)). */
export function parseOsRelease(text: string, origin: string): HostRelease {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (!m) continue;
    let v = m[2]!;
    const q = /^(["'])(.*)\1$/.exec(v);
    if (q) v = q[1] === '"' ? q[2]!.replace(/\\([\\$"`])/g, '$1') : q[2]!;
    fields.set(m[1]!, v);
  }
  const id = fields.get('ID');
  if (!id) throw new KhpkgError('bad-input', `${origin} names no ID=: a system extension is matched by it`);
  return {id, sysextLevel: fields.get('SYSEXT_LEVEL') || undefined, versionId: fields.get('VERSION_ID') || undefined, origin};
}

/** A root's own os-release: /etc/os-release, else /usr/lib/os-release, in the order systemd-sysext reads them. */
export function readHostRelease(root: string): HostRelease {
  for (const rel of ['etc/os-release', 'usr/lib/os-release']) {
    let text: string;
    try {
      text = readFileSync(inRoot(root, rel), 'utf8');
    } catch {
      continue;
    }
    return parseOsRelease(text, `${root === '/' ? '' : root}/${rel}`);
  }
  throw new KhpkgError('bad-input', `${root} has no os-release (usr/lib/os-release or etc/os-release): a system extension is matched against it`);
}
