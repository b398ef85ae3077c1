/**
 * openpgp.js, loaded on first use: only key handling needs it (the message layer is our own), and
 * loading it costs about 20 MiB of memory and 100 ms that unencrypted and passphrase-only runs
 * should not pay.
 */
let loaded: Promise<typeof import('openpgp')> | null = null;

export function openpgpLib(): Promise<typeof import('openpgp')> {
  loaded ??= import('openpgp');
  return loaded;
}
