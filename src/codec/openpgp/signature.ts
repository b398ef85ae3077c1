import { createHash, type Hash } from 'node:crypto';
import { hashName, Tag } from './constants.ts';
import { OpenPgpError } from './errors.ts';
import { definiteHeader } from './packet-header.ts';

/**
 * Version 4 signatures over binary literal data (RFC 4880 §5.2, §5.4), as `gpg --sign` writes them
 * inside an encrypted message: a one-pass signature packet before the literal packet, the
 * signature packet after it. The public-key operation itself is the caller's (MessageSigner,
 * SignatureVerifier): this module only frames packets and says which bytes are hashed.
 */

/** Signature type 0x00: a signature of a binary document. */
export const BINARY_SIGNATURE = 0x00;

/** Public-key algorithm ids (RFC 4880 §9.1, RFC 9580) that this code names in messages. */
export const PublicKeyAlgo = { rsa: 1, rsaSign: 3, dsa: 17, ecdsa: 19, eddsaLegacy: 22, ed25519: 27, ed448: 28 } as const;

/** What signs a message: the key's identity, and the operation on the finished digest. */
export interface MessageSigner {
  readonly publicKeyAlgo: number;
  readonly hashAlgo: number;
  /** the v4 fingerprint (20 bytes) of the (sub)key that signs */
  readonly fingerprint: Buffer;
  /**
   * The signature's algorithm-specific MPIs, already serialized (RFC 4880 §5.2.2: RSA one MPI,
   * EdDSA and DSA two), for `digest` (the hash of data, hashed part and trailer).
   */
  sign(digest: Buffer): Promise<Buffer>;
}

/** What a reader checks a signature with; told the parsed packet and the digest it computed. */
export interface SignatureVerifier {
  /** Throws an OpenPgpError when the signature is not a good one by the expected key. */
  verify(signature: ParsedSignature, digest: Buffer): Promise<void>;
}

export interface ParsedSignature {
  readonly version: number;
  readonly signatureType: number;
  readonly publicKeyAlgo: number;
  readonly hashAlgo: number;
  /** 16 hex digits, upper case: from the issuer subpacket, or the end of the issuer fingerprint; null if neither */
  readonly issuerKeyId: string | null;
  /** creation time, seconds */
  readonly created: number | null;
  /** the hashed part (version to hashed subpackets) followed by the v4 trailer: what is hashed after the data */
  readonly hashedTail: Buffer;
  /** the whole packet body, for a library that parses it again */
  readonly body: Buffer;
}

/** A one-pass signature packet announcing `signer` (not nested: one signature). */
export function onePassSignaturePacket(signer: Pick<MessageSigner, 'publicKeyAlgo' | 'hashAlgo' | 'fingerprint'>): Buffer {
  const body = Buffer.alloc(13);
  body[0] = 3;
  body[1] = BINARY_SIGNATURE;
  body[2] = signer.hashAlgo;
  body[3] = signer.publicKeyAlgo;
  keyIdOf(signer.fingerprint).copy(body, 4);
  body[12] = 1;
  return Buffer.concat([definiteHeader(Tag.onePassSignature, body.length), body]);
}

/**
 * The hashed part of a signature made now by `signer`, as gpg 2.2 writes it (issuer fingerprint
 * and creation time hashed, issuer key id not), and the trailer that follows it in the hash.
 */
export function signatureHashedPart(
  signer: Pick<MessageSigner, 'publicKeyAlgo' | 'hashAlgo' | 'fingerprint'>,
  created: number,
): { hashedPart: Buffer; hashedTail: Buffer } {
  if (signer.fingerprint.length !== 20) throw new RangeError('a v4 fingerprint is 20 bytes');
  const fpr = subpacket(33, Buffer.concat([Buffer.from([4]), signer.fingerprint]));
  const time = Buffer.alloc(4);
  time.writeUInt32BE(created >>> 0);
  const subs = Buffer.concat([fpr, subpacket(2, time)]);
  const head = Buffer.from([4, BINARY_SIGNATURE, signer.publicKeyAlgo, signer.hashAlgo, subs.length >> 8, subs.length & 0xff]);
  const hashedPart = Buffer.concat([head, subs]);
  return { hashedPart, hashedTail: Buffer.concat([hashedPart, trailer(hashedPart.length)]) };
}

/** The signature packet: hashed part, unhashed issuer key id, the digest's first two bytes, the MPIs. */
export function signaturePacket(hashedPart: Buffer, fingerprint: Buffer, digest: Buffer, mpis: Buffer): Buffer {
  const unhashed = subpacket(16, keyIdOf(fingerprint));
  const body = Buffer.concat([
    hashedPart,
    Buffer.from([unhashed.length >> 8, unhashed.length & 0xff]),
    unhashed,
    digest.subarray(0, 2),
    mpis,
  ]);
  return Buffer.concat([definiteHeader(Tag.signature, body.length), body]);
}

