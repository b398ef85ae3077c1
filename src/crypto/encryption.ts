import { randomBytes } from 'node:crypto';
import type * as openpgp from 'openpgp';
import { openpgpLib } from './openpgp-lib.ts';
import { AES256, cipherInfo, SHA256, Tag } from '../codec/openpgp/constants.ts';
import { passphraseMessageKey, type MessageKey } from '../codec/openpgp/encrypt.ts';
import type { KeyProvider, SessionKey } from '../codec/openpgp/decrypt.ts';
import { OpenPgpError } from '../codec/openpgp/errors.ts';
import { definiteHeader } from '../codec/openpgp/packet-header.ts';
import { newIteratedS2K } from '../codec/openpgp/s2k.ts';
import type { MessageSigner } from '../codec/openpgp/signature.ts';
import { Keyring, type KeySources, type PassphraseSource } from './keyring.ts';
import { messageSigner, signatureVerifier } from './signing.ts';

export interface EncryptionOptions {
  /** `--encrypt-key`: public-key mode when this or `hiddenRecipients` is non-empty */
  readonly recipients: readonly string[];
  /** `--hidden-encrypt-key`: recipients whose key id is not written (wildcard PKESK) */
  readonly hiddenRecipients: readonly string[];
  /** PASSPHRASE: the symmetric passphrase, or the one protecting the secret key */
  readonly passphrase: PassphraseSource;
  readonly keys: KeySources;
  /** S2K count octet for symmetric files (default 255, ~65 MB hashed, as gpg 2.2 calibrates) */
  readonly s2kCountOctet?: number;
  /**
   * `--sign-key`: files written are signed by this key, and files read must carry its good
   * signature (as duplicity requires gpg's GOODSIG); null or absent: no signing, signatures skipped
   */
  readonly signKey?: string | null;
  /** SIGN_PASSPHRASE: the passphrase of the --sign-key's secret key */
  readonly signPassphrase?: PassphraseSource;
}

/**
 * The encryption of one target, as duplicity's gpg profile: symmetric with a passphrase, or to
 * public keys. Writing needs only the passphrase or the public keys; reading needs the passphrase
 * or a secret key. Keys are loaded when first needed.
 */
export class Encryption {
  readonly mode: 'symmetric' | 'public-key';
  /** gpg compresses symmetric messages with ZIP, public-key ones with the key's preference (ZLIB). */
  readonly compression: 'zip' | 'zlib';
  /** Derived keys by passphrase and S2K: a restore reads many files written in one run. */
  readonly s2kCache = new Map<string, Buffer>();
  readonly #opts: EncryptionOptions;
  readonly #keyring: Keyring;
  #recipientKeys: Promise<{ visible: openpgp.PublicKey[]; hidden: openpgp.PublicKey[] }> | null = null;
  #signer: Promise<MessageSigner | null> | null = null;
  #signKeyPublic: Promise<openpgp.PublicKey[]> | null = null;
  /** What the decryptor asks for: the passphrase, session keys from PKESK packets, signature checks. */
  readonly keyProvider: KeyProvider;
  /** The --sign-key without its `0x`, or null. */
  readonly signKey: string | null;

