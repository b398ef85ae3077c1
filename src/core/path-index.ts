/**
 * A path inside a backup, as duplicity models it: a tuple of raw byte components relative to the
 * backup root. The root is the empty tuple. Bytes, not strings, because file names on Linux are
 * arbitrary bytes (invalid UTF-8 included) and must round-trip exactly.
 */
export type PathIndex = readonly Buffer[];

export const ROOT_INDEX: PathIndex = Object.freeze([]) as PathIndex;

/**
 * Duplicity's order: tuples compared component by component, bytewise. So `a/b/f` sorts before
 * `a-c` although '/' > '-'. Every merge (source walk vs signatures, sets on restore) relies on it.
 */
export function compareIndex(a: PathIndex, b: PathIndex): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const c = compareComponent(a[i]!, b[i]!);
    if (c !== 0) return c;
  }
  return a.length - b.length;
}

/**
 * Buffer.compare's result (-1, 0, 1) for two components, in JavaScript: components are short, and
 * the native call costs more than the loop (an incremental compares ~3 per path of the source).
 */
function compareComponent(x: Buffer, y: Buffer): number {
  if (x === y) return 0;
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const d = x[i]! - y[i]!;
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return x.length < y.length ? -1 : x.length > y.length ? 1 : 0;
}

export function indexEquals(a: PathIndex, b: PathIndex): boolean {
  return compareIndex(a, b) === 0;
}

/** True when `prefix` is `index` itself or one of its ancestors. */
export function indexStartsWith(index: PathIndex, prefix: PathIndex): boolean {
  if (prefix.length > index.length) return false;
  for (let i = 0; i < prefix.length; i++) if (!index[i]!.equals(prefix[i]!)) return false;
  return true;
}

/** Components joined with '/'; the root is the empty buffer. */
export function indexToBytes(index: PathIndex): Buffer {
  if (index.length === 0) return Buffer.alloc(0);
  const parts: Buffer[] = [];
  index.forEach((c, i) => {
    if (i > 0) parts.push(SLASH);
    parts.push(c);
  });
  return Buffer.concat(parts);
}

/** Splits on '/', dropping empty and '.' components; rejects '..' (a hostile archive). */
export function indexFromBytes(path: Buffer): PathIndex {
  const out: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= path.length; i++) {
    if (i === path.length || path[i] === 0x2f) {
      const c = path.subarray(start, i);
      start = i + 1;
      if (c.length === 0 || (c.length === 1 && c[0] === 0x2e)) continue;
      if (c.length === 2 && c[0] === 0x2e && c[1] === 0x2e) {
        throw new Error(`path component '..' in ${JSON.stringify(path.toString('latin1'))}`);
      }
      out.push(Buffer.from(c));
    }
  }
  return out;
}

export function indexFromString(path: string): PathIndex {
  return indexFromBytes(Buffer.from(path, 'utf8'));
}

/** For messages only: invalid UTF-8 shows as U+FFFD. Never use for file-system access. */
export function indexToDisplay(index: PathIndex): string {
  return index.length === 0 ? '.' : indexToBytes(index).toString('utf8');
}

const SLASH = Buffer.from('/');
