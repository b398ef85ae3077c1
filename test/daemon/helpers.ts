/**
 * Real parts for the daemon tests: an SMTP server on loopback (smtp-server, STARTTLS with a
 * certificate made here by openssl, AUTH required), an HTTP listener that records pings and
 * webhooks, and the daemon itself run as `node bin/permafrost.js daemon` in a clean environment.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import { constants } from 'node:os';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { PERMAFROST_BIN } from '../support/permafrost.ts';
import { tmpDir, type AfterHook } from '../support/tmp.ts';

export interface ReceivedMail {
  readonly from: string;
  readonly to: readonly string[];
  /** the session was upgraded with STARTTLS before the message */
  readonly secure: boolean;
  /** the user that authenticated */
  readonly user: string | undefined;
  readonly headers: ReadonlyMap<string, string>;
  readonly subject: string;
  /** the decoded text body */
  readonly body: string;
}

export interface SmtpServer {
  readonly port: number;
  /** PEM file of the server's self-signed certificate: give it to the daemon as NODE_EXTRA_CA_CERTS */
  readonly caFile: string;
  readonly mails: ReceivedMail[];
  readonly authFailures: string[];
}

/** A self-signed certificate for 127.0.0.1 and localhost. */
export function makeCertificate(dir: string): { key: string; cert: string; certFile: string } {
  const keyFile = join(dir, 'smtp-key.pem');
  const certFile = join(dir, 'smtp-cert.pem');
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        keyFile,
        '-out',
        certFile,
        '-days',
        '2',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
      ],
      { stdio: 'pipe' },
    );
  } catch (err) {
    throw new Error(`openssl could not make a test certificate (install it: apt-get install openssl): ${(err as Error).message}`);
  }
  return { key: execFileSync('cat', [keyFile]).toString(), cert: execFileSync('cat', [certFile]).toString(), certFile };
}

export async function startSmtp(t: AfterHook, credentials: { user: string; pass: string }): Promise<SmtpServer> {
  const dir = tmpDir(t, 'smtp');
  const { key, cert, certFile } = makeCertificate(dir);
  const mails: ReceivedMail[] = [];
  const authFailures: string[] = [];
  const server = new SMTPServer({
    key,
    cert,
    secure: false,
    authMethods: ['PLAIN', 'LOGIN'],
    // smtp-server refuses AUTH before STARTTLS unless told otherwise: the client must upgrade.
    allowInsecureAuth: false,
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === credentials.user && auth.password === credentials.pass) callback(null, { user: auth.username });
      else {
        authFailures.push(auth.username ?? '');
        callback(new Error('Invalid username or password'));
      }
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (b: Buffer) => chunks.push(b));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const parsed = parseMessage(raw);
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          secure: session.secure,
          user: session.user,
          ...parsed,
        });
        callback();
      });
    },
  });
  server.listen(0, '127.0.0.1');
  await once(server.server, 'listening');
  const port = (server.server.address() as { port: number }).port;
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port, caFile: certFile, mails, authFailures };
}

/** Headers (unfolded) and the text body of a single-part message, quoted-printable or 7bit. */
function parseMessage(raw: string): { headers: Map<string, string>; subject: string; body: string } {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
  const headers = new Map<string, string>();
  for (const line of head.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) headers.set(line.slice(0, i).toLowerCase(), line.slice(i + 1).trim());
  }
  let body = raw.slice(split + 4);
  const cte = (headers.get('content-transfer-encoding') ?? '').toLowerCase();
  if (cte === 'quoted-printable') {
    body = Buffer.from(
      body.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/gi, (_m, h: string) => String.fromCharCode(parseInt(h, 16))),
      'latin1',
    ).toString('utf8');
  } else if (cte === 'base64') body = Buffer.from(body, 'base64').toString('utf8');
  return { headers, subject: headers.get('subject') ?? '', body: body.replace(/\r\n/g, '\n') };
}

export interface RecordedRequest {
  readonly method: string;
  /** path and query */
  readonly url: string;
  readonly contentType: string | undefined;
  readonly body: string;
  readonly at: number;
}

export interface HttpRecorder {
  readonly base: string;
  readonly requests: RecordedRequest[];
}

/** An HTTP listener on loopback that answers 200 to everything and records it; paths under /broken/ answer 500. */
export async function startHttpRecorder(t: AfterHook): Promise<HttpRecorder> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (b: Buffer) => chunks.push(b));
    req.on('end', () => {
      requests.push({
        method: req.method ?? '',
        url: req.url ?? '',
        contentType: req.headers['content-type'],
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      });
      res.statusCode = (req.url ?? '').startsWith('/broken/') ? 500 : 200;
      res.end('OK');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { base: `http://127.0.0.1:${port}`, requests };
}

export interface DaemonRun {
  readonly code: number;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface DaemonProcess {
  readonly child: ChildProcess;
  readonly done: Promise<DaemonRun>;
  /** stderr so far */
  stderr(): string;
}

/** A clean environment: nothing of the test runner's leaks into the daemon (PASSPHRASE, AWS_*, SMTP_*). */
export function baseEnv(home: string, extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  return { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: home, TZ: 'UTC', LANG: 'C.UTF-8', ...extra };
}

export function spawnDaemon(args: readonly string[], env: Readonly<Record<string, string>>): DaemonProcess {
  const child = spawn(process.execPath, [PERMAFROST_BIN, 'daemon', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (b: Buffer) => {
    stdout += b.toString('utf8');
  });
  child.stderr!.on('data', (b: Buffer) => {
    stderr += b.toString('utf8');
  });
  const done = new Promise<DaemonRun>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`daemon ${args.join(' ')} did not end within 240 s\n${stderr}`));
    }, 240_000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? 128 + (signal ? constants.signals[signal] : 0), signal, stdout, stderr });
    });
  });
  return { child, done, stderr: () => stderr };
}

export function runDaemon(args: readonly string[], env: Readonly<Record<string, string>>): Promise<DaemonRun> {
  return spawnDaemon(args, env).done;
}

/** Polls `check` every 50 ms until it returns a value other than undefined (or fails after `ms`). */
export async function waitFor<T>(what: string, check: () => T | undefined | Promise<T | undefined>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
