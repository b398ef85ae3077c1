/** OpenPGP numbers (RFC 4880 §4.3, §9) and what node's crypto calls each symmetric cipher. */

export const Tag = {
  pkesk: 1,
  signature: 2,
  skesk: 3,
  onePassSignature: 4,
  compressed: 8,
  sed: 9,
  marker: 10,
  literal: 11,
  trust: 12,
  seipd: 18,
  mdc: 19,
  padding: 21,
} as const;

export const Compression = { none: 0, zip: 1, zlib: 2, bzip2: 3 } as const;
export type CompressionAlgo = (typeof Compression)[keyof typeof Compression];

export interface CipherInfo {
  readonly id: number;
  readonly name: string;
  /** node's CFB cipher name, or null when node has none (openpgp.js has CAST5, Blowfish, Twofish) */
  readonly nodeCfb: string | null;
  readonly keySize: number;
  readonly blockSize: number;
}

const CIPHERS: readonly CipherInfo[] = [
  { id: 2, name: 'TripleDES', nodeCfb: 'des-ede3-cfb', keySize: 24, blockSize: 8 },
  { id: 3, name: 'CAST5', nodeCfb: null, keySize: 16, blockSize: 8 },
  { id: 4, name: 'Blowfish', nodeCfb: null, keySize: 16, blockSize: 8 },
  { id: 7, name: 'AES128', nodeCfb: 'aes-128-cfb', keySize: 16, blockSize: 16 },
  { id: 8, name: 'AES192', nodeCfb: 'aes-192-cfb', keySize: 24, blockSize: 16 },
  { id: 9, name: 'AES256', nodeCfb: 'aes-256-cfb', keySize: 32, blockSize: 16 },
  { id: 10, name: 'Twofish', nodeCfb: null, keySize: 32, blockSize: 16 },
  { id: 11, name: 'Camellia128', nodeCfb: 'camellia-128-cfb', keySize: 16, blockSize: 16 },
  { id: 12, name: 'Camellia192', nodeCfb: 'camellia-192-cfb', keySize: 24, blockSize: 16 },
  { id: 13, name: 'Camellia256', nodeCfb: 'camellia-256-cfb', keySize: 32, blockSize: 16 },
];

export function cipherInfo(id: number): CipherInfo | undefined {
  return CIPHERS.find((c) => c.id === id);
}

export const AES256 = 9;

/** S2K hash ids and node's names for them. */
const HASHES: ReadonlyMap<number, string> = new Map([
  [1, 'md5'],
  [2, 'sha1'],
  [3, 'ripemd160'],
  [8, 'sha256'],
  [9, 'sha384'],
  [10, 'sha512'],
  [11, 'sha224'],
]);

export function hashName(id: number): string | undefined {
  return HASHES.get(id);
}

export const SHA1 = 2;
export const SHA256 = 8;
