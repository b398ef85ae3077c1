/**
 * Commands the CLI prints for the user to run next (the thaw an archived volume needs, the restore
 * after a Batch Operations job). Run as printed they must reach the same target as the run that
 * printed them, so they carry every option that names it or is needed to read it: the file
 * prefixes, the cache (--archive-dir, --name), the S3 endpoint and region, the keys. Secrets are
 * never on a command line (passphrases come from PASSPHRASE or --passphrase-file), and
 * --gpg-options is left out because it may hold one.
 */
import * as path from 'node:path';
import { defaults } from '../command-line/defaults.ts';
import { resolveEnv } from '../command-line/expand-path.ts';
import { quoteShellWord } from '../command-line/shell-words.ts';
import { BackendError } from '../backend/backend.ts';
import type { CliOptions, ParsedCommandLine } from './command-line.ts';

/** The options of `o` that name the target or are needed to read it, as command-line words. */
export function targetOptionWords(o: CliOptions, env: NodeJS.ProcessEnv = process.env): string[] {
  const base = defaults(resolveEnv({ env }));
  const words: string[] = [];
  const value = (name: string, v: string | number | undefined, unless?: string | number) => {
    if (v !== undefined && v !== unless) words.push(name, String(v));
  };
  const flag = (name: string, on: boolean) => {
    if (on) words.push(name);
  };
  value('--archive-dir', absolute(o.archiveDir), absolute(base.archiveDir));
  value('--name', o.name);
  value('--file-prefix', o.filePrefix, '');
  value('--file-prefix-archive', o.filePrefixArchive, '');
  value('--file-prefix-manifest', o.filePrefixManifest, '');
  value('--file-prefix-signature', o.filePrefixSignature, '');
  value('--time-separator', o.timeSeparator, base.timeSeparator);
  flag('--short-filenames', o.shortFilenames);
  value('--s3-endpoint-url', o.s3EndpointUrl);
  value('--s3-region-name', o.s3RegionName);
  flag('--s3-unencrypted-connection', o.s3UnencryptedConnection);
  flag('--no-encryption', o.noEncryption);
  for (const k of o.encryptKeys) value('--encrypt-key', k);
  for (const k of o.hiddenEncryptKeys) value('--hidden-encrypt-key', k);
  value('--sign-key', o.signKey);
  for (const f of o.keyFiles) value('--key-file', absolute(f));
  value('--passphrase-file', o.passphraseFile !== undefined ? absolute(o.passphraseFile) : undefined);
  value('--gpg-binary', o.gpgBinary);
  flag('--use-agent', o.useAgent);
  value('--pricing-file', o.pricingFile !== undefined ? absolute(o.pricingFile) : undefined);
  value('--current-time', o.currentTime);
  return words;
}

/** Local paths absolute, so that the command works from another directory too. */
function absolute(p: string): string {
  return path.resolve(p);
}

/** A URL as it may be printed: a password in it (never needed by S3 or file://) is masked. */
function printableUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password === '') return url;
    u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

/**
 * `permafrost VERB-WORDS TARGET-OPTIONS URL [MORE]`, each word shell-quoted. `more` are the
 * positionals after the URL (a placeholder such as DEST_DIR stays bare).
 */
export function rerunCommand(
  verbWords: readonly string[],
  o: CliOptions,
  url: string,
  more: readonly string[] = [],
  env: NodeJS.ProcessEnv = process.env,
): string {
  const words = [...verbWords, ...targetOptionWords(o, env), printableUrl(url), ...more];
  return ['permafrost', ...words.map(quoteShellWord)].join(' ');
}

/** The words that choose what a thaw or restore covers (--file-to-restore, --time) and how it thaws (--tier, --days), as given. */
export function restoreScopeWords(o: CliOptions): string[] {
  return [
    ...(o.fileToRestore !== undefined ? ['--file-to-restore', o.fileToRestore] : []),
    ...(o.time !== undefined ? ['--time', o.time] : []),
    ...(o.tier !== undefined ? ['--tier', o.tier] : []),
    ...(o.days !== undefined ? ['--days', String(o.days)] : []),
  ];
}

/**
 * A next step for an error that ends the run, or undefined: a read that hit an archived object
 * (verify --compare-data, a restore past its plan) points at the thaw plan for the same target.
 */
export function fatalHint(err: unknown, cmd: ParsedCommandLine): string | undefined {
  if (!(err instanceof BackendError) || err.code !== 'archived' || cmd.url === undefined) return undefined;
  return `See what a thaw needs and costs with: ${rerunCommand(['thaw', '--dry-run', ...restoreScopeWords(cmd.options)], cmd.options, cmd.url)}`;
}
