import { createDecipheriv, createHash, timingSafeEqual, type Decipheriv, type Hash } from 'node:crypto';
import { createInflate, createInflateRaw } from 'node:zlib';
import { pipeline, Readable } from 'node:stream';
import { ChunkQueue } from '../chunk-queue.ts';
import { cipherInfo, Compression, Tag, type CipherInfo } from './constants.ts';
import { OpenPgpError } from './errors.ts';
import { packetBody, readPacketHeader, readSmallBody, type PacketHeader } from './packet-header.ts';
import { deriveKey, parseS2K } from './s2k.ts';
import {
  BINARY_SIGNATURE,
  newSignatureHash,
  parseOnePassSignature,
  parseSignature,
  type ParsedSignature,
  type SignatureVerifier,
} from './signature.ts';

export interface SessionKey {
  readonly cipher: number;
  readonly key: Buffer;
}

/** Where a reader's keys come from; asked only for what the message needs. */
export interface KeyProvider {
  /** The passphrase for SKESK packets, or null when there is none. */
  passphrase?(): Promise<string | null>;
  /** Session keys recovered from PKESK packet bodies with the secret keys at hand (empty: none match). */
  publicKeySessionKeys?(pkeskBodies: readonly Buffer[]): Promise<SessionKey[]>;
  /**
   * When set, the message must carry a good signature (checked by this verifier) over its literal
   * data, else reading it fails at its end; when not, signature packets are skipped.
   */
  readonly signatureVerifier?: SignatureVerifier | null;
}

export interface DecryptOptions {
  /** Told when the data has no integrity protection (SED, tag 9, no MDC). */
  readonly onUnprotected?: () => void;
  /** Derived keys by S2K parameters, shared across messages: an S2K costs ~65 MB of hashing. */
  readonly s2kCache?: Map<string, Buffer>;
}

/**
 * The plaintext of an OpenPGP message as gpg or permafrost writes it (docs/duplicity-format.md §6.5): SKESK/PKESK,
 * then SEIPD v1 (MDC checked at the end) or SED; inside, compressed (ZIP, ZLIB, none) and literal
 * packets; signatures skipped, or checked with `keys.signatureVerifier`. The MDC and the
 * signature are only known at the end: a caller that must not act on unverified bytes runs
 * verifyMessage first.
 */
export async function* decryptMessage(source: AsyncIterable<Buffer>, keys: KeyProvider, opts: DecryptOptions = {}): AsyncGenerator<Buffer> {
  const q = new ChunkQueue(source);
  try {
    const body = await openData(q, keys, opts);
    yield* signedPlaintext(new ChunkQueue(body), keys.signatureVerifier ?? null);
  } finally {
    await q.close();
  }
}

/**
 * Decrypts to the end and checks the MDC; returns whether there was one. Without a signature
 * verifier the data is not decompressed; with one, it is, to check the signature too.
 */
export async function verifyMessage(
  source: AsyncIterable<Buffer>,
  keys: KeyProvider,
  opts: DecryptOptions = {},
): Promise<{ protected: boolean }> {
  const q = new ChunkQueue(source);
  let isProtected = true;
  try {
    const body = await openData(q, keys, {
      ...opts,
      onUnprotected: () => {
        isProtected = false;
        opts.onUnprotected?.();
      },
    });
    const verifier = keys.signatureVerifier ?? null;
    if (verifier) {
      for await (const _ of signedPlaintext(new ChunkQueue(body), verifier)) {
        /* checked at the end */
      }
    } else {
      for await (const _ of body) {
        /* the generator checks the MDC at its end */
      }
    }
  } finally {
    await q.close();
  }
  return { protected: isProtected };
}

