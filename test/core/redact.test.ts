/**
 * Redaction of text from outside (a child's output, another program's error): secrets go where
 * they stand as whole tokens, and a secret that is also a word, or part of one, garbles nothing
 * around it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redactSecrets } from '../../src/core/redact.ts';

test('a secret standing as a token is replaced, in any punctuation around it', () => {
  const s = 'Tr0ub4dor&3';
  for (const [text, want] of [
    [`gpg: bad passphrase '${s}'`, "gpg: bad passphrase '***'"],
    [`PASSPHRASE=${s} gpg --decrypt`, 'PASSPHRASE=*** gpg --decrypt'],
    [`${s}`, '***'],
    [`"${s}", "${s}".`, '"***", "***".'],
    [`key:${s}\n${s}`, 'key:***\n***'],
  ] as const) {
    assert.equal(redactSecrets(text, [s], '***'), want, text);
  }
});

test('a secret glued inside a longer word is left: "a", "pass" and "wrong" garble no word', () => {
  assert.equal(redactSecrets('a passphrase was wrongly given', ['a', 'pass', 'wrong'], '***'), '*** passphrase was wrongly given');
  assert.equal(redactSecrets('nothing here', ['passphrase'], '***'), 'nothing here');
  assert.equal(redactSecrets('passphrases', ['passphrase'], '***'), 'passphrases');
});

test('longest secret first; overlapping and repeated occurrences; empty secrets ignored', () => {
  assert.equal(redactSecrets('x hunter22-and-more y hunter22', ['hunter22', 'hunter22-and-more'], '[r]'), 'x [r] y [r]');
  assert.equal(redactSecrets('aa aa aaa', ['aa'], '*'), '* * aaa');
  assert.equal(redactSecrets('text', [''], '*'), 'text');
  // a secret that starts or ends with punctuation binds on that side to anything
  assert.equal(redactSecrets('x=!pw!y', ['!pw!'], '*'), 'x=*y');
});
