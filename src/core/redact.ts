/**
 * Removes secrets from text that comes from outside: a child process's output, an error a program
 * or library wrote. Our own messages never hold a secret (passphrases go to the decryptor and to
 * gpg's stdin, nowhere else), so they are not run through this: a passphrase such as "wrong" or
 * "passphrase" would otherwise be cut out of our own words ("*** passphrase").
 *
 * A secret is replaced where it stands as a whole token, not where it is glued to a letter or
 * digit: "pass" inside "passphrase" tells nothing about the secret, and cutting it would garble
 * the word; `PASSPHRASE=hunter2`, `'hunter2'` or `hunter2.` are replaced.
 */
export function redactSecrets(text: string, secrets: readonly string[], mask: string): string {
  let out = text;
  // longest first, so that a secret containing another is replaced whole
  for (const secret of [...new Set(secrets)].filter((s) => s.length > 0).sort((a, b) => b.length - a.length)) {
    if (!out.includes(secret)) continue;
    const gluedStart = WORD.test(secret[0]!);
    const gluedEnd = WORD.test(secret[secret.length - 1]!);
    let result = '';
    let from = 0;
    for (let i = out.indexOf(secret); i >= 0; i = out.indexOf(secret, i + 1)) {
      if (i < from) continue;
      const before = i > 0 ? out[i - 1]! : '';
      const after = out[i + secret.length] ?? '';
      if ((gluedStart && before !== '' && WORD.test(before)) || (gluedEnd && after !== '' && WORD.test(after))) continue;
      result += out.slice(from, i) + mask;
      from = i + secret.length;
    }
    out = result + out.slice(from);
  }
  return out;
}

const WORD = /^[\p{L}\p{N}]$/u;
