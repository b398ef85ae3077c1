/**
 * SMTP_HOST=localhost in a container on a bridge network is the container itself: the report is
 * never delivered. The failure says so, where a refused connection alone reads like a server that
 * is down. A real connection to a closed loopback port.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { loopbackHint, sendMail } from '../../src/daemon/mailer.ts';

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

test('a refused connection to a loopback SMTP_HOST comes with the hint; other hosts and errors without it', async () => {
  const port = await closedPort();
  const settings = { host: 'localhost', port, implicitTls: false, from: 'a@example.com', to: ['b@example.com'], subject: 's' };
  const error = await sendMail(settings, 'subject', 'text', 'host');
  assert.match(error ?? '', /ECONNREFUSED/);
  assert.match(
    error ?? '',
    / \(SMTP_HOST=localhost is this machine, or inside a container that container itself, unless it shares the host's network: set SMTP_HOST to your mail relay\)$/,
  );
  const refused = Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:25'), { code: 'ESOCKET' });
  assert.equal(loopbackHint('smtp', refused), '');
  assert.notEqual(loopbackHint('127.0.0.1', refused), '');
  assert.notEqual(loopbackHint('::1', refused), '');
  assert.equal(loopbackHint('localhost', Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })), '');
});
