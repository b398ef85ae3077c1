/**
 * Real gpg (2.2) in a throw-away GNUPGHOME: the oracle for the OpenPGP tests and the key store of
 * the public-key interop tests. The passphrase always goes through --passphrase-fd 0, never argv.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export interface GpgHome {
  readonly dir: string;
  /** gpg with this home; throws with gpg's stderr on failure */
  run(args: readonly string[], opts?: { input?: string | Buffer; passphrase?: string }): Buffer;
  /** a new key (primary + encryption subkey); returns its fingerprint */
  genKey(uid: string, algo: 'rsa' | 'ecc', passphrase: string): string;
  /** the key id (16 hex digits) of the key's encryption subkey */
  encryptionSubkeyId(fingerprint: string): string;
  /** stops the gpg-agent this home started */
  close(): void;
}

export function gpgHome(parent: string): GpgHome {
  const dir = join(parent, 'gnupg');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const env = { ...process.env, GNUPGHOME: dir };
  const run = (args: readonly string[], opts: { input?: string | Buffer; passphrase?: string } = {}): Buffer => {
    const pass = opts.passphrase !== undefined ? ['--pinentry-mode', 'loopback', '--passphrase-fd', '0'] : [];
    if (opts.passphrase !== undefined && opts.input !== undefined) throw new Error('gpgHome.run: input and passphrase both use stdin');
    const r = spawnSync('gpg', ['--batch', '--no-tty', '--quiet', ...pass, ...args], {
      env,
      input: opts.passphrase ?? opts.input ?? '',
      maxBuffer: 1 << 30,
    });
    if (r.status !== 0) throw new Error(`gpg ${args.join(' ')}: exit ${r.status}: ${r.stderr.toString()}`);
    return r.stdout;
  };
  return {
    dir,
    run,
    genKey(uid, algo, passphrase) {
      run(['--quick-gen-key', uid, algo === 'rsa' ? 'rsa2048' : 'future-default', 'default', 'never'], { passphrase });
      const fpr = colons(run(['--with-colons', '--list-keys', uid]), 'fpr')[0]!;
      if (algo === 'rsa') run(['--quick-add-key', fpr, 'rsa2048', 'encr', 'never'], { passphrase });
      return fpr;
    },
    encryptionSubkeyId(fingerprint) {
      const lines = run(['--with-colons', '--list-keys', fingerprint]).toString().split('\n');
      const sub = lines.find((l) => l.startsWith('sub:') && l.split(':')[11]!.includes('e'));
      if (!sub) throw new Error(`no encryption subkey on ${fingerprint}`);
      return sub.split(':')[4]!;
    },
    close() {
      try {
        execFileSync('gpgconf', ['--kill', 'gpg-agent'], { env, stdio: 'ignore' });
      } catch {
        // no agent
      }
    },
  };
}

function colons(out: Buffer, kind: string): string[] {
  return out
    .toString()
    .split('\n')
    .filter((l) => l.startsWith(`${kind}:`))
    .map((l) => l.split(':')[9]!);
}