/** Reads the key packets and the encrypted data packet's header; returns the decrypted body. */
async function openData(q: ChunkQueue, keys: KeyProvider, opts: DecryptOptions): Promise<AsyncGenerator<Buffer>> {
  const skesks: Buffer[] = [];
  const pkesks: Buffer[] = [];
  for (;;) {
    const h = await readPacketHeader(q);
    if (!h)
      throw new OpenPgpError(
        'format',
        skesks.length + pkesks.length > 0 ? 'truncated OpenPGP message: no encrypted data' : 'empty file, not an OpenPGP message',
      );
    if (h.tag === Tag.skesk) skesks.push(await readSmallBody(q, h, 1024));
    else if (h.tag === Tag.pkesk) pkesks.push(await readSmallBody(q, h, 8192));
    else if (h.tag === Tag.marker) await readSmallBody(q, h, 64);
    else if (h.tag === Tag.seipd || h.tag === Tag.sed) {
      const candidates = await sessionKeys(skesks, pkesks, keys, opts);
      return decipheredBody(q, h, candidates, opts);
    } else throw new OpenPgpError('format', `not an encrypted OpenPGP message (packet type ${h.tag} before any encrypted data)`);
  }
}

async function sessionKeys(
  skesks: Buffer[],
  pkesks: Buffer[],
  keys: KeyProvider,
  opts: DecryptOptions,
): Promise<{ candidates: SessionKey[]; why: string }> {
  const candidates: SessionKey[] = [];
  const why: string[] = [];
  if (pkesks.length > 0) {
    const found = keys.publicKeySessionKeys ? await keys.publicKeySessionKeys(pkesks) : [];
    candidates.push(...found);
    if (found.length === 0)
      why.push(`encrypted to public key${pkesks.length > 1 ? 's' : ''} ${pkesks.map(pkeskKeyId).join(', ')}; no matching secret key`);
  }
  if (skesks.length > 0) {
    const pass = keys.passphrase ? await keys.passphrase() : null;
    if (pass === null) why.push('encrypted with a passphrase; none given');
    else {
      for (const body of skesks) candidates.push(skeskSessionKey(body, Buffer.from(pass, 'utf8'), opts.s2kCache));
      why.push('wrong passphrase');
    }
  }
  if (skesks.length + pkesks.length === 0) {
    // old gpg: SED without any key packet means the key is the MD5 of the passphrase (simple S2K, IDEA); not supported
    throw new OpenPgpError('unsupported', 'encrypted data without a key packet');
  }
  return { candidates, why: why.join('; ') };
}

function pkeskKeyId(body: Buffer): string {
  if (body[0] !== 3 || body.length < 10) return '(unknown)';
  const id = body.subarray(1, 9).toString('hex').toUpperCase();
  return id === '0000000000000000' ? '(hidden recipient)' : id;
}

/** The session key a v4 SKESK gives with a passphrase (RFC 4880 §5.3). */
function skeskSessionKey(body: Buffer, passphrase: Buffer, cache?: Map<string, Buffer>): SessionKey {
  if (body[0] !== 4) throw new OpenPgpError('unsupported', `SKESK version ${body[0]} is not supported`);
  const cipher = body[1]!;
  const info = supported(cipher);
  const { s2k, size } = parseS2K(body, 2);
  const cacheKey = cache ? `${passphrase.toString('hex')}/${body.subarray(1, 2 + size).toString('hex')}` : '';
  let kek = cache?.get(cacheKey);
  if (!kek) {
    kek = deriveKey(s2k, passphrase, info.keySize);
    cache?.set(cacheKey, kek);
  }
  const esk = body.subarray(2 + size);
  if (esk.length === 0) return { cipher, key: kek };
  const d = createDecipheriv(info.nodeCfb!, kek, Buffer.alloc(info.blockSize));
  const plain = Buffer.concat([d.update(esk), d.final()]);
  const inner = cipherInfo(plain[0]!);
  // a wrong passphrase gives garbage here: let the quick check reject it
  if (!inner?.nodeCfb || plain.length - 1 !== inner.keySize) return { cipher, key: Buffer.alloc(info.keySize) };
  return { cipher: plain[0]!, key: plain.subarray(1) };
}

