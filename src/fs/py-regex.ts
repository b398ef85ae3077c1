/**
 * Translation of the Python regular expressions given to `--include-regexp` / `--exclude-regexp`
 * into JavaScript ones with the same meaning on file names, for the common subset: literals,
 * classes, groups (including `(?P<name>...)`), lookarounds, quantifiers, anchors, the usual
 * escapes and leading global flags `(?ims)`. Anything outside that subset raises an Error
 * rather than silently matching something else.
 *
 * Python semantics kept: `$` also matches before a final newline; `\A`, `\Z`; `{` that does not
 * start a quantifier is a literal; `{,n}`; `\d`, `\w`, `\s` are Unicode-aware for str patterns
 * (unless `(?a)`). Not reproduced: Unicode `\b` (JavaScript's is ASCII-based).
 */
export function compilePythonRegex(pattern: string): RegExp {
  try {
    const { source, flags } = translate(pattern);
    return new RegExp(source, flags);
  } catch (e) {
    throw new Error(`cannot use regular expression ${JSON.stringify(pattern)}: ${(e as Error).message}`);
  }
}

// Python's str.isspace() set, used for \s.
const PY_SPACE = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_WORD = '\\p{L}\\p{N}_';
const JS_SYNTAX = '^$\\.*+?()[]{}|/';

