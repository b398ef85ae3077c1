import { constants, createPrivateKey, privateEncrypt, sign as nodeSign, type KeyObject } from 'node:crypto';
import type * as openpgp from 'openpgp';
import { openpgpLib } from './openpgp-lib.ts';
import { SHA256, Tag } from '../codec/openpgp/constants.ts';
import { OpenPgpError } from '../codec/openpgp/errors.ts';
import { definiteHeader } from '../codec/openpgp/packet-header.ts';
import { mpi, PublicKeyAlgo, type MessageSigner, type ParsedSignature, type SignatureVerifier } from '../codec/openpgp/signature.ts';

/**
 * The public-key halves of `--sign-key`: signing a finished digest (the message layer hashes the
 * data as it streams, so no library ever sees the gigabyte it covers) with Node's crypto, and
 * checking one with openpgp.js given the digest.
 */

/** ASN.1 DigestInfo prefix of SHA-256 for PKCS #1 v1.5 signatures (RFC 8017 §9.2, note 1). */
const SHA256_DIGEST_INFO = Buffer.from('3031300d060960864801650304020105000420', 'hex');
/** The OID of Ed25519 in legacy EdDSA keys (RFC 4880bis), as openpgp.js writes it. */
const ED25519_OID = '1.3.6.1.4.1.11591.15.1';

interface KeyParams {
  readonly n?: Uint8Array;
  readonly e?: Uint8Array;
  readonly d?: Uint8Array;
  readonly p?: Uint8Array;
  readonly q?: Uint8Array;
  readonly u?: Uint8Array;
  readonly seed?: Uint8Array;
  readonly Q?: Uint8Array;
  /** openpgp.js's OID object: the DER body in `oid` */
  readonly oid?: { readonly oid?: Uint8Array };
}

/**
 * The signer for an unlocked secret key: its signing (sub)key, as gpg `--default-key K --sign`
 * picks it. RSA and Ed25519 (gpg 2.2's default key types) are supported.
 */
