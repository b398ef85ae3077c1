/**
 * OpenPGP throughput on one file: permafrost's built-in encryptor/decryptor (src/codec/openpgp),
 * openpgp.js (streaming) and gpg itself, with the settings duplicity's gpg uses (symmetric,
 * AES-256, iterated S2K, ZIP level 6, MDC). Prints a Markdown table; writes nothing else.
 *
 *   npx node bench/encryption.ts [--size-mib 1024] [--dir /tmp/pf-bench-enc] [--skip-openpgpjs]
 *
 * The data is half xorshift noise (incompressible) and half repetitive text, in 1 MiB runs.
 */
import { spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, mkdirSync, openSync, closeSync, writeSync, rmSync, statSync } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { join } from 'node:path';
import { once } from 'node:events';
import { Xorshift128 } from './generate.ts';
import { OpenPgpEncryptor, passphraseMessageKey } from '../src/codec/openpgp/encrypt.ts';
import { decryptMessage } from '../src/codec/openpgp/decrypt.ts';
import { newIteratedS2K } from '../src/codec/openpgp/s2k.ts';
import { AES256, SHA256 } from '../src/codec/openpgp/constants.ts';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string): string => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : dflt;
};
const sizeMiB = Number(opt('--size-mib', '1024'));
const dir = opt('--dir', '/tmp/pf-bench-enc');
const skipJs = args.includes('--skip-openpgpjs');
const PASS = 'bench passphrase';
const MiB = 1 << 20;

mkdirSync(dir, { recursive: true });
const gnupgHome = join(dir, 'gnupg');
mkdirSync(gnupgHome, { recursive: true, mode: 0o700 });
const plainPath = join(dir, 'plain.bin');
makeData(plainPath, sizeMiB);

const rows: string[] = [];
const report = (tool: string, op: string, ms: number, outBytes?: number) => {
  const mbs = (sizeMiB * MiB) / 1e6 / (ms / 1000);
  rows.push(
    `| ${tool} | ${op} | ${(ms / 1000).toFixed(2)} s | ${mbs.toFixed(0)} MB/s | ${outBytes !== undefined ? `${(outBytes / MiB).toFixed(0)} MiB` : ''} |`,
  );
  process.stderr.write(`${rows[rows.length - 1]}\n`);
};

// permafrost
{
  const out = join(dir, 'pf.gpg');
  const t0 = performance.now();
  const file = createWriteStream(out, { highWaterMark: 4 * MiB });
  const enc = new OpenPgpEncryptor({
    key: passphraseMessageKey(PASS, AES256, newIteratedS2K(SHA256)),
    compression: 'zip',
    output: (chunks) => {
      for (const c of chunks) file.write(c);
    },
  });
  for await (const chunk of createReadStream(plainPath, { highWaterMark: 4 * MiB })) {
    await enc.write(chunk as Buffer);
    if (file.writableNeedDrain) await once(file, 'drain');
  }
  await enc.end();
  file.end();
  await once(file, 'close');
  report('permafrost', 'encrypt', performance.now() - t0, statSync(out).size);
  const t1 = performance.now();
  let n = 0;
  for await (const c of decryptMessage(createReadStream(out, { highWaterMark: 4 * MiB }), { passphrase: async () => PASS })) n += c.length;
  if (n !== sizeMiB * MiB) throw new Error(`permafrost decrypted ${n} bytes`);
  report('permafrost', 'decrypt', performance.now() - t1);
  // gpg must read it
  const t2 = performance.now();
  gpg(['--decrypt', '-o', '/dev/null', out]);
  report('gpg (reading permafrost output)', 'decrypt', performance.now() - t2);
}

// gpg
{
  const out = join(dir, 'gpg.gpg');
  const t0 = performance.now();
  gpg(['--symmetric', '--cipher-algo', 'AES256', '--compress-algo', 'zip', '--force-mdc', '-o', out, plainPath]);
  report('gpg 2.2 --symmetric', 'encrypt', performance.now() - t0, statSync(out).size);
  const t1 = performance.now();
  gpg(['--decrypt', '-o', '/dev/null', out]);
  report('gpg 2.2', 'decrypt', performance.now() - t1);
  const t2 = performance.now();
  let n = 0;
  for await (const c of decryptMessage(createReadStream(out, { highWaterMark: 4 * MiB }), { passphrase: async () => PASS })) n += c.length;
  if (n !== sizeMiB * MiB) throw new Error(`permafrost decrypted ${n} bytes of gpg's file`);
  report('permafrost (reading gpg output)', 'decrypt', performance.now() - t2);
}

// openpgp.js
if (!skipJs) {
  const openpgp = await import('openpgp');
  const out = join(dir, 'js.gpg');
  const config = {
    aeadProtect: false,
    preferredSymmetricAlgorithm: openpgp.enums.symmetric.aes256,
    preferredCompressionAlgorithm: openpgp.enums.compression.zip,
    s2kIterationCountByte: 255,
  };
  const t0 = performance.now();
  const message = await openpgp.createMessage({
    binary: Readable.toWeb(createReadStream(plainPath, { highWaterMark: 4 * MiB })) as ReadableStream<Uint8Array>,
  });
  const encrypted = await openpgp.encrypt({ message, passwords: [PASS], format: 'binary', config });
  await pipeline(Readable.fromWeb(encrypted as unknown as import('node:stream/web').ReadableStream<Uint8Array>), createWriteStream(out));
  report('openpgp.js 6 (streaming)', 'encrypt', performance.now() - t0, statSync(out).size);
  const t1 = performance.now();
  const m = await openpgp.readMessage({
    binaryMessage: Readable.toWeb(createReadStream(out, { highWaterMark: 4 * MiB })) as ReadableStream<Uint8Array>,
  });
  const { data } = await openpgp.decrypt({ message: m, passwords: [PASS], format: 'binary', config: { allowUnauthenticatedStream: true } });
  await pipeline(
    Readable.fromWeb(data as unknown as import('node:stream/web').ReadableStream<Uint8Array>),
    new Writable({
      write(_c, _e, cb) {
        cb();
      },
    }),
  );
  report('openpgp.js 6 (streaming)', 'decrypt', performance.now() - t1);
}

process.stdout.write(
  `\n${sizeMiB} MiB, half incompressible; ${process.version}; ${spawnSync('gpg', ['--version']).stdout.toString().split('\n')[0]}\n\n`,
);
process.stdout.write('| tool | operation | time | plaintext throughput | output |\n|---|---|---|---|---|\n');
process.stdout.write(`${rows.join('\n')}\n`);
rmSync(dir, { recursive: true, force: true });

function gpg(a: string[]): void {
  const r = spawnSync('gpg', ['--batch', '--yes', '--quiet', '--pinentry-mode', 'loopback', '--passphrase-fd', '0', ...a], {
    input: PASS,
    env: { ...process.env, GNUPGHOME: gnupgHome },
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  if (r.status !== 0) throw new Error(`gpg ${a.join(' ')}: ${r.stderr}`);
}

function makeData(path: string, mib: number): void {
  const rng = new Xorshift128(7);
  const words = new Uint32Array(MiB / 4);
  const text = Buffer.alloc(MiB);
  const fd = openSync(path, 'w');
  try {
    for (let i = 0; i < mib; i++) {
      if (i % 2 === 0) {
        rng.fill(words);
        writeSync(fd, Buffer.from(words.buffer));
      } else {
        let off = 0;
        while (off < MiB) off += text.write(`line ${i}:${off} the quick brown fox ${rng.below(1000)} jumps\n`, off);
        writeSync(fd, text);
      }
    }
  } finally {
    closeSync(fd);
  }
}