function translate(pattern: string): { source: string; flags: string } {
  const chars = Array.from(pattern);
  let i = 0;
  let ignoreCase = false;
  let dotAll = false;
  let multiline = false;
  let ascii = false;

  // Global inline flags are only allowed at the very start in Python 3.11.
  for (;;) {
    const m = /^\(\?([aiLmsux]+)\)/.exec(chars.slice(i).join(''));
    if (m === null) break;
    for (const f of m[1]!) {
      if (f === 'i') ignoreCase = true;
      else if (f === 's') dotAll = true;
      else if (f === 'm') multiline = true;
      else if (f === 'a') ascii = true;
      else if (f !== 'u') throw new Error(`flag (?${f}) is not supported`);
    }
    i += Array.from(m[0]).length;
  }

  const digit = ascii ? '0-9' : '\\p{Nd}';
  const word = ascii ? 'A-Za-z0-9_' : PY_WORD;
  const space = ascii ? '\\t\\n\\v\\f\\r ' : PY_SPACE;

  const escapeOutside = (e: string): string => {
    switch (e) {
      case 'A':
        return '(?<![\\s\\S])';
      case 'Z':
        return '(?![\\s\\S])';
      case 'b':
      case 'B':
        return `\\${e}`;
      case 'd':
        return `[${digit}]`;
      case 'D':
        return `[^${digit}]`;
      case 'w':
        return `[${word}]`;
      case 'W':
        return `[^${word}]`;
      case 's':
        return `[${space}]`;
      case 'S':
        return `[^${space}]`;
      default:
        return commonEscape(e);
    }
  };

  const commonEscape = (e: string): string => {
    switch (e) {
      case 'n':
      case 't':
      case 'r':
      case 'f':
      case 'v':
        return `\\${e}`;
      case 'a':
        return '\\x07';
      case 'x': {
        const hex = chars.slice(i, i + 2).join('');
        if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw new Error('incomplete \\x escape');
        i += 2;
        return `\\x${hex}`;
      }
      case 'u':
      case 'U': {
        const len = e === 'u' ? 4 : 8;
        const hex = chars.slice(i, i + len).join('');
        if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(hex)) throw new Error(`incomplete \\${e} escape`);
        i += len;
        return `\\u{${hex}}`;
      }
      default:
        break;
    }
    if (e >= '0' && e <= '9') {
      if (e === '0') {
        // Octal escape \0, \0o, \0oo.
        let oct = '';
        while (oct.length < 2 && /[0-7]/.test(chars[i] ?? '')) oct += chars[i++]!;
        return `\\u{${parseInt(oct || '0', 8).toString(16)}}`;
      }
      if (/[0-7]/.test(e) && /[0-7]/.test(chars[i] ?? '') && /[0-7]/.test(chars[i + 1] ?? '')) {
        const value = parseInt(e + chars[i]! + chars[i + 1]!, 8);
        if (value > 0o377) throw new Error('octal escape value outside of range 0-0o377');
        i += 2;
        return `\\u{${value.toString(16)}}`;
      }
      let num = e;
      if (/[0-9]/.test(chars[i] ?? '')) num += chars[i++]!;
      return `\\${num}(?:)`; // backreference; (?:) stops JS from reading following digits into it
    }
    if (/[A-Za-z]/.test(e)) throw new Error(`bad escape \\${e}`);
    return literal(e);
  };

  const literal = (c: string): string => (JS_SYNTAX.includes(c) ? `\\${c}` : `\\u{${c.codePointAt(0)!.toString(16)}}`);

  let out = '';
  while (i < chars.length) {
    const c = chars[i++]!;
    if (c === '\\') {
      const e = chars[i++];
      if (e === undefined) throw new Error('bad escape (end of pattern)');
      out += escapeOutside(e);
    } else if (c === '$') {
      out += multiline ? '(?=\\n|$)' : '(?=\\n?$)';
    } else if (c === '^') {
      out += multiline ? '(?<=^|\\n)' : '^';
    } else if (c === '.') {
      out += dotAll ? '[\\s\\S]' : '[^\\n]';
    } else if (c === '[') {
      out += readClass();
    } else if (c === '{') {
      const m = /^(\d*)(,?)(\d*)\}/.exec(chars.slice(i, i + 40).join(''));
      if (m !== null && m[0] !== '}') {
        out += `{${m[1] || '0'}${m[2]}${m[3]}}`;
        i += m[0].length;
      } else {
        out += '\\{';
      }
    } else if (c === '}') {
      out += '\\}';
    } else if (c === '(' && chars[i] === '?') {
      out += readGroupOpening();
    } else if ('()|*+?'.includes(c)) {
      out += c;
    } else if (c === '/' || c === ']') {
      out += `\\${c}`;
    } else {
      out += literal(c);
    }
  }

  function readGroupOpening(): string {
    const rest = chars.slice(i, i + 300).join('');
    let m: RegExpExecArray | null;
    if ((m = /^\?P<([A-Za-z_][A-Za-z0-9_]*)>/.exec(rest))) {
      i += m[0].length;
      return `(?<${m[1]}>`;
    }
    if ((m = /^\?P=([A-Za-z_][A-Za-z0-9_]*)\)/.exec(rest))) {
      i += m[0].length;
      return `\\k<${m[1]}>`;
    }
    if ((m = /^\?#[^)]*\)/.exec(rest))) {
      i += Array.from(m[0]).length;
      return '';
    }
    if ((m = /^\?(?::|=|!|<=|<!)/.exec(rest))) {
      i += m[0].length;
      return `(${m[0]}`;
    }
    throw new Error(`group syntax (${rest.slice(0, 4)}... is not supported`);
  }

  function readClass(): string {
    let body = '';
    if (chars[i] === '^') {
      body += '^';
      i++;
    }
    let first = true;
    for (;;) {
      const c = chars[i++];
      if (c === undefined) throw new Error('unterminated character set');
      if (c === ']' && !first) break;
      first = false;
      if (c === '\\') {
        const e = chars[i++];
        if (e === undefined) throw new Error('unterminated character set');
        if (e === 'd') body += digit;
        else if (e === 'w') body += word;
        else if (e === 's') body += space;
        else if (e === 'D' && !ascii) body += '\\P{Nd}';
        else if ('DWSAZbB0123456789'.includes(e)) throw new Error(`\\${e} inside a character set is not supported`);
        else body += commonEscape(e);
      } else if (c === '-') {
        body += '-';
      } else {
        body += literal(c);
      }
    }
    return `[${body}]`;
  }

  return { source: out, flags: `u${ignoreCase ? 'i' : ''}` };
}
