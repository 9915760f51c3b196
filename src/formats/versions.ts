/** Version ordering, as dpkg and rpm define it: what `--keep N` needs to know which revisions are newest. */

/** dpkg's `epoch:upstream-revision` comparison (lib/dpkg/version.c). */
export function compareDebVersions(a: string, b: string): number {
  const pa = splitDeb(a);
  const pb = splitDeb(b);
  return Math.sign(pa.epoch - pb.epoch || verrevcmp(pa.upstream, pb.upstream) || verrevcmp(pa.revision, pb.revision));
}

function splitDeb(v: string): {epoch: number; upstream: string; revision: string} {
  const colon = v.indexOf(':');
  const epoch = colon > 0 ? Number(v.slice(0, colon)) || 0 : 0;
  const rest = colon > 0 ? v.slice(colon + 1) : v;
  const dash = rest.lastIndexOf('-');
  return dash >= 0 ? {epoch, upstream: rest.slice(0, dash), revision: rest.slice(dash + 1)} : {epoch, upstream: rest, revision: ''};
}

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';
const isAlpha = (c: string | undefined): boolean => c !== undefined && /[A-Za-z]/.test(c);

/** `~` before everything, even the end; letters before other characters. */
function order(c: string | undefined): number {
  if (c === undefined || isDigit(c)) return 0;
  if (isAlpha(c)) return c.charCodeAt(0);
  if (c === '~') return -1;
  return c.charCodeAt(0) + 256;
}

function verrevcmp(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while ((i < a.length && !isDigit(a[i])) || (j < b.length && !isDigit(b[j]))) {
      const d = order(a[i]) - order(b[j]);
      if (d !== 0) return d;
      i++;
      j++;
    }
    while (a[i] === '0') i++;
    while (b[j] === '0') j++;
    let first = 0;
    while (isDigit(a[i]) && isDigit(b[j])) {
      if (first === 0) first = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (isDigit(a[i])) return 1;
    if (isDigit(b[j])) return -1;
    if (first !== 0) return first;
  }
  return 0;
}

/** rpm's `[epoch:]version-release` comparison, each part by rpmvercmp. */
export function compareRpmVersions(a: string, b: string): number {
  const pa = splitRpm(a);
  const pb = splitRpm(b);
  return Math.sign(pa.epoch - pb.epoch || rpmvercmp(pa.version, pb.version) || rpmvercmp(pa.release, pb.release));
}

function splitRpm(v: string): {epoch: number; version: string; release: string} {
  const m = /^(?:(\d+):)?(.*?)(?:-([^-]*))?$/.exec(v)!;
  return {epoch: Number(m[1] ?? 0), version: m[2] ?? '', release: m[3] ?? ''};
}

/** rpmvercmp (rpmio/rpmvercmp.c): alternating numeric and alphabetic segments, `~` and `^` special. */
export function rpmvercmp(a: string, b: string): number {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  const sep = (c: string | undefined): boolean => c !== undefined && !/[A-Za-z0-9~^]/.test(c);
  while (i < a.length || j < b.length) {
    while (sep(a[i])) i++;
    while (sep(b[j])) j++;
    if (a[i] === '~' || b[j] === '~') {
      if (a[i] !== '~') return 1;
      if (b[j] !== '~') return -1;
      i++;
      j++;
      continue;
    }
    if (a[i] === '^' || b[j] === '^') {
      if (i >= a.length) return -1;
      if (j >= b.length) return 1;
      if (a[i] !== '^') return 1;
      if (b[j] !== '^') return -1;
      i++;
      j++;
      continue;
    }
    if (i >= a.length || j >= b.length) break;
    const numeric = isDigit(a[i]);
    const same = numeric ? isDigit : isAlpha;
    const si = i;
    const sj = j;
    while (same(a[i])) i++;
    while (same(b[j])) j++;
    let x = a.slice(si, i);
    let y = b.slice(sj, j);
    if (y === '') return numeric ? 1 : -1;
    if (numeric) {
      x = x.replace(/^0+/, '');
      y = y.replace(/^0+/, '');
      if (x.length !== y.length) return x.length > y.length ? 1 : -1;
    }
    if (x !== y) return x > y ? 1 : -1;
  }
  if (i >= a.length && j >= b.length) return 0;
  return i >= a.length ? -1 : 1;
}
