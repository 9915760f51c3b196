/**
 * pacman's version order (libalpm's alpm_pkg_vercmp, what `vercmp` prints): `[epoch:]pkgver[-pkgrel]`,
 * the epoch and pkgver compared segment by segment, the pkgrel only where both have one. Its segment
 * order is rpm 4.8's, before rpm learned `~` and `^`, and it differs from today's rpm where separators
 * or a trailing alpha differ: a longer run of separators is newer, and `1.0a` is older than `1.0`.
 */
export function comparePacmanVersions(a: string, b: string): number {
  if (a === b) return 0;
  const [ea, va, ra] = splitEvr(a);
  const [eb, vb, rb] = splitEvr(b);
  return alpmSegments(ea, eb) || alpmSegments(va, vb) || (ra !== undefined && rb !== undefined ? alpmSegments(ra, rb) : 0);
}

/** Epoch (digits before `:`, else 0), version, and release after the last `-` (none without one). */
function splitEvr(v: string): [string, string, string | undefined] {
  const digits = /^\d*/.exec(v)![0].length;
  const epoch = v[digits] === ':' ? v.slice(0, digits) || '0' : '0';
  const rest = v[digits] === ':' ? v.slice(digits + 1) : v;
  // The release is cut at the last `-` after the epoch's digits, as parseEVR's strrchr does.
  const dash = v.lastIndexOf('-');
  if (dash < digits) return [epoch, rest, undefined];
  const cut = dash - (v.length - rest.length);
  return [epoch, rest.slice(0, cut), rest.slice(cut + 1)];
}

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';
const isAlpha = (c: string | undefined): boolean => c !== undefined && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
const isAlnum = (c: string | undefined): boolean => isDigit(c) || isAlpha(c);

/** alpm's rpmvercmp: runs of digits (numerically) and of letters (bytewise), split by anything else. */
function alpmSegments(a: string, b: string): number {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const [si, sj] = [i, j];
    while (i < a.length && !isAlnum(a[i])) i++;
    while (j < b.length && !isAlnum(b[j])) j++;
    if (i >= a.length || j >= b.length) break;
    // Runs of separators of different lengths decide.
    if (i - si !== j - sj) return i - si < j - sj ? -1 : 1;
    const numeric = isDigit(a[i]);
    const run = numeric ? isDigit : isAlpha;
    let ei = i;
    let ej = j;
    while (ei < a.length && run(a[ei])) ei++;
    while (ej < b.length && run(b[ej])) ej++;
    // A number against letters: the number is newer.
    if (ej === j) return numeric ? 1 : -1;
    let x = a.slice(i, ei);
    let y = b.slice(j, ej);
    if (numeric) {
      x = x.replace(/^0+/, '');
      y = y.replace(/^0+/, '');
      if (x.length !== y.length) return x.length > y.length ? 1 : -1;
    }
    if (x !== y) return x < y ? -1 : 1;
    i = ei;
    j = ej;
  }
  if (i >= a.length && j >= b.length) return 0;
  // What remains decides: letters never beat the end of the other, anything else does.
  return (i >= a.length && !isAlpha(b[j])) || isAlpha(a[i]) ? -1 : 1;
}
