/**
 * The command line's encryption settings as an Encryption (or null with --no-encryption), and
 * where the passphrase comes from: $PASSPHRASE, --passphrase-file, or a prompt on the terminal
 * (confirmed when it will encrypt), in that order, asked once and only when a file needs it.
 * Never from argv: every user can read a process's arguments.
 */
import { readFileSync } from 'node:fs';
import { Encryption } from '../crypto/encryption.ts';
import type { CliOptions } from './command-line.ts';
import { UsageError } from '../command-line/usage-error.ts';

export interface PassphraseOptions {
  readonly env: NodeJS.ProcessEnv;
  readonly file?: string | undefined;
  /** the terminal prompt; defaults to reading /dev/tty-backed stdin without echo */
  readonly prompt?: (question: string) => Promise<string | null>;
}

export function encryptionFor(o: CliOptions, opts: PassphraseOptions): Encryption | null {
  if (o.noEncryption) return null;
  const signKey = o.signKey ?? null;
  // duplicity reuses one variable for the other when the sign key is also a recipient (docs/duplicity-format.md §6.3)
  const shared = signKey !== null && (o.encryptKeys.includes(signKey) || o.hiddenEncryptKeys.includes(signKey));
  const env = opts.env;
  const source = passphraseSource(
    shared && env['PASSPHRASE'] === undefined && env['SIGN_PASSPHRASE'] !== undefined
      ? { ...opts, env: { ...env, PASSPHRASE: env['SIGN_PASSPHRASE'] } }
      : opts,
  );
  return new Encryption({
    recipients: o.encryptKeys,
    hiddenRecipients: o.hiddenEncryptKeys,
    passphrase: source,
    keys: { keyFiles: o.keyFiles, gpg: { binary: o.gpgBinary ?? 'gpg' } },
    signKey,
    ...(signKey !== null && { signPassphrase: signPassphraseSource(opts, shared ? source : null) }),
  });
}

/**
 * The --sign-key's passphrase: SIGN_PASSPHRASE; else, when the sign key is also a recipient, the
 * passphrase (PASSPHRASE, file or prompt); else a prompt on a terminal; else null.
 */
export function signPassphraseSource(
  opts: PassphraseOptions,
  shared: ((purpose?: 'encrypt' | 'decrypt') => Promise<string | null>) | null,
): (purpose?: 'encrypt' | 'decrypt') => Promise<string | null> {
  let known: Promise<string | null> | null = null;
  return () => {
    known ??= (async () => {
      const env = opts.env['SIGN_PASSPHRASE'];
      if (env !== undefined) return env;
      if (shared) return shared('decrypt');
      const prompt = opts.prompt ?? (process.stdin.isTTY ? promptHidden : null);
      if (!prompt) return null;
      return prompt('GnuPG passphrase for signing key: ');
    })();
    return known;
  };
}

/**
 * The passphrase, looked up once: PASSPHRASE, else the first line of --passphrase-file, else a
 * prompt on a terminal (asked twice when `confirm`), else null.
 */
export function passphraseSource(opts: PassphraseOptions): (purpose?: 'encrypt' | 'decrypt') => Promise<string | null> {
  let known: Promise<string | null> | null = null;
  return (purpose = 'decrypt') => {
    known ??= (async () => {
      const env = opts.env['PASSPHRASE'];
      if (env !== undefined) return env;
      if (opts.file !== undefined) {
        let text: string;
        try {
          text = readFileSync(opts.file, 'utf8');
        } catch (err) {
          throw new UsageError(
            `cannot read --passphrase-file ${opts.file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
          );
        }
        return firstLine(text);
      }
      const prompt = opts.prompt ?? (process.stdin.isTTY ? promptHidden : null);
      if (!prompt) return null;
      for (;;) {
        const p = await prompt('GnuPG passphrase: ');
        if (p === null) return null;
        if (purpose !== 'encrypt') return p;
        if (p === '') {
          process.stderr.write('Cannot use an empty passphrase with symmetric encryption! Please try again.\n');
          continue;
        }
        const again = await prompt('Retype passphrase to confirm: ');
        if (again === p) return p;
        process.stderr.write('First and second passphrases do not match! Please try again.\n');
      }
    })();
    return known;
  };
}

function firstLine(text: string): string {
  const i = text.search(/\r?\n/);
  return i < 0 ? text : text.slice(0, i);
}

/** Reads one line from the terminal without echoing it; null on end of input. */
function promptHidden(question: string): Promise<string | null> {
  const stdin = process.stdin;
  return new Promise((resolve, reject) => {
    process.stderr.write(question);
    let value = '';
    const done = (result: string | null) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      resolve(result);
    };
    const onData = (buf: Buffer) => {
      for (const ch of buf.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done(value);
        if (ch === '\u0004') return done(value === '' ? null : value);
        if (ch === '\u0003') {
          stdin.setRawMode(false);
          stdin.pause();
          stdin.off('data', onData);
          process.stderr.write('\n');
          return reject(new UsageError('passphrase prompt interrupted'));
        }
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on('data', onData);
  });
}
