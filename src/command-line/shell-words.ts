import { UsageError } from './usage-error.ts';

/**
 * Splits one string into words the way a POSIX shell would before running a command, but without
 * any expansion: docker-duplicity passes `OPTIONS` and `OPTIONS_EXTRA` as single strings.
 * Single quotes keep everything literally; inside double quotes a backslash escapes only dollar,
 * backquote, double quote, backslash and newline; outside quotes a backslash escapes any
 * character, and backslash-newline joins lines. `''` is an empty word. An unterminated quote is an
 * error.
 */
export function splitShellWords(s: string): string[] {
  const words: string[] = [];
  let word = '';
  // A word exists once any quote or character was seen, so that '' yields an empty word.
  let inWord = false;
  let i = 0;
  const n = s.length;
  while (i < n) {
    const c = s[i]!;
    if (c === ' ' || c === '\t' || c === '\n') {
      if (inWord) {
        words.push(word);
        word = '';
        inWord = false;
      }
      i++;
    } else if (c === "'") {
      const end = s.indexOf("'", i + 1);
      if (end < 0) throw new UsageError(`unterminated single quote in options: ${s}`);
      word += s.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      i++;
      for (;;) {
        if (i >= n) throw new UsageError(`unterminated double quote in options: ${s}`);
        const d = s[i]!;
        if (d === '"') break;
        if (d === '\\' && i + 1 < n) {
          const e = s[i + 1]!;
          if (e === '\n') {
            i += 2;
            continue;
          }
          if (e === '$' || e === '`' || e === '"' || e === '\\') {
            word += e;
            i += 2;
            continue;
          }
        }
        word += d;
        i++;
      }
      inWord = true;
      i++;
    } else if (c === '\\') {
      if (i + 1 >= n) {
        // sh keeps a backslash that ends the input.
        word += c;
        inWord = true;
        break;
      }
      const e = s[i + 1]!;
      if (e !== '\n') {
        word += e;
        inWord = true;
      }
      i += 2;
    } else {
      word += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/**
 * One word as a POSIX shell reads it back unchanged (the inverse of splitShellWords): left bare
 * when it holds only characters no shell treats specially, else in single quotes, with each
 * single quote written as `'\''`.
 */
export function quoteShellWord(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}
