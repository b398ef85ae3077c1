import { readFile } from 'node:fs/promises';
import type * as openpgp from 'openpgp';
import { openpgpLib } from './openpgp-lib.ts';
import { OpenPgpError } from '../codec/openpgp/errors.ts';
import { redactSecrets } from '../core/redact.ts';

/**
 * Where public and secret keys come from: key files (armored or binary, single keys or keyrings,
 * e.g. the output of `gpg --export` / `gpg --export-secret-keys`), then the user's gpg keyring,
 * exported on demand by running gpg (honouring GNUPGHOME).
 */
export interface KeySources {
  readonly keyFiles: readonly string[];
  /** gpg to export keys that no key file holds; null: never run gpg */
  readonly gpg: { readonly binary: string } | null;
}

/** The passphrase; `encrypt` when it will encrypt (a prompt then asks for confirmation). */
export type PassphraseSource = (purpose?: 'encrypt' | 'decrypt') => Promise<string | null>;

/** Loads and caches keys; each source is read at most once. */
export class Keyring {
  readonly #sources: KeySources;
  #fileKeys: Promise<openpgp.Key[]> | null = null;
  readonly #secretCache = new Map<string, openpgp.PrivateKey[]>();

  constructor(sources: KeySources) {
    this.#sources = sources;
  }

  /** The public keys for `--encrypt-key` ids (hex key ids or fingerprints, or user id text). */
  async publicKeys(ids: readonly string[]): Promise<openpgp.PublicKey[]> {
    const out: openpgp.PublicKey[] = [];
    for (const id of ids) {
      const found = await this.publicKeysNamed(id);
      for (const k of found) {
        try {
          await k.getEncryptionKey();
        } catch (err) {
          throw new OpenPgpError('no-key', `key ${id} (${k.getFingerprint().toUpperCase()}) cannot encrypt: ${(err as Error).message}`, {
            cause: err,
          });
        }
        out.push(k);
      }
    }
    return out;
  }

