import {KhpkgError} from '../../errors.js';

/** One deb822 paragraph: fields in order, names as written (looked up case-insensitively). */
export class Paragraph {
  private readonly fields = new Map<string, {name: string; value: string}>();

  constructor(fields: Iterable<[string, string]> = []) {
    for (const [k, v] of fields) this.set(k, v);
  }

  /** Sets a field. Names follow Debian policy 5.1; a value may not be empty or inject lines. */
  set(name: string, value: string): this {
    if (!/^[!-9;-~][!-9;-~]*$/.test(name) || name.startsWith('#') || name.startsWith('-')) {
      throw new KhpkgError('bad-field', `deb822: invalid field name '${name}'`);
    }
    if (value.trim() === '') throw new KhpkgError('bad-field', `deb822: field ${name} is empty`);
    if (/[\r\0]/.test(value)) throw new KhpkgError('bad-field', `deb822: field ${name} holds a carriage return or NUL`);
    const lines = value.split('\n');
    if (lines[0]!.trim() === '' && lines.length > 1 && !MULTILINE.has(name.toLowerCase())) {
      throw new KhpkgError('bad-field', `deb822: field ${name} starts with an empty line`);
    }
    if (lines.length > 1 && !MULTILINE.has(name.toLowerCase())) {
      throw new KhpkgError('bad-field', `deb822: field ${name} may not span lines`);
    }
    this.fields.set(name.toLowerCase(), {name, value});
    return this;
  }

  /** As read from a file: any field may span lines there (the reader is lenient, the writer strict). */
  setParsed(name: string, value: string): this {
    if (!/^[!-9;-~]+$/.test(name)) throw new KhpkgError('bad-field', `deb822: invalid field name '${name}'`);
    this.fields.set(name.toLowerCase(), {name, value});
    return this;
  }

  get(name: string): string | undefined {
    return this.fields.get(name.toLowerCase())?.value;
  }

  has(name: string): boolean {
    return this.fields.has(name.toLowerCase());
  }

  delete(name: string): boolean {
    return this.fields.delete(name.toLowerCase());
  }

  names(): string[] {
    return [...this.fields.values()].map((f) => f.name);
  }

  /** `Name: value` lines; continuation lines start with a space and an empty one is ` .`. */
  toString(): string {
    let out = '';
    for (const {name, value} of this.fields.values()) {
      const [first, ...rest] = value.split('\n');
      out += `${name}:${first === '' ? '' : ` ${first}`}\n`;
      for (const line of rest) out += line.trim() === '' ? ' .\n' : ` ${line}\n`;
    }
    return out;
  }
}

/** Fields whose values may span lines (Description, checksum lists in Release files...). */
const MULTILINE = new Set(['description', 'md5sum', 'sha1', 'sha256', 'sha512', 'files', 'checksums-sha256', 'checksums-sha1', 'changes', 'conffiles']);

export function formatParagraphs(paragraphs: Paragraph[]): string {
  return paragraphs.map((p) => p.toString()).join('\n');
}

/**
 * Reads paragraphs separated by blank lines. Continuation lines keep their text (the leading space
 * removed, ` .` read as an empty line); comment lines are skipped.
 */
export function parseParagraphs(text: string): Paragraph[] {
  const out: Paragraph[] = [];
  let current: [string, string][] = [];
  const flush = (): void => {
    if (current.length > 0) {
      const p = new Paragraph();
      for (const [k, v] of current) p.setParsed(k, v);
      out.push(p);
    }
    current = [];
  };
  for (const [i, line] of text.split('\n').entries()) {
    if (line.trim() === '') {
      flush();
      continue;
    }
    if (line.startsWith('#')) continue;
    if (line.startsWith(' ') || line.startsWith('\t')) {
      const last = current[current.length - 1];
      if (!last) throw new KhpkgError('bad-field', `deb822: line ${i + 1} continues no field`);
      const body = line.slice(1);
      last[1] += `\n${body === '.' ? '' : body}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) throw new KhpkgError('bad-field', `deb822: line ${i + 1} is not 'Field: value'`);
    current.push([line.slice(0, colon), line.slice(colon + 1).trim()]);
  }
  flush();
  return out;
}