function supported(cipher: number): CipherInfo {
  const info = cipherInfo(cipher);
  if (!info) throw new OpenPgpError('unsupported', `unknown cipher algorithm ${cipher}`);
  if (!info.nodeCfb) throw new OpenPgpError('unsupported', `cipher ${info.name} is not supported by the built-in decryptor`);
  return info;
}

const MDC_LEN = 22;

/**
 * The decrypted body of a SEIPD/SED packet after its random prefix, MDC packet removed. Picks the
 * session key whose quick check (prefix bytes repeated) holds; checks the MDC at the end.
 */
async function* decipheredBody(
  q: ChunkQueue,
  header: PacketHeader,
  keys: { candidates: SessionKey[]; why: string },
  opts: DecryptOptions,
): AsyncGenerator<Buffer> {
  const seipd = header.tag === Tag.seipd;
  const pieces = packetBody(q, header);
  const first: Buffer[] = [];
  let firstLen = 0;
  // gather the version octet (SEIPD) and the prefix: block size + 2 bytes (at most 18)
  const want = (seipd ? 1 : 0) + 18;
  let rest: Buffer | null = null;
  while (firstLen < want) {
    const r = await pieces.next();
    if (r.done) break;
    const b = r.value;
    const n = Math.min(b.length, want - firstLen);
    first.push(Buffer.from(b.subarray(0, n)));
    firstLen += n;
    if (n < b.length) rest = b.subarray(n);
  }
  const head = Buffer.concat(first);
  let off = 0;
  if (seipd) {
    if (head[0] !== 1)
      throw new OpenPgpError(
        head.length === 0 ? 'format' : 'unsupported',
        head.length === 0 ? 'truncated OpenPGP message' : `SEIPD version ${head[0]} is not supported (gpg 2.2 writes version 1)`,
      );
    off = 1;
  }
  const usable = keys.candidates.filter((k) => cipherInfo(k.cipher) !== undefined);
  let chosen: { key: SessionKey; info: CipherInfo } | null = null;
  for (const k of usable) {
    const info = supported(k.cipher);
    const prefixLen = info.blockSize + 2;
    if (head.length < off + prefixLen) throw new OpenPgpError('format', 'truncated OpenPGP message');
    if (k.key.length !== info.keySize) continue;
    const d = createDecipheriv(info.nodeCfb!, k.key, Buffer.alloc(info.blockSize));
    const p = d.update(head.subarray(off, off + prefixLen));
    const bs = info.blockSize;
    if (p[bs - 2] === p[bs] && p[bs - 1] === p[bs + 1]) {
      chosen = { key: k, info };
      break;
    }
  }
  if (!chosen) throw new OpenPgpError(keys.candidates.length === 0 ? 'no-key' : 'bad-key', keys.why || 'no usable session key');
  const { info, key } = chosen;
  const bs = info.blockSize;
  const prefixCt = head.subarray(off, off + bs + 2);
  const tailOfHead = head.subarray(off + bs + 2);
  let decipher: Decipheriv;
  const mdc = seipd ? createHash('sha1') : null;
  if (seipd) {
    decipher = createDecipheriv(info.nodeCfb!, key.key, Buffer.alloc(bs));
    mdc!.update(decipher.update(prefixCt));
  } else {
    // SED: OpenPGP CFB resynchronises after the prefix, the IV being the prefix's last block of ciphertext
    decipher = createDecipheriv(info.nodeCfb!, key.key, prefixCt.subarray(2, bs + 2));
    opts.onUnprotected?.();
  }
  yield* holdBackMdc(pieces, decipher, mdc, [tailOfHead, rest]);
}

