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
    return (err as Error).message.split('\n')[0] ?? 'unknown error';
  } finally {
    transport.close();
  }
}
