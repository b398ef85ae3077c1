/**
 * What went wrong with an OpenPGP message, so that callers can map it to an exit code:
 * - `no-key`: nothing to decrypt it with (no passphrase given, no matching secret key);
 * - `bad-key`: the passphrase or key given does not open it;
 * - `integrity`: the modification detection code does not match (tampered or corrupt);
 * - `format`: not a well-formed OpenPGP message, or truncated;
 * - `unsupported`: well-formed, but uses an algorithm this code does not implement.
 */
export type OpenPgpErrorKind = 'no-key' | 'bad-key' | 'integrity' | 'format' | 'unsupported';

export class OpenPgpError extends Error {
  readonly kind: OpenPgpErrorKind;
  constructor(kind: OpenPgpErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.kind = kind;
    this.name = 'OpenPgpError';
  }
}