  /** The public keys that `id` names, whatever they can do (--sign-key's, to check signatures). */
  async publicKeysNamed(id: string): Promise<openpgp.PublicKey[]> {
    let found = (await this.#fromFiles()).filter((k) => keyMatches(k, id)).map((k) => k.toPublic());
    if (found.length === 0 && this.#sources.gpg) {
      const bytes = await runGpg(this.#sources.gpg.binary, ['--export', id], null);
      if (bytes.length > 0) found = (await (await openpgpLib()).readKeys({ binaryKeys: bytes })).map((k) => k.toPublic());
    }
    if (found.length === 0) throw new OpenPgpError('no-key', `public key ${id} not found (${this.#where()})`);
    return found;
  }

  /**
   * Secret keys, unlocked, that may hold one of `keyIds` (16 hex digits; all keys when the list
   * holds the wildcard id). A key protected by a passphrase is opened with `passphrase`.
   */
  async secretKeys(keyIds: readonly string[], passphrase: PassphraseSource): Promise<openpgp.PrivateKey[]> {
    const wildcard = keyIds.includes('0000000000000000');
    const cacheKey = wildcard ? '*' : [...keyIds].sort().join(',');
    const cached = this.#secretCache.get(cacheKey);
    if (cached) return cached;
    let candidates = (await this.#fromFiles()).filter((k): k is openpgp.PrivateKey => k.isPrivate());
    if (!wildcard) candidates = candidates.filter((k) => keyIds.some((id) => keyMatches(k, id)));
    let pass: string | null | undefined;
    const getPass = async () => (pass === undefined ? (pass = await passphrase()) : pass);
    if (candidates.length === 0 && this.#sources.gpg) {
      const bytes = await runGpg(
        this.#sources.gpg.binary,
        ['--pinentry-mode', 'loopback', '--passphrase-fd', '0', '--export-secret-keys', ...(wildcard ? [] : keyIds.map((id) => `0x${id}`))],
        (await getPass()) ?? '',
      );
      if (bytes.length > 0) candidates = await (await openpgpLib()).readPrivateKeys({ binaryKeys: bytes });
    }
    const unlocked: openpgp.PrivateKey[] = [];
    for (const k of candidates) {
      if (k.isDecrypted()) {
        unlocked.push(k);
        continue;
      }
      const p = await getPass();
      if (p === null)
        throw new OpenPgpError('no-key', `secret key ${k.getKeyID().toHex().toUpperCase()} is protected by a passphrase; none given`);
      try {
        unlocked.push(await (await openpgpLib()).decryptKey({ privateKey: k, passphrase: p }));
      } catch (err) {
        throw new OpenPgpError('bad-key', `wrong passphrase for secret key ${k.getKeyID().toHex().toUpperCase()}`, { cause: err });
      }
    }
    this.#secretCache.set(cacheKey, unlocked);
    return unlocked;
  }

  #where(): string {
    const files = this.#sources.keyFiles.length > 0 ? `key files ${this.#sources.keyFiles.join(', ')}` : 'no key file given';
    return this.#sources.gpg ? `${files}; gpg keyring ${process.env['GNUPGHOME'] ?? '~/.gnupg'}` : files;
  }

  async #fromFiles(): Promise<openpgp.Key[]> {
    this.#fileKeys ??= (async () => {
      const keys: openpgp.Key[] = [];
      for (const f of this.#sources.keyFiles) {
        let bytes: Buffer;
        try {
          bytes = await readFile(f);
        } catch (err) {
          throw new OpenPgpError('no-key', `cannot read key file ${f}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
            cause: err,
          });
        }
        try {
          const text = bytes.subarray(0, 64).toString('latin1');
          keys.push(
            ...(text.includes('-----BEGIN PGP')
              ? await (await openpgpLib()).readKeys({ armoredKeys: bytes.toString('utf8') })
              : await (await openpgpLib()).readKeys({ binaryKeys: bytes })),
          );
        } catch (err) {
          throw new OpenPgpError('format', `key file ${f} holds no readable OpenPGP key: ${(err as Error).message}`, { cause: err });
        }
      }
      return keys;
    })();
    return this.#fileKeys;
  }
}

/** Whether `id` names this key: a hex key id or fingerprint (of the key or a subkey), or user id text. */
export function keyMatches(key: openpgp.Key, id: string): boolean {
  const hex = id.replace(/^0x/i, '').toLowerCase();
  if (/^[0-9a-f]{8,40}$/.test(hex)) {
    for (const k of [key, ...key.getSubkeys()]) {
      if (k.getFingerprint().toLowerCase().endsWith(hex)) return true;
      if (k.getKeyID().toHex().toLowerCase().endsWith(hex)) return true;
    }
    return false;
  }
  const needle = id.replace(/^[<=]/, '').replace(/>$/, '').toLowerCase();
  return key.getUserIDs().some((u) => u.toLowerCase().includes(needle));
}

/** Runs gpg in batch mode; `stdin` (a passphrase for --passphrase-fd 0) never appears in argv. */
async function runGpg(binary: string, args: readonly string[], stdin: string | null): Promise<Buffer> {
  // imported here: a run without keys does not load node:child_process (docs/performance.md)
  const { spawn } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    const child = spawn(binary, ['--batch', '--no-tty', '--quiet', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => reject(new OpenPgpError('no-key', `cannot run ${binary} to export keys: ${e.message}`, { cause: e })));
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out));
      else {
        // gpg ends with "WARNING: nothing exported"; the line before says why (e.g. Bad passphrase)
        // gpg's words, from a process that was given the passphrase: it must not come back out
        const lines = redactSecrets(Buffer.concat(err).toString('utf8'), stdin ? [stdin] : [], '***')
          .trim()
          .split('\n');
        const msg = lines.find((l) => /passphrase/i.test(l)) ?? lines.pop() ?? '';
        const kind = /bad passphrase|no passphrase|inappropriate ioctl/i.test(msg) ? 'bad-key' : 'no-key';
        reject(
          new OpenPgpError(kind, `${binary} ${args.filter((a) => a.startsWith('--export')).join(' ')} failed: ${msg || `exit ${code}`}`),
        );
      }
    });
    child.stdin.on('error', () => {});
    child.stdin.end(stdin ?? '');
  });
}
