import { gunzipSync } from 'node:zlib';
import { parseRemoteName, type NamePrefixes } from '../codec/remote-name.ts';
import { decryptMessage } from '../codec/openpgp/decrypt.ts';
import { OpenPgpError } from '../codec/openpgp/errors.ts';
import { fileCryptoError } from '../archive/set-reader.ts';
import type { Encryption } from '../crypto/encryption.ts';
import { PermafrostError, ExitCode } from '../core/errors.ts';

/**
 * Turns a remote metadata file into plain bytes according to its name's layers: `.gpg` is
 * decrypted (the MDC checked, since the whole file is read), `.gz` gunzipped. Decryption errors
 * are OpenPgpErrors naming the file.
 */
export function remoteDecoder(prefixes: NamePrefixes, encryption: Encryption | null = null) {
  return async (remoteName: string, bytes: Buffer): Promise<Buffer> => {
    const parsed = parseRemoteName(remoteName, prefixes);
    if (parsed?.encrypted) return decryptMetadata(remoteName, bytes, encryption);
    if (parsed?.compressed) {
      try {
        return gunzipSync(bytes);
      } catch (err) {
        // by context: zlib's errors are plain Errors, which mean a damaged remote file only here
        throw new PermafrostError(ExitCode.corruptArchive, `${remoteName}: not valid gzip data (${(err as Error).message})`, {
          cause: err,
        });
      }
    }
    return bytes;
  };
}

async function decryptMetadata(name: string, bytes: Buffer, encryption: Encryption | null): Promise<Buffer> {
  if (!encryption) throw new OpenPgpError('no-key', `${name} is encrypted, but encryption is off (--no-encryption)`);
  const parts: Buffer[] = [];
  try {
    for await (const chunk of decryptMessage(once(bytes), encryption.keyProvider, { s2kCache: encryption.s2kCache }))
      parts.push(Buffer.from(chunk));
  } catch (err) {
    throw err instanceof OpenPgpError ? fileCryptoError(name, err) : err;
  }
  return Buffer.concat(parts);
}

async function* once(bytes: Buffer): AsyncGenerator<Buffer> {
  yield bytes;
}