  constructor(opts: EncryptionOptions) {
    this.#opts = opts;
    this.mode = opts.recipients.length + opts.hiddenRecipients.length > 0 ? 'public-key' : 'symmetric';
    this.compression = this.mode === 'symmetric' ? 'zip' : 'zlib';
    this.#keyring = new Keyring(opts.keys);
    this.signKey = opts.signKey ? opts.signKey.replace(/^0x/i, '') : null;
    const signKey = this.signKey;
    this.keyProvider = {
      passphrase: () => this.#opts.passphrase(),
      publicKeySessionKeys: (bodies) => this.#pkeskSessionKeys(bodies),
      signatureVerifier:
        signKey === null ? null : signatureVerifier(signKey, () => (this.#signKeyPublic ??= this.#keyring.publicKeysNamed(signKey))),
    };
  }

  describe(): string {
    const signed = this.signKey === null ? '' : `, signed by ${this.signKey}`;
    if (this.mode === 'symmetric') return `symmetric (AES-256, passphrase)${signed}`;
    const all = [...this.#opts.recipients, ...this.#opts.hiddenRecipients.map((r) => `${r} (hidden)`)];
    return `public key${all.length > 1 ? 's' : ''} ${all.join(', ')}${signed}`;
  }

  /** Checks up front what writing needs (the passphrase, or every recipient's public key; the signing key). */
  async checkWritable(): Promise<void> {
    if (this.mode === 'symmetric') await this.#symmetricPassphrase();
    else await this.#recipients();
    await this.messageSigner();
  }

  /**
   * Who this run encrypts to, to compare with a chain's key packets: each --encrypt-key as given
   * with the key ids (16 hex digits, upper case) of its key and subkeys, and the number of
   * --hidden-encrypt-key recipients (their packets carry no key id).
   */
  async recipientKeyIds(): Promise<{
    readonly visible: readonly { readonly name: string; readonly keyIds: readonly string[] }[];
    readonly hidden: number;
  }> {
    const named: { name: string; keyIds: string[] }[] = [];
    for (const name of this.#opts.recipients) {
      const keys = await this.#keyring.publicKeys([name]);
      named.push({ name, keyIds: keys.flatMap((k) => k.getKeys().map((sub) => sub.getKeyID().toHex().toUpperCase())) });
    }
    return { visible: named, hidden: this.#opts.hiddenRecipients.length };
  }

  /** What signs each file written (the --sign-key's secret key, unlocked once), or null. */
  messageSigner(): Promise<MessageSigner | null> {
    this.#signer ??= this.#loadSigner();
    return this.#signer;
  }

  async #loadSigner(): Promise<MessageSigner | null> {
    const id = this.signKey;
    if (id === null) return null;
    const source = this.#opts.signPassphrase ?? this.#opts.passphrase;
    let noneGiven = false;
    const pass: PassphraseSource = async (purpose) => {
      const p = await source(purpose);
      if (p === null) noneGiven = true;
      return p;
    };
    let secrets: openpgp.PrivateKey[];
    try {
      secrets = await this.#keyring.secretKeys([id], pass);
    } catch (err) {
      if (err instanceof OpenPgpError && noneGiven)
        throw new OpenPgpError(err.kind, `${err.message} (no passphrase for the --sign-key's secret key: set SIGN_PASSPHRASE)`, {
          cause: err,
        });
      throw err;
    }
    const key = secrets[0];
    if (!key)
      throw new OpenPgpError('no-key', `secret key ${id} for --sign-key not found (give it with --key-file, or import it into gpg)`);
    return messageSigner(key, id);
  }

  /** A fresh key for one file: a new S2K salt, or a new random session key for the recipients. */
  async messageKey(): Promise<MessageKey> {
    if (this.mode === 'symmetric') {
      return passphraseMessageKey(await this.#symmetricPassphrase(), AES256, newIteratedS2K(SHA256, this.#opts.s2kCountOctet ?? 255));
    }
    const { visible, hidden } = await this.#recipients();
    const sessionKey = randomBytes(cipherInfo(AES256)!.keySize);
    const packets: Buffer[] = [];
    const config = { aeadProtect: false };
    if (visible.length > 0)
      packets.push(
        Buffer.from(
          await (await openpgpLib()).encryptSessionKey({
            data: sessionKey,
            algorithm: 'aes256',
            encryptionKeys: visible,
            format: 'binary',
            config,
          }),
        ),
      );
    if (hidden.length > 0)
      packets.push(
        Buffer.from(
          await (await openpgpLib()).encryptSessionKey({
            data: sessionKey,
            algorithm: 'aes256',
            encryptionKeys: hidden,
            wildcard: true,
            format: 'binary',
            config,
          }),
        ),
      );
    return { cipher: AES256, sessionKey, keyPackets: packets };
  }

  async #symmetricPassphrase(): Promise<string> {
    const p = await this.#opts.passphrase('encrypt');
    if (p === null)
      throw new OpenPgpError(
        'no-key',
        'symmetric encryption needs a passphrase: set PASSPHRASE, use --passphrase-file, or run on a terminal',
      );
    if (p === '') throw new OpenPgpError('bad-key', 'cannot use an empty passphrase with symmetric encryption');
    return p;
  }

  #recipients(): Promise<{ visible: openpgp.PublicKey[]; hidden: openpgp.PublicKey[] }> {
    this.#recipientKeys ??= (async () => ({
      visible: await this.#keyring.publicKeys(this.#opts.recipients),
      hidden: await this.#keyring.publicKeys(this.#opts.hiddenRecipients),
    }))();
    return this.#recipientKeys;
  }

  async #pkeskSessionKeys(bodies: readonly Buffer[]): Promise<SessionKey[]> {
    const ids = bodies.filter((b) => b[0] === 3 && b.length >= 10).map((b) => b.subarray(1, 9).toString('hex'));
    const secrets = await this.#keyring.secretKeys(ids, this.#opts.passphrase);
    if (secrets.length === 0) return [];
    const packets = Buffer.concat(bodies.flatMap((b) => [definiteHeader(Tag.pkesk, b.length), b]));
    const message = await (await openpgpLib()).readMessage({ binaryMessage: packets });
    let found: openpgp.DecryptedSessionKey[];
    try {
      found = await (await openpgpLib()).decryptSessionKeys({ message, decryptionKeys: secrets });
    } catch {
      return [];
    }
    const out: SessionKey[] = [];
    for (const f of found) {
      const id =
        f.algorithm === null ? undefined : ((await openpgpLib()).enums.symmetric as unknown as Record<string, number>)[f.algorithm];
      if (id !== undefined) out.push({ cipher: id, key: Buffer.from(f.data) });
    }
    return out;
  }
}
