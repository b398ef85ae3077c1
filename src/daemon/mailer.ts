/**
 * Sends the report through SMTP (nodemailer). STARTTLS is used whenever the server offers it,
 * and required when a password is to be sent (docker-duplicity upgraded only when a user was
 * set, and would otherwise send in clear); SMTP_TLS=1 means TLS from the first byte. A private
 * CA is trusted with NODE_EXTRA_CA_CERTS. Send errors are returned, not thrown: a report that
 * cannot be sent must not stop the schedule.
 */
import nodemailer from 'nodemailer';
import type { EmailSettings } from './config.ts';

export async function sendMail(settings: EmailSettings, subject: string, text: string, hostname: string): Promise<string | null> {
  const transport = nodemailer.createTransport({
    host: settings.host,
    port: settings.port,
    secure: settings.implicitTls,
    requireTLS: settings.user !== undefined && !settings.implicitTls,
    ...(settings.user !== undefined ? { auth: { user: settings.user, pass: settings.pass ?? '' } } : {}),
    name: hostname,
    connectionTimeout: 30_000,
    greetingTimeout: 30_000,
    socketTimeout: 60_000,
  });
  try {
    await transport.sendMail({ from: settings.from, to: [...settings.to], subject, text });
    return null;
  } catch (err) {
    const message = (err as Error).message.split('\n')[0] ?? 'unknown error';
    return `${message}${loopbackHint(settings.host, err)}`;
  } finally {
    transport.close();
  }
}

/**
 * In a container on a bridge network, localhost is the container itself, where no mail server
 * listens: a report sent there is never delivered. Said with the error, which alone reads like a
 * server that is down.
 */
export function loopbackHint(host: string, err: unknown): string {
  const loopback = /^(localhost|127(\.\d+){3}|::1|\[::1\])$/i.test(host);
  if (!loopback || !/ECONNREFUSED/.test(`${(err as NodeJS.ErrnoException).code} ${(err as Error).message}`)) return '';
  return ` (SMTP_HOST=${host} is this machine, or inside a container that container itself, unless it shares the host's network: set SMTP_HOST to your mail relay)`;
}
