/**
 * Command substitutions (`$(...)`, backquotes) in OPTIONS and OPTIONS_EXTRA, made to tell when
 * they fail. The shell's `echo $(hostname -f)` succeeds with an empty word when `hostname -f`
 * fails, and docker-duplicity then ran with `--file-prefix-archive archive--`: a new chain under
 * other names, silently. Each top-level substitution is given a tail that writes its index and
 * exit status to file descriptor 3 when it failed; the expansion reads them and refuses. The body
 * runs in a subshell of its own, so that an `exit` in it still reaches the check.
 */

export interface MarkedSubstitutions {
  /** the string to expand, each top-level substitution followed by its check */
  readonly script: string;
  /** the substitutions as written, by index */
  readonly found: readonly string[];
}

/** The tail for substitution `i`: status on fd 3 when not 0. No quotes: it also sits inside "`...`". */
const tail = (i: number) => `\n__pf_status=$?; [ $__pf_status -eq 0 ] || echo ${i} $__pf_status >&3\n`;

/**
 * Finds the top-level command substitutions of a shell word list (quotes and backslashes as the
 * shell reads them; `$((...))` is arithmetic, not a command) and marks them. A string whose
 * parentheses do not balance is returned unmarked: the shell then reports the error itself.
 */
export function markSubstitutions(raw: string): MarkedSubstitutions {
  const found: string[] = [];
  let out = '';
  let i = 0;
  let inDouble = false;
  while (i < raw.length) {
    const c = raw[i]!;
    if (c === '\\') {
      out += raw.slice(i, i + 2);
      i += 2;
    } else if (c === "'" && !inDouble) {
      const end = raw.indexOf("'", i + 1);
      if (end < 0) return { script: raw, found: [] };
      out += raw.slice(i, end + 1);
      i = end + 1;
    } else if (c === '"') {
      inDouble = !inDouble;
      out += c;
      i++;
    } else if (c === '$' && raw[i + 1] === '(' && raw[i + 2] !== '(') {
      const end = closingParen(raw, i + 2);
      if (end < 0) return { script: raw, found: [] };
      out += `$( (${raw.slice(i + 2, end)}\n)${tail(found.length)})`;
      found.push(raw.slice(i, end + 1));
      i = end + 1;
    } else if (c === '`') {
      let end = i + 1;
      while (end < raw.length && raw[end] !== '`') end += raw[end] === '\\' ? 2 : 1;
      if (end >= raw.length) return { script: raw, found: [] };
      out += `\`(${raw.slice(i + 1, end)}\n)${tail(found.length)}\``;
      found.push(raw.slice(i, end + 1));
      i = end + 1;
    } else {
      out += c;
      i++;
    }
  }
  return { script: out, found };
}

/** The index of the `)` that closes the `$(` whose body starts at `from`, or -1. */
function closingParen(s: string, from: number): number {
  let depth = 1;
  let i = from;
  while (i < s.length) {
    const c = s[i]!;
    if (c === '\\') i += 2;
    else if (c === "'") {
      const end = s.indexOf("'", i + 1);
      if (end < 0) return -1;
      i = end + 1;
    } else if (c === '"') {
      i++;
      while (i < s.length && s[i] !== '"') i += s[i] === '\\' ? 2 : 1;
      i++;
    } else {
      if (c === '(') depth++;
      else if (c === ')' && --depth === 0) return i;
      i++;
    }
  }
  return -1;
}

/** The failures that the marked script reported on fd 3 (`index status` lines), described. */
export function failedSubstitutions(report: string, found: readonly string[]): string[] {
  const out: string[] = [];
  for (const line of report.split('\n')) {
    const m = /^(\d+) (\d+)$/.exec(line.trim());
    if (m) out.push(`${found[Number(m[1])] ?? 'a command substitution'} failed (exit ${m[2]})`);
  }
  return out;
}
