/**
 * "did you mean ...?" for a mistyped command. duplicity takes a first word that is no command for
 * the source directory, so `colection-status URL` would start a backup of a directory that does
 * not exist; the parser asks this module first, and only for a plain word that is not an existing
 * directory (a real source directory keeps its meaning whatever its name).
 */

/** Edits (insert, delete, substitute, swap two neighbours) from `a` to `b`: optimal string alignment. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/** Close enough to be a typo: one edit in a short word, about one in four in a longer one. */
function allowedEdits(word: string): number {
  return Math.max(1, Math.floor(word.length / 4));
}

/**
 * The command `word` most likely meant, or undefined. A word is compared with each command and
 * with the command's abbreviations of about its length (duplicity accepts any unique prefix, so
 * `colection` is a typo of `collection-status` as much as `colection-status` is); an abbreviation
 * may be one edit off.
 */
export function suggestVerb(word: string, verbs: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  if (w.length < 3 || !/^[a-z][a-z-]*$/.test(w)) return undefined;
  let best: { verb: string; edits: number } | undefined;
  for (const verb of verbs) {
    let edits = editDistance(w, verb) <= allowedEdits(w) ? editDistance(w, verb) : Number.POSITIVE_INFINITY;
    for (let n = w.length - 1; n <= w.length + 1; n++) {
      if (n < 3 || n >= verb.length) continue;
      const e = editDistance(w, verb.slice(0, n));
      if (e <= 1) edits = Math.min(edits, e);
    }
    if (edits < (best?.edits ?? Number.POSITIVE_INFINITY)) best = { verb, edits };
  }
  return best?.verb;
}