/** An MPI (RFC 4880 §3.2) of a big-endian unsigned integer. */
export function mpi(value: Uint8Array): Buffer {
  let i = 0;
  while (i < value.length && value[i] === 0) i++;
  const bytes = Buffer.from(value.subarray(i));
  const bits = bytes.length === 0 ? 0 : (bytes.length - 1) * 8 + (32 - Math.clz32(bytes[0]!));
  return Buffer.concat([Buffer.from([bits >> 8, bits & 0xff]), bytes]);
}

/** The key id (last 8 bytes) of a v4 fingerprint. */
export function keyIdOf(fingerprint: Buffer): Buffer {
  return fingerprint.subarray(fingerprint.length - 8);
}

/** The hash of a signature being computed as the data goes by. */
export function newSignatureHash(hashAlgo: number): Hash {
  const name = hashName(hashAlgo);
  if (!name) throw new OpenPgpError('unsupported', `signature hash algorithm ${hashAlgo} is not supported`);
  return createHash(name);
}

/** The hash algorithm a one-pass signature packet announces, and its signer's key id. */
export function parseOnePassSignature(body: Buffer): { hashAlgo: number; keyId: string; signatureType: number } {
  if (body.length < 13 || body[0] !== 3) throw new OpenPgpError('format', `malformed one-pass signature packet (version ${body[0]})`);
  return { signatureType: body[1]!, hashAlgo: body[2]!, keyId: body.subarray(4, 12).toString('hex').toUpperCase() };
}

/** A v4 signature packet's fields that say what it covers and who made it. */
export function parseSignature(body: Buffer): ParsedSignature {
  const version = body[0];
  if (version !== 4)
    throw new OpenPgpError('unsupported', `signature packet version ${version} is not supported (gpg 2.2 writes version 4)`);
  if (body.length < 6) throw new OpenPgpError('format', 'truncated signature packet');
  const hashedLen = body.readUInt16BE(4);
  const hashedEnd = 6 + hashedLen;
  if (body.length < hashedEnd + 2) throw new OpenPgpError('format', 'truncated signature packet');
  const unhashedLen = body.readUInt16BE(hashedEnd);
  const unhashedEnd = hashedEnd + 2 + unhashedLen;
  if (body.length < unhashedEnd + 2) throw new OpenPgpError('format', 'truncated signature packet');
  let issuerKeyId: string | null = null;
  let fprKeyId: string | null = null;
  let created: number | null = null;
  const visit = (from: number, to: number, hashed: boolean) => {
    for (const { type, data } of subpackets(body, from, to)) {
      if (type === 16 && data.length === 8) issuerKeyId ??= data.toString('hex').toUpperCase();
      else if (type === 33 && data.length >= 9)
        fprKeyId ??= data
          .subarray(data.length - 8)
          .toString('hex')
          .toUpperCase();
      else if (type === 2 && data.length === 4 && hashed) created ??= data.readUInt32BE(0);
    }
  };
  visit(6, hashedEnd, true);
  visit(hashedEnd + 2, unhashedEnd, false);
  const hashedPart = body.subarray(0, hashedEnd);
  return {
    version,
    signatureType: body[1]!,
    publicKeyAlgo: body[2]!,
    hashAlgo: body[3]!,
    issuerKeyId: issuerKeyId ?? fprKeyId,
    created,
    hashedTail: Buffer.concat([hashedPart, trailer(hashedPart.length)]),
    body,
  };
}

function* subpackets(b: Buffer, from: number, to: number): Generator<{ type: number; data: Buffer }> {
  let at = from;
  while (at < to) {
    const o1 = b[at]!;
    let len: number;
    if (o1 < 192) {
      len = o1;
      at += 1;
    } else if (o1 < 255) {
      if (at + 2 > to) throw new OpenPgpError('format', 'malformed signature subpacket');
      len = ((o1 - 192) << 8) + b[at + 1]! + 192;
      at += 2;
    } else {
      if (at + 5 > to) throw new OpenPgpError('format', 'malformed signature subpacket');
      len = b.readUInt32BE(at + 1);
      at += 5;
    }
    if (len < 1 || at + len > to) throw new OpenPgpError('format', 'malformed signature subpacket');
    yield { type: b[at]! & 0x7f, data: b.subarray(at + 1, at + len) };
    at += len;
  }
}

function subpacket(type: number, data: Buffer): Buffer {
  if (data.length + 1 >= 192) throw new RangeError('long subpackets are not written');
  return Buffer.concat([Buffer.from([data.length + 1, type]), data]);
}

function trailer(hashedLength: number): Buffer {
  const t = Buffer.alloc(6);
  t[0] = 4;
  t[1] = 0xff;
  t.writeUInt32BE(hashedLength, 2);
  return t;
}
