import { createCipheriv, createHash, randomBytes, type Cipheriv, type Hash } from 'node:crypto';
import { createDeflate, createDeflateRaw, type Deflate, type DeflateRaw } from 'node:zlib';
import { once } from 'node:events';
import { cipherInfo, Compression, Tag } from './constants.ts';
import { deriveKey, serializeS2K, type S2K } from './s2k.ts';
import { definiteHeader, definiteLength, partialLengthOctet } from './packet-header.ts';
import { newSignatureHash, onePassSignaturePacket, signatureHashedPart, signaturePacket, type MessageSigner } from './signature.ts';

/** The symmetric key of one message, and the packets that let a reader recover it. */
export interface MessageKey {
  readonly cipher: number;
  readonly sessionKey: Buffer;
  /** SKESK and/or PKESK packets, written before the encrypted data */
  readonly keyPackets: readonly Buffer[];
}

/**
 * A version 4 SKESK with no encrypted session key: the key derived from the passphrase is the
 * session key, as `gpg --symmetric` does (docs/duplicity-format.md §6.2).
 */
export function passphraseMessageKey(passphrase: string, cipher: number, s2k: S2K): MessageKey {
  const info = cipherInfo(cipher);
  if (!info?.nodeCfb) throw new RangeError(`cannot encrypt with cipher ${cipher}`);
  const key = deriveKey(s2k, Buffer.from(passphrase, 'utf8'), info.keySize);
  const body = Buffer.concat([Buffer.from([4, cipher]), serializeS2K(s2k)]);
  return { cipher, sessionKey: key, keyPackets: [Buffer.concat([definiteHeader(Tag.skesk, body.length), body])] };
}

export interface EncryptorOptions {
  readonly key: MessageKey;
  /** gpg writes ZIP for symmetric and the key's preference (often ZLIB) for public-key messages. */
  readonly compression: 'zip' | 'zlib' | 'none';
  /** deflate level, default 6 (gpg's default) */
  readonly level?: number;
  /** the literal packet's date, seconds (default: now) */
  readonly date?: number;
  /** receives the message's bytes, in order */
  readonly output: (chunks: readonly Buffer[]) => void;
  /** signs the message as `gpg --sign` does: one-pass signature, literal, signature (docs/duplicity-format.md §6.2) */
  readonly signer?: MessageSigner | null;
}

/**
 * Streams an OpenPGP message that gpg 2.2 decrypts (docs/duplicity-format.md §6.5): key packets, then a SEIPD v1
 * packet (CFB with a random prefix, SHA-1 MDC) holding a compressed packet (old format,
 * indeterminate length, as gpg writes it) holding one binary literal packet, between a one-pass
 * signature packet and a signature packet when signing. Bodies use partial lengths, so nothing is
 * held in memory; deflate runs in zlib's thread pool.
 */
export class OpenPgpEncryptor {
  readonly #cipher: Cipheriv;
  readonly #mdc: Hash;
  readonly #deflate: Deflate | DeflateRaw | null;
  readonly #output: (chunks: readonly Buffer[]) => void;
  /** The literal packet part being filled: its length octet at LIT_HEAD - 1, body from LIT_HEAD. */
  #lit: Buffer;
  #litFill: number;
  #litFirst = true;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #headerWritten = false;
  #error: Error | null = null;
  #ended = false;
  readonly #signing: { signer: MessageSigner; hash: Hash; created: number } | null;