export async function messageSigner(key: openpgp.PrivateKey, name: string): Promise<MessageSigner> {
  let signing: openpgp.PrivateKey | openpgp.Subkey;
  try {
    signing = await key.getSigningKey();
  } catch (err) {
    throw new OpenPgpError('no-key', `key ${name} (${key.getFingerprint().toUpperCase()}) cannot sign: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const packet = signing.keyPacket;
  const fingerprint = Buffer.from(packet.getFingerprintBytes() ?? []);
  if (packet.version !== 4 || fingerprint.length !== 20)
    throw new OpenPgpError('unsupported', `key ${name}: only version 4 keys can sign (gpg 2.2 makes version 4 keys)`);
  const pub = packet.publicParams as KeyParams;
  const priv = (packet as openpgp.SecretKeyPacket).privateParams as KeyParams | null;
  if (!priv) throw new OpenPgpError('no-key', `key ${name}: the secret key is not unlocked`);
  const algo = packet.algorithm as number;
  if (algo === PublicKeyAlgo.rsa || algo === PublicKeyAlgo.rsaSign) {
    const nodeKey = rsaPrivateKey(pub, priv);
    return {
      publicKeyAlgo: algo,
      hashAlgo: SHA256,
      fingerprint,
      sign: async (digest) =>
        mpi(privateEncrypt({ key: nodeKey, padding: constants.RSA_PKCS1_PADDING }, Buffer.concat([SHA256_DIGEST_INFO, digest]))),
    };
  }
  if (algo === PublicKeyAlgo.eddsaLegacy && oidOf(pub) === ED25519_OID && priv.seed && pub.Q) {
    const nodeKey = createPrivateKey({
      key: { kty: 'OKP', crv: 'Ed25519', d: b64url(priv.seed), x: b64url(pub.Q.subarray(1)) },
      format: 'jwk',
    });
    return {
      publicKeyAlgo: algo,
      hashAlgo: SHA256,
      fingerprint,
      // legacy EdDSA signs the digest; R and S are written as two MPIs
      sign: async (digest) => {
        const rs = nodeSign(null, digest, nodeKey);
        return Buffer.concat([mpi(rs.subarray(0, 32)), mpi(rs.subarray(32))]);
      },
    };
  }
  throw new OpenPgpError(
    'unsupported',
    `key ${name}: signing with ${signing.getAlgorithmInfo().algorithm} keys is not supported (RSA and Ed25519 are)`,
  );
}

/**
 * Checks that a signature is a good one by the key `name` (or one of its subkeys), as duplicity
 * requires gpg's GOODSIG by the --sign-key. `keys` are the public keys that `name` names.
 */
export function signatureVerifier(name: string, keys: () => Promise<openpgp.PublicKey[]>): SignatureVerifier {
  return {
    async verify(sig: ParsedSignature, digest: Buffer): Promise<void> {
      const issuer = sig.issuerKeyId;
      if (!issuer) throw new OpenPgpError('integrity', 'bad signature: it names no issuing key');
      let owner: openpgp.PublicKey | undefined;
      let issuerId: openpgp.KeyID | undefined;
      for (const k of await keys()) {
        issuerId = k
          .getKeys()
          .find((sub) => sub.getKeyID().toHex().toUpperCase() === issuer)
          ?.getKeyID();
        if (issuerId) {
          owner = k;
          break;
        }
      }
      if (!owner || !issuerId) throw new OpenPgpError('integrity', `signed by key ${issuer}, not by --sign-key ${name}`);
      const created = sig.created === null ? null : new Date(sig.created * 1000);
      let signingKey: openpgp.PublicKey | openpgp.Subkey;
      try {
        signingKey = await owner.getSigningKey(issuerId, created);
      } catch (err) {
        throw new OpenPgpError('integrity', `bad signature: key ${issuer} cannot sign (${(err as Error).message})`, { cause: err });
      }
      let packet: openpgp.SignaturePacket;
      try {
        const parsed = await (await openpgpLib()).readSignature({
          binarySignature: Buffer.concat([definiteHeader(Tag.signature, sig.body.length), sig.body]),
        });
        packet = parsed.packets[0]!;
      } catch (err) {
        throw new OpenPgpError('format', `malformed signature packet (${(err as Error).message})`, { cause: err });
      }
      // openpgp.js's streaming verification hands the packet its digest this way
      (packet as unknown as { hashed: Uint8Array }).hashed = digest;
      try {
        await packet.verify(
          signingKey.keyPacket,
          (await openpgpLib()).enums.signature.binary,
          null as unknown as object,
          null as unknown as Date,
        );
      } catch (err) {
        throw new OpenPgpError('integrity', `bad signature by key ${issuer} (${(err as Error).message})`, { cause: err });
      }
    },
  };
}

/** A Node key from OpenPGP's RSA parameters (u = p⁻¹ mod q, so p and q swap for JWK's qi = q⁻¹ mod p). */
function rsaPrivateKey(pub: KeyParams, priv: KeyParams): KeyObject {
  const { n, e } = pub;
  const { d, p, q, u } = priv;
  if (!n || !e || !d || !p || !q || !u) throw new OpenPgpError('format', 'incomplete RSA secret key');
  const D = big(d);
  const P = big(p);
  const Q = big(q);
  const jwk = {
    kty: 'RSA',
    n: b64url(n),
    e: b64url(e),
    d: b64url(d),
    p: b64url(q),
    q: b64url(p),
    dp: b64url(bytes(D % (Q - 1n))),
    dq: b64url(bytes(D % (P - 1n))),
    qi: b64url(u),
  };
  return createPrivateKey({ key: jwk, format: 'jwk' });
}

function oidOf(pub: KeyParams): string | null {
  return pub.oid?.oid ? decodeOid(pub.oid.oid) : null;
}

/** Dotted text of a DER OID body. */
function decodeOid(b: Uint8Array): string {
  if (b.length === 0) return '';
  const parts = [Math.floor(b[0]! / 40), b[0]! % 40];
  let v = 0;
  for (let i = 1; i < b.length; i++) {
    v = v * 128 + (b[i]! & 0x7f);
    if ((b[i]! & 0x80) === 0) {
      parts.push(v);
      v = 0;
    }
  }
  return parts.join('.');
}

function big(b: Uint8Array): bigint {
  return b.length === 0 ? 0n : BigInt(`0x${Buffer.from(b).toString('hex')}`);
}

function bytes(v: bigint): Buffer {
  let hex = v.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  return Buffer.from(hex, 'hex');
}

function b64url(b: Uint8Array): string {
  return Buffer.from(b).toString('base64url');
}
