/** What the OpenPGP tests share: decrypting in pieces, and asserting a one-line OpenPgpError. */
import assert from 'node:assert/strict';
import { decryptMessage, type KeyProvider } from '../../../src/codec/openpgp/decrypt.ts';
import { OpenPgpError } from '../../../src/codec/openpgp/errors.ts';

/** Decrypts `ct` fed in pieces of `pieces` bytes. */
export async function decryptInPieces(ct: Buffer, k: KeyProvider, pieces = 1 << 16): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of decryptMessage(split(ct, pieces), k)) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

export async function* split(b: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

/** The error `p` rejects with, which must be a one-line OpenPgpError. */
export async function failure(p: Promise<unknown>): Promise<OpenPgpError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof OpenPgpError, `expected an OpenPgpError, got ${String(err)}`);
    assert.ok(!err.message.includes('\n'), 'one-line message');
    return err;
  }
  assert.fail('expected a failure');
}
