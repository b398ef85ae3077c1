import { createReadStream } from 'node:fs';
import type { Encryption } from '../crypto/encryption.ts';
import { FileByteSink } from './byte-sink.ts';

/** Writes `src` encrypted to `dest` (a `.manifest.gpg`), streaming; returns `dest`. */
export async function encryptFile(src: string, dest: string, encryption: Encryption): Promise<string> {
  const sink = new FileByteSink(dest, { gzip: false, sha1: false, encryption });
  try {
    for await (const chunk of createReadStream(src, { highWaterMark: 1 << 20 })) await sink.write([chunk as Buffer]);
    await sink.close();
  } catch (err) {
    sink.destroy();
    throw err;
  }
  return dest;
}