async function* holdBackMdc(
  pieces: AsyncGenerator<Buffer>,
  decipher: Decipheriv,
  mdc: ReturnType<typeof createHash> | null,
  firstPieces: (Buffer | null)[],
): AsyncGenerator<Buffer> {
  let tail = Buffer.alloc(0);
  const feed = function* (ct: Buffer): Generator<Buffer> {
    if (ct.length === 0) return;
    const p = decipher.update(ct);
    if (!mdc) {
      yield p;
      return;
    }
    if (p.length >= MDC_LEN) {
      if (tail.length > 0) {
        mdc.update(tail);
        yield tail;
      }
      const out = p.subarray(0, p.length - MDC_LEN);
      tail = Buffer.from(p.subarray(p.length - MDC_LEN));
      if (out.length > 0) {
        mdc.update(out);
        yield out;
      }
    } else {
      const both = Buffer.concat([tail, p]);
      const n = Math.max(0, both.length - MDC_LEN);
      if (n > 0) {
        const out = both.subarray(0, n);
        mdc.update(out);
        yield out;
      }
      tail = both.subarray(n);
    }
  };
  for (const b of firstPieces) if (b) yield* feed(b);
  for await (const ct of pieces) yield* feed(ct);
  if (!mdc) return;
  if (tail.length < MDC_LEN || tail[0] !== (0xc0 | Tag.mdc) || tail[1] !== 20) {
    throw new OpenPgpError('integrity', 'integrity check failed: the modification detection code is missing (truncated or tampered data)');
  }
  mdc.update(tail.subarray(0, 2));
  if (!timingSafeEqual(mdc.digest(), tail.subarray(2))) {
    throw new OpenPgpError(
      'integrity',
      'integrity check failed: the modification detection code does not match (tampered or corrupt data)',
    );
  }
}

const MAX_NESTING = 4;
const MAX_SIGNATURES = 16;

/** Signature checking across the packets of one message: hashes started before the literal data. */
interface SignatureState {
  readonly verifier: SignatureVerifier;
  /** by hash algorithm, fed the literal data */
  readonly hashes: Map<number, Hash>;
  readonly signatures: ParsedSignature[];
  literalSeen: boolean;
}

/** The literal data; with a verifier, a good signature is required once the data has ended. */
async function* signedPlaintext(q: ChunkQueue, verifier: SignatureVerifier | null): AsyncGenerator<Buffer> {
  const state: SignatureState | null = verifier ? { verifier, hashes: new Map(), signatures: [], literalSeen: false } : null;
  yield* plaintext(q, 0, state);
  if (state) await checkSignatures(state);
}

async function checkSignatures(state: SignatureState): Promise<void> {
  if (state.signatures.length === 0) throw new OpenPgpError('integrity', 'not signed: a signature by the --sign-key is required');
  let firstError: unknown = null;
  for (const sig of state.signatures) {
    const hash = state.hashes.get(sig.hashAlgo);
    if (!hash) throw new OpenPgpError('format', 'a signature after the data that no one-pass signature packet announced');
    const digest = hash.copy().update(sig.hashedTail).digest();
    try {
      await state.verifier.verify(sig, digest);
      return;
    } catch (err) {
      firstError ??= err;
    }
  }
  throw firstError;
}

function startHash(state: SignatureState, hashAlgo: number): void {
  if (state.literalSeen) throw new OpenPgpError('format', 'a signature is announced after the literal data');
  if (!state.hashes.has(hashAlgo)) state.hashes.set(hashAlgo, newSignatureHash(hashAlgo));
}

async function readSignaturePacket(q: ChunkQueue, h: PacketHeader, state: SignatureState): Promise<void> {
  const body = await readSmallBody(q, h, 16384);
  if (h.tag === Tag.onePassSignature) {
    startHash(state, parseOnePassSignature(body).hashAlgo);
    return;
  }
  const sig = parseSignature(body);
  if (sig.signatureType !== BINARY_SIGNATURE)
    throw new OpenPgpError(
      'unsupported',
      `signature type 0x${sig.signatureType.toString(16).padStart(2, '0')} is not supported (gpg --sign writes 0x00, binary)`,
    );
  if (state.signatures.length >= MAX_SIGNATURES) throw new OpenPgpError('format', `more than ${MAX_SIGNATURES} signatures`);
  // a signature before the data (no one-pass packet) is hashed like an announced one
  if (!state.literalSeen) startHash(state, sig.hashAlgo);
  state.signatures.push(sig);
}