  constructor(opts: EncryptorOptions) {
    const info = cipherInfo(opts.key.cipher);
    if (!info?.nodeCfb) throw new RangeError(`cannot encrypt with cipher ${opts.key.cipher}`);
    this.#output = opts.output;
    this.#output(opts.key.keyPackets);
    this.#cipher = createCipheriv(info.nodeCfb, opts.key.sessionKey, Buffer.alloc(info.blockSize));
    this.#mdc = createHash('sha1');
    this.#frame(Buffer.from([1])); // SEIPD version, not encrypted
    const prefix = randomBytes(info.blockSize + 2);
    prefix[info.blockSize] = prefix[info.blockSize - 2]!;
    prefix[info.blockSize + 1] = prefix[info.blockSize - 1]!;
    this.#encrypt(prefix);
    if (opts.compression === 'none') {
      this.#deflate = null;
    } else {
      const algo = opts.compression === 'zip' ? Compression.zip : Compression.zlib;
      this.#encrypt(Buffer.from([0x80 | (Tag.compressed << 2) | 3, algo]));
      const zopts = { level: opts.level ?? 6, chunkSize: 256 * 1024 };
      this.#deflate = opts.compression === 'zip' ? createDeflateRaw(zopts) : createDeflate(zopts);
      this.#deflate.on('data', (c: Buffer) => {
        try {
          this.#encrypt(c);
        } catch (err) {
          this.#error ??= err as Error;
        }
      });
      this.#deflate.on('error', (e) => {
        this.#error ??= e;
      });
    }
    const date = opts.date ?? Math.floor(Date.now() / 1000);
    if (opts.signer) {
      // the data is hashed as it is written: the signature packet follows it
      this.#signing = { signer: opts.signer, hash: newSignatureHash(opts.signer.hashAlgo), created: Math.floor(Date.now() / 1000) };
      this.#toInner(onePassSignaturePacket(opts.signer));
    } else {
      this.#signing = null;
    }
    this.#lit = Buffer.allocUnsafe(LIT_HEAD + LIT_PART);
    this.#lit[0] = 0xc0 | Tag.literal;
    this.#lit[2] = 0x62; // 'b'
    this.#lit[3] = 0; // no file name
    this.#lit.writeUInt32BE(date >>> 0, 4);
    this.#litFill = LIT_HEAD + 6;
  }

  /** Plaintext bytes not yet compressed (for size estimates). */
  get queuedBytes(): number {
    return (this.#deflate?.writableLength ?? 0) + (this.#litFill - LIT_HEAD);
  }

  /** Bytes of plaintext; resolves when the compressor can take more. */
  async write(data: Buffer): Promise<void> {
    if (this.#error) throw this.#error;
    if (this.#ended) throw new Error('write after end');
    this.#signing?.hash.update(data);
    let off = 0;
    while (off < data.length) {
      if (this.#litFill === this.#lit.length) await this.#emitLiteralPart();
      const n = data.copy(this.#lit, this.#litFill, off);
      this.#litFill += n;
      off += n;
    }
  }

  /** Ends the message: the last literal part, the compressor's tail, the MDC. */
  async end(): Promise<void> {
    if (this.#error) throw this.#error;
    this.#ended = true;
    const body = this.#lit.subarray(LIT_HEAD, this.#litFill);
    const head = this.#litFirst ? Buffer.concat([this.#lit.subarray(0, 1), definiteLength(body.length)]) : definiteLength(body.length);
    this.#toInner(head);
    this.#toInner(body);
    if (this.#signing) this.#toInner(await this.#signature(this.#signing));
    if (this.#deflate) {
      const ended = once(this.#deflate, 'end');
      this.#deflate.end();
      await ended;
    }
    if (this.#error) throw this.#error;
    const mdcHead = Buffer.from([0xc0 | Tag.mdc, 20]);
    this.#encrypt(mdcHead);
    const digest = this.#mdc.digest();
    this.#frame(this.#cipher.update(digest));
    this.#frame(this.#cipher.final());
    this.#finishFraming();
  }

  destroy(): void {
    this.#ended = true;
    this.#deflate?.destroy();
  }

  async #signature(s: { signer: MessageSigner; hash: Hash; created: number }): Promise<Buffer> {
    const { hashedPart, hashedTail } = signatureHashedPart(s.signer, s.created);
    s.hash.update(hashedTail);
    const digest = s.hash.digest();
    const mpis = await s.signer.sign(digest);
    return signaturePacket(hashedPart, s.signer.fingerprint, digest, mpis);
  }

  async #emitLiteralPart(): Promise<void> {
    const octet = partialLengthOctet(LIT_PART_LOG2);
    const part = this.#lit;
    part[1] = octet;
    this.#toInner(this.#litFirst ? part : part.subarray(1));
    this.#litFirst = false;
    this.#lit = Buffer.allocUnsafe(LIT_HEAD + LIT_PART);
    this.#litFill = LIT_HEAD;
    if (this.#deflate && this.#deflate.writableLength > DEFLATE_QUEUE) await drained(this.#deflate);
    if (this.#error) throw this.#error;
  }

  #toInner(b: Buffer): void {
    if (b.length === 0) return;
    if (this.#deflate) this.#deflate.write(b);
    else this.#encrypt(b);
  }

  #encrypt(plain: Buffer): void {
    this.#mdc.update(plain);
    this.#frame(this.#cipher.update(plain));
  }

  /** Cuts the SEIPD body into 2^20-byte partial parts; the last part is written by #finishFraming. */
  #frame(c: Buffer): void {
    if (c.length === 0) return;
    this.#pending.push(c);
    this.#pendingBytes += c.length;
    while (this.#pendingBytes > SEIPD_PART) {
      const out: Buffer[] = [];
      if (!this.#headerWritten) out.push(SEIPD_CTB);
      this.#headerWritten = true;
      out.push(SEIPD_PARTIAL_OCTET);
      let need = SEIPD_PART;
      while (need > 0) {
        const head = this.#pending[0]!;
        if (head.length <= need) {
          out.push(head);
          this.#pending.shift();
          need -= head.length;
        } else {
          out.push(head.subarray(0, need));
          this.#pending[0] = head.subarray(need);
          need = 0;
        }
      }
      this.#pendingBytes -= SEIPD_PART;
      this.#output(out);
    }
  }

  #finishFraming(): void {
    const out: Buffer[] = [];
    if (!this.#headerWritten) out.push(SEIPD_CTB);
    out.push(definiteLength(this.#pendingBytes), ...this.#pending);
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#output(out);
  }
}

/** 1 tag octet + 1 partial length octet precede the first literal part's body. */
const LIT_HEAD = 2;
const LIT_PART_LOG2 = 20;
const LIT_PART = 1 << LIT_PART_LOG2;
const SEIPD_PART_LOG2 = 20;
const SEIPD_PART = 1 << SEIPD_PART_LOG2;
const SEIPD_CTB = Buffer.from([0xc0 | Tag.seipd]);
const SEIPD_PARTIAL_OCTET = Buffer.from([partialLengthOctet(SEIPD_PART_LOG2)]);
const DEFLATE_QUEUE = 8 * 1024 * 1024;

async function drained(stream: Deflate | DeflateRaw): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const onDrain = () => {
      stream.off('error', onError);
      resolve();
    };
    const onError = (e: Error) => {
      stream.off('drain', onDrain);
      reject(e);
    };
    stream.once('drain', onDrain);
    stream.once('error', onError);
  });
}
