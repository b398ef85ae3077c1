/**
 * Duplicity 0.8.22's glob matching (`duplicity/globmatch.py`), translated to JavaScript regular
 * expressions that behave like the Python ones duplicity builds.
 *
 * Python details reproduced:
 * - `*` is `[^/]*`, `**` is `.*` (with re.S, so across newlines), `?` is `[^/]`; names are matched
 *   as code points (see fs-name.ts), hence the `u` flag.
 * - `[...]` follows globmatch's bracket scan and Python's set parsing (a leading `]` is literal,
 *   `!` or `^` negates, backslashes are literal); each member is emitted as `\u{...}` so no
 *   JavaScript class syntax can leak in.
 * - Python's `$` also matches before a final newline, so a glob for `a` matches a file `a\n`.
 */

export type GlobVerdict = 0 | 1 | 2 | null;

export class GlobbingError extends Error {}

/** The candidate a glob function looks at: its decoded full name and whether it is a directory. */
export interface GlobSubject {
  readonly name: string;
  readonly isDir: boolean;
}

/** Python `$` (no MULTILINE): end of string, or just before a newline that ends the string. */
const PY_END = '\\n?$';

/**
 * `select_fn_from_glob`: returns include (0/1) when the path matches or lies below a match, 2
 * ("scan") for an include glob when the path is a directory that could contain a match, else null.
 */
export function globSelector(globIn: string, include: 0 | 1, ignoreCase: boolean): (s: GlobSubject) => GlobVerdict {
  if (globIn === '') throw new GlobbingError('empty glob string');
  let glob = globIn;
  let endsWithSlash = false;
  if (glob === '/') glob = '/**';
  else if (glob.endsWith('/')) {
    endsWithSlash = true;
    glob = glob.slice(0, -1);
  }
  const flags = ignoreCase ? 'sui' : 'su';
  const body = globToRegexSource(glob);
  const matchRe = new RegExp(`^${body}(?:${PY_END}|/)`, flags);
  const exactRe = endsWithSlash ? new RegExp(`^${body}${PY_END}`, flags) : null;

  const star2 = glob.indexOf('**');
  const scanGlob = star2 >= 0 ? glob.slice(0, star2 + 2) : glob;
  const scanRe = new RegExp(`^(?:${prefixRegexSources(scanGlob).join('|')})${PY_END}`, flags);

  return (s: GlobSubject): GlobVerdict => {
    if (matchRe.test(s.name)) {
      if (exactRe === null || !exactRe.test(s.name)) return include;
      // A glob ending in '/' names directories only.
      return s.isDir ? include : null;
    }
    if (include === 1 && scanRe.test(s.name)) return 2;
    return null;
  };
}

/** `_glob_get_prefix_regexs`: one regex source per leading run of components. */
function prefixRegexSources(glob: string): string[] {
  const parts = glob.split('/');
  if (parts.slice(1, -1).includes('')) {
    throw new GlobbingError(`Consecutive '/'s found in globbing string ${glob}`);
  }
  const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  if (prefixes[0] === '') prefixes[0] = '/';
  return prefixes.map(globToRegexSource);
}

/** `glob_to_regex`, emitting JavaScript (`u` mode) regex source. */
export function globToRegexSource(pat: string): string {
  const chars = Array.from(pat); // code points, like Python str indexing
  const n = chars.length;
  let res = '';
  let i = 0;
  while (i < n) {
    const c = chars[i]!;
    i++;
    if (c === '*' && chars[i] === '*') {
      res += '.*';
      i++;
    } else if (c === '*') {
      res += '[^/]*';
    } else if (c === '?') {
      res += '[^/]';
    } else if (c === '[') {
      let j = i;
      if (j < n && (chars[j] === '!' || chars[j] === '^')) j++;
      if (j < n && chars[j] === ']') j++;
      while (j < n && chars[j] !== ']') j++;
      if (j >= n) {
        res += '\\[';
      } else {
        res += bracketClass(chars.slice(i, j));
        i = j + 1;
      }
    } else {
      res += escapeLiteral(c);
    }
  }
  return res;
}

/** Python's parse of `[` + stuff + `]` where stuff is what globmatch copied (backslashes doubled). */
function bracketClass(stuff: string[]): string {
  let k = 0;
  let negate = false;
  if (stuff[0] === '!' || stuff[0] === '^') {
    negate = true;
    k = 1;
  }
  const items: string[] = [];
  while (k < stuff.length) {
    const lo = stuff[k]!;
    k++;
    if (stuff[k] === '-') {
      k++;
      if (k >= stuff.length) {
        // `a-]`: the dash is literal.
        items.push(cp(lo), cp('-'));
        break;
      }
      const hi = stuff[k]!;
      k++;
      if (hi.codePointAt(0)! < lo.codePointAt(0)!) {
        throw new GlobbingError(`bad character range ${lo}-${hi} in glob`);
      }
      items.push(`${cp(lo)}-${cp(hi)}`);
    } else {
      items.push(cp(lo));
    }
  }
  // globToRegexSource never passes an empty set; `[]` / `[^]` would mean something else in JS.
  if (items.length === 0) throw new GlobbingError('empty character set in glob');
  return `[${negate ? '^' : ''}${items.join('')}]`;
}

function cp(ch: string): string {
  return `\\u{${ch.codePointAt(0)!.toString(16)}}`;
}

const SYNTAX = new Set(['^', '$', '\\', '.', '*', '+', '?', '(', ')', '[', ']', '{', '}', '|', '/']);

function escapeLiteral(ch: string): string {
  if (SYNTAX.has(ch)) return `\\${ch}`;
  // Lone surrogates (escaped invalid bytes) and control characters are safest spelled out.
  const code = ch.codePointAt(0)!;
  if (code < 0x20 || (code >= 0xd800 && code <= 0xdfff)) return cp(ch);
  return ch;
}
