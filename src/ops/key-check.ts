/**
 * Proves, before a run writes, deletes or asks for a paid thaw, that the encryption it was given
 * fits the backup chain it works on. Without it an incremental run with the wrong passphrase (the
 * cache holds plaintext metadata, so nothing else is decrypted) uploads a set nobody can restore
 * together with the rest of the chain, and a thaw without the key waits hours and pays for
 * retrievals before its first decryption fails.
 *
 * The proof is the chain's newest manifest read from the target (not the plaintext cache): the
 * mode by its name alone, then one GET of which at most HEAD_BYTES are read. Manifests are
 * metadata, in STANDARD storage.
 */
import { decryptMessage, type KeyProvider } from '../codec/openpgp/decrypt.ts';
import { OpenPgpError } from '../codec/openpgp/errors.ts';
import { readMessageKeys, WILDCARD_KEY_ID, type MessageKeys } from '../codec/openpgp/key-packets.ts';
import { isArchivedClass } from '../backend/backend.ts';
import type { BackupChain, BackupSet } from '../archive/collection.ts';
import type { Encryption } from '../crypto/encryption.ts';
import type { TargetContext } from './context.ts';
import { ExitCode, PermafrostError } from '../core/errors.ts';

/**
 * What the run is about to do:
 * - `extend`: add a set to the chain (incremental): it must be encrypted as the chain is, to the
 *   same keys; a public-key run needs only the public keys, so the key ids are compared;
 * - `delete`: remove files next to the chain (cleanup --force): the run must hold the chain's keys
 *   (the passphrase, the secret key, or with --encrypt-key the chain's public keys);
 * - `thaw`: request restores of archived volumes: the run must be able to decrypt them.
 */
export type KeyCheckPurpose = 'extend' | 'delete' | 'thaw';

/** How much of the manifest is read: its key packets and enough ciphertext for its first line. */
const HEAD_BYTES = 64 * 1024;

/** What a manifest's plaintext starts with (duplicity writes Hostname first; older ones may lack it). */
const MANIFEST_START = /^(Hostname|Localdir|Volume|Filelist) /;

const CONSEQUENCE: Record<KeyCheckPurpose, string> = {
  extend: 'nothing was uploaded',
  delete: 'nothing was deleted',
  thaw: 'no restore request was sent',
};

/** Checks the run's encryption against the newest set of `chain`; throws exit 31 when it does not fit. */
export async function checkChainKeys(ctx: TargetContext, chain: BackupChain, purpose: KeyCheckPurpose): Promise<void> {
  await checkSetKeys(ctx, chain.incs[chain.incs.length - 1] ?? chain.full, purpose);
}

/** As checkChainKeys, against one set (a restore's newest). */
export async function checkSetKeys(ctx: TargetContext, set: BackupSet, purpose: KeyCheckPurpose): Promise<void> {
  const manifest = set.manifest;
  if (!manifest) return;
  const where = `the backup chain at ${ctx.backend.displayUrl}`;
  const fail = (why: string, hint: string) => new PermafrostError(ExitCode.decryptFailed, `${why}: ${hint}; ${CONSEQUENCE[purpose]}`);
  const restart = 'or start a new chain with "full"';
  const enc = ctx.encryption;
  if (!set.encrypted) {
    // reading plain sets needs no key; only an increment would mix modes within the chain
    if (enc && purpose === 'extend')
      throw fail(
        `${where} is not encrypted, and this run would encrypt its increment (a chain that restores only in part without the key)`,
        `add --no-encryption, ${restart}`,
      );
    return;
  }
  if (!enc) {
    throw fail(
      `${where} is encrypted, and --no-encryption is given${purpose === 'extend' ? ' (the increment would be stored in plain text)' : ''}`,
      purpose === 'extend' ? `drop --no-encryption, ${restart}` : 'drop --no-encryption',
    );
  }
  if (isArchivedClass(manifest.storageClass)) {
    // not written by permafrost or duplicity (they keep manifests in STANDARD): reading it would need a thaw itself
    ctx.reporter.info(`Keys not checked: the manifest ${manifest.name} is archived (${manifest.storageClass})`);
    return;
  }
  const head = await readHead(await ctx.backend.get(manifest.name), HEAD_BYTES);
  let keys: MessageKeys;
  try {
    keys = await readMessageKeys(single(head));
  } catch (err) {
    // by context, not type (so not in cli/exit.ts): any OpenPGP fault in a manifest's key packets
    // is a damaged chain here (22), and the message names the manifest
    if (err instanceof OpenPgpError)
      throw new PermafrostError(ExitCode.corruptArchive, `manifest ${manifest.name}: ${err.message}`, { cause: err });
    throw err;
  }
  const how = encryptedHow(keys);
  if (enc.mode === 'public-key' && purpose !== 'thaw') {
    // the public keys suffice to write; the chain's key packets say whom it was written for
    if (keys.publicKeyIds.length === 0)
      throw fail(`${where} is encrypted with a passphrase, and this run encrypts to ${enc.describe()}`, `drop --encrypt-key, ${restart}`);
    const mismatch = await recipientMismatch(enc, keys);
    if (mismatch !== null)
      throw fail(`${where} is encrypted ${how}, and this run to ${mismatch}`, `give the chain's keys with --encrypt-key, ${restart}`);
    return;
  }
  if (purpose === 'extend' && !keys.passphrase) {
    throw fail(`${where} is encrypted ${how}, and this run encrypts with a passphrase`, `give --encrypt-key for each of them, ${restart}`);
  }
  try {
    await probeDecryption(head, enc.keyProvider, enc.s2kCache);
  } catch (err) {
    // by context, not type (cli/exit.ts would give 'integrity' 32 and 'unsupported' 22): in this
    // probe of the manifest's first bytes any fault but a missing or wrong key is a damaged
    // manifest (22); both messages add what was not done
    if (err instanceof OpenPgpError && (err.kind === 'no-key' || err.kind === 'bad-key')) {
      throw new PermafrostError(
        ExitCode.decryptFailed,
        `cannot open ${where} with the keys given: its newest manifest ${manifest.name}: ${err.message}; ${CONSEQUENCE[purpose]}`,
        { cause: err },
      );
    }
    if (err instanceof OpenPgpError)
      throw new PermafrostError(ExitCode.corruptArchive, `manifest ${manifest.name}: ${err.message}; ${CONSEQUENCE[purpose]}`, {
        cause: err,
      });
    throw err;
  }
}

