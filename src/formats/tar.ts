import type {Entry, EntryType} from '../archive/entry.js';

/** What a tar member needs: an entry (path relative to `/`, the root itself ''); owner is always root:root. */
export type TarMember = Entry;

const BLOCK = 512;
const TYPEFLAG: Record<EntryType, string> = {file: '0', symlink: '2', dir: '5'};

/**
 * Header blocks of one member in POSIX ustar, with a pax record for names or link targets ustar
 * cannot hold (dpkg and libarchive read both). Names are `./path` (`./dir/` for dirs), as dpkg-deb
 * writes them, or with `plain` names `path` (`dir/`), as bsdtar writes pacman's packages (libalpm
 * finds `.PKGINFO` only by that very name).
 */
export function tarHeader(m: TarMember, opts: {plain?: boolean} = {}): Buffer {
  const name = opts.plain ? `${m.path}${m.type === 'dir' ? '/' : ''}` : m.path === '' ? './' : `./${m.path}${m.type === 'dir' ? '/' : ''}`;
  const link = m.linkTarget ?? '';
  const split = splitUstarName(name);
  const pax: string[] = [];
  if (!split) pax.push(paxRecord('path', name));
  if (Buffer.byteLength(link) > 100) pax.push(paxRecord('linkpath', link));
  const blocks: Buffer[] = [];
  if (pax.length > 0) {
    const body = Buffer.from(pax.join(''));
    const base = name.replace(/\/$/, '').split('/').pop()!.slice(0, 80);
    blocks.push(ustar({name: `./PaxHeaders/${base}`, prefix: '', typeflag: 'x', mode: 0o644, mtime: m.mtime, size: body.length, link: ''}));
    blocks.push(padded(body));
  }
  const [prefix, short] = split ?? ['', name.slice(-100)];
  blocks.push(
    ustar({
      name: short,
      prefix,
      typeflag: TYPEFLAG[m.type],
      mode: m.mode,
      mtime: m.mtime,
      size: m.type === 'file' ? m.size : 0,
      link: link.length > 100 ? '' : link,
    }),
  );
  return blocks.length === 1 ? blocks[0]! : Buffer.concat(blocks);
}

/** Zero bytes that round a member's content up to a whole block. */
export function tarPadding(size: number): Buffer {
  const rest = size % BLOCK;
  return rest === 0 ? EMPTY : Buffer.alloc(BLOCK - rest);
}

/** End of archive: two zero blocks. */
export const TAR_END = Buffer.alloc(2 * BLOCK);
const EMPTY = Buffer.alloc(0);

function padded(body: Buffer): Buffer {
  return Buffer.concat([body, tarPadding(body.length)]);
}

/** ustar splits a long name into prefix (155) + name (100) at a `/`. */
function splitUstarName(name: string): [string, string] | undefined {
  if (Buffer.byteLength(name) <= 100) return ['', name];
  for (let i = name.indexOf('/'); i >= 0; i = name.indexOf('/', i + 1)) {
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100 && rest !== '') return [prefix, rest];
  }
  return undefined;
}

/** `"<len> key=value\n"`, where len counts itself. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
  return `${len}${body}`;
}

function ustar(f: {name: string; prefix: string; typeflag: string; mode: number; mtime: number; size: number; link: string}): Buffer {
  const b = Buffer.alloc(BLOCK);
  b.write(f.name, 0, 100, 'utf8');
  octal(b, 100, 8, f.mode);
  octal(b, 108, 8, 0);
  octal(b, 116, 8, 0);
  octal(b, 124, 12, f.size);
  octal(b, 136, 12, f.mtime);
  b.write('        ', 148, 8, 'latin1');
  b.write(f.typeflag, 156, 1, 'latin1');
  b.write(f.link, 157, 100, 'utf8');
  b.write('ustar\x0000', 257, 8, 'latin1');
  b.write('root', 265, 32, 'latin1');
  b.write('root', 297, 32, 'latin1');
  b.write(f.prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return b;
}

function octal(b: Buffer, off: number, len: number, value: number): void {
  if (value >= 8 ** (len - 1)) throw new RangeError(`tar field overflow: ${value}`);
  b.write(`${value.toString(8).padStart(len - 1, '0')}\0`, off, len, 'latin1');
}
