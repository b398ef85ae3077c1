import { ChunkQueue } from '../chunk-queue.ts';
import { Tag } from './constants.ts';
import { OpenPgpError } from './errors.ts';
import { readPacketHeader, readSmallBody } from './packet-header.ts';

/** The key id a wildcard (hidden recipient) PKESK carries. */
export const WILDCARD_KEY_ID = '0000000000000000';

/** How an encrypted message can be opened, as its key packets say, without decrypting anything. */
export interface MessageKeys {
  /** whether a passphrase opens it (an SKESK packet) */
  readonly passphrase: boolean;
  /** the key ids (16 hex digits, upper case) its PKESK packets name; WILDCARD_KEY_ID for each hidden recipient */
  readonly publicKeyIds: readonly string[];
}

/**
 * Reads the key packets (SKESK, PKESK) at the start of an encrypted message, up to its encrypted
 * data packet; the rest of `source` is not read. Throws `format` when it is not such a message.
 */
export async function readMessageKeys(source: AsyncIterable<Buffer>): Promise<MessageKeys> {
  const q = new ChunkQueue(source);
  let passphrase = false;
  const publicKeyIds: string[] = [];
  try {
    for (;;) {
      const h = await readPacketHeader(q);
      if (!h) throw new OpenPgpError('format', 'not an encrypted OpenPGP message: no encrypted data');
      if (h.tag === Tag.seipd || h.tag === Tag.sed) break;
      if (h.tag === Tag.skesk) {
        await readSmallBody(q, h, 1024);
        passphrase = true;
      } else if (h.tag === Tag.pkesk) {
        const body = await readSmallBody(q, h, 8192);
        // v3 PKESK: version, 8-byte key id, algorithm, encrypted session key (RFC 4880 §5.1)
        if (body[0] !== 3 || body.length < 10) throw new OpenPgpError('unsupported', `PKESK version ${body[0]} is not supported`);
        publicKeyIds.push(body.subarray(1, 9).toString('hex').toUpperCase());
      } else if (h.tag === Tag.marker) await readSmallBody(q, h, 64);
      else throw new OpenPgpError('format', `not an encrypted OpenPGP message (packet type ${h.tag} before any encrypted data)`);
    }
  } finally {
    await q.close();
  }
  return { passphrase, publicKeyIds };
}
