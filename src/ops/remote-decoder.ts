import { gunzipSync } from 'node:zlib';
import { parseRemoteName, type NamePrefixes } from '../codec/remote-name.ts';
import { PermafrostError, ExitCode } from './errors.ts';

/** Turns a remote metadata file into plain bytes according to its name's layers. */
export function remoteDecoder(prefixes: NamePrefixes) {
  return async (remoteName: string, bytes: Buffer): Promise<Buffer> => {
    const parsed = parseRemoteName(remoteName, prefixes);
    if (parsed?.encrypted) throw encryptedNotSupported(remoteName);
    if (parsed?.compressed) {
      try {
        return gunzipSync(bytes);
      } catch (err) {
        throw new PermafrostError(ExitCode.corruptArchive, `${remoteName}: not valid gzip data (${(err as Error).message})`, { cause: err });
      }
    }
    return bytes;
  };
}

export function encryptedNotSupported(name: string): PermafrostError {
  return new PermafrostError(ExitCode.usage, `${name} is GPG-encrypted; this version of permafrost reads and writes only --no-encryption backups`);
}