/** Literal data from a packet sequence (inside the encrypted data, or inside a compressed packet). */
async function* plaintext(q: ChunkQueue, depth: number, sigs: SignatureState | null): AsyncGenerator<Buffer> {
  let literals = 0;
  for (;;) {
    const h = await readPacketHeader(q);
    if (!h) break;
    if (h.tag === Tag.literal) {
      literals++;
      if (sigs) {
        const hashes = [...sigs.hashes.values()];
        sigs.literalSeen = true;
        for await (const piece of literalBody(q, h)) {
          for (const hash of hashes) hash.update(piece);
          yield piece;
        }
      } else {
        yield* literalBody(q, h);
      }
    } else if (h.tag === Tag.compressed) {
      if (depth >= MAX_NESTING) throw new OpenPgpError('format', 'compressed packets nested too deeply');
      yield* plaintext(new ChunkQueue(decompressed(packetBody(q, h))), depth + 1, sigs);
      literals++;
    } else if (sigs && (h.tag === Tag.signature || h.tag === Tag.onePassSignature)) {
      await readSignaturePacket(q, h, sigs);
    } else if (h.tag === Tag.signature || h.tag === Tag.onePassSignature || h.tag === Tag.marker || h.tag === Tag.padding) {
      for await (const _ of packetBody(q, h)) {
        /* skipped: signatures are not checked here */
      }
    } else {
      throw new OpenPgpError('format', `unexpected packet type ${h.tag} inside the encrypted data`);
    }
  }
  if (literals === 0 && depth === 0) throw new OpenPgpError('format', 'no literal data in the OpenPGP message');
}

async function* literalBody(q: ChunkQueue, h: PacketHeader): AsyncGenerator<Buffer> {
  const body = new ChunkQueue(packetBody(q, h));
  if (!(await body.ensure(2))) throw new OpenPgpError('format', 'truncated literal packet');
  const head = body.take(2);
  const nameLen = head[1]!;
  if (!(await body.ensure(nameLen + 4))) throw new OpenPgpError('format', 'truncated literal packet');
  body.skip(nameLen + 4);
  for (;;) {
    if (body.buffered === 0 && !(await body.ensure(1))) return;
    yield body.take(body.buffered);
  }
}

/** A compressed packet's body, decompressed; the first byte names the algorithm. */
async function* decompressed(body: AsyncGenerator<Buffer>): AsyncGenerator<Buffer> {
  const q = new ChunkQueue(body);
  if (!(await q.ensure(1))) throw new OpenPgpError('format', 'truncated compressed packet');
  const algo = q.take(1)[0]!;
  const rest = async function* (): AsyncGenerator<Buffer> {
    for (;;) {
      if (q.buffered === 0 && !(await q.ensure(1))) return;
      yield q.take(q.buffered);
    }
  };
  if (algo === Compression.none) {
    yield* rest();
    return;
  }
  if (algo !== Compression.zip && algo !== Compression.zlib) {
    throw new OpenPgpError(
      'unsupported',
      algo === Compression.bzip2 ? 'BZIP2 compression is not supported by the built-in decryptor' : `unknown compression algorithm ${algo}`,
    );
  }
  const inflate = algo === Compression.zip ? createInflateRaw({ chunkSize: 256 * 1024 }) : createInflate({ chunkSize: 256 * 1024 });
  const piped = pipeline(Readable.from(rest(), { objectMode: false }), inflate, () => {});
  try {
    for await (const chunk of piped) yield chunk as Buffer;
  } catch (err) {
    if (err instanceof OpenPgpError) throw err;
    throw new OpenPgpError('format', `corrupt compressed data (${(err as Error).message})`, { cause: err });
  }
}