/** The run's recipients when they are not exactly the chain's (as the user named them), else null. */
async function recipientMismatch(enc: Encryption, keys: MessageKeys): Promise<string | null> {
  const given = await enc.recipientKeyIds();
  const chainIds = keys.publicKeyIds.filter((id) => id !== WILDCARD_KEY_ID);
  const chainHidden = keys.publicKeyIds.length - chainIds.length;
  const known = new Set(given.visible.flatMap((r) => r.keyIds));
  const foreign = chainIds.filter((id) => !known.has(id));
  const added = given.visible.filter((r) => !r.keyIds.some((id) => chainIds.includes(id)));
  if (foreign.length === 0 && added.length === 0 && chainHidden === given.hidden) return null;
  const names = given.visible.map((r) => r.name);
  if (given.hidden > 0) names.push(`${given.hidden} hidden recipient${given.hidden === 1 ? '' : 's'}`);
  return names.join(', ');
}

/** "with a passphrase", "to public key X", "to public keys X, Y and 1 hidden recipient". */
function encryptedHow(keys: MessageKeys): string {
  const visible = keys.publicKeyIds.filter((id) => id !== WILDCARD_KEY_ID);
  const hidden = keys.publicKeyIds.length - visible.length;
  const parts: string[] = [];
  if (visible.length > 0) parts.push(`public key${visible.length === 1 ? '' : 's'} ${visible.join(', ')}`);
  if (hidden > 0) parts.push(`${hidden} hidden recipient${hidden === 1 ? '' : 's'}`);
  const to = parts.length > 0 ? `to ${parts.join(' and ')}` : '';
  if (!keys.passphrase) return to;
  return to ? `${to}, or with a passphrase` : 'with a passphrase';
}

/**
 * Decrypts the start of the message and checks it reads as a manifest: the key opens it (the
 * cipher's 16-bit quick check alone would pass one wrong key in 65536). A whole message (a small
 * manifest) is decrypted to its end, MDC included. Signatures are not looked at: that is the
 * reading's job, not the key's.
 */
async function probeDecryption(
  head: { bytes: Buffer; complete: boolean },
  provider: KeyProvider,
  s2kCache: Map<string, Buffer>,
): Promise<void> {
  const keys: KeyProvider = {
    ...(provider.passphrase ? { passphrase: provider.passphrase } : {}),
    ...(provider.publicKeySessionKeys ? { publicKeySessionKeys: provider.publicKeySessionKeys } : {}),
  };
  const plain: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of decryptMessage(single(head), keys, { s2kCache })) {
      plain.push(chunk);
      length += chunk.length;
      if (!head.complete && length >= 16) break;
    }
  } catch (err) {
    // a cut-off message ends in a format error once its plaintext has been seen; that is expected
    if (head.complete || !(err instanceof OpenPgpError) || err.kind !== 'format' || length < 16) throw err;
  }
  const start = Buffer.concat(plain).subarray(0, 64).toString('latin1');
  if (!MANIFEST_START.test(start)) throw new OpenPgpError('bad-key', 'it does not decrypt to a manifest');
}

/** Reads at most `max` bytes of a stream and lets go of the rest. */
async function readHead(stream: AsyncIterable<Buffer>, max: number): Promise<{ bytes: Buffer; complete: boolean }> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const chunk of stream) {
    parts.push(chunk);
    n += chunk.length;
    if (n >= max) return { bytes: Buffer.concat(parts), complete: false };
  }
  return { bytes: Buffer.concat(parts), complete: true };
}

async function* single(head: { bytes: Buffer }): AsyncGenerator<Buffer> {
  yield head.bytes;
}
