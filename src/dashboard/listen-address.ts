/**
 * `--listen HOST:PORT`: where the dashboard listens, and whether that is a loopback address (no
 * token needed there: only this machine can connect).
 */
import { isIP } from 'node:net';

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
  /** 127.0.0.0/8, ::1 or `localhost` */
  readonly loopback: boolean;
}

/** Parses `HOST:PORT` or `[IPv6]:PORT`; throws a one-line Error naming what is wrong. */
export function parseListenAddress(text: string): ListenAddress {
  const m = /^\[([0-9a-fA-F:.]+)\]:(\d+)$/.exec(text) ?? /^([^:[\]\s]+):(\d+)$/.exec(text);
  if (!m) throw new Error(`--listen ${JSON.stringify(text)}: expected HOST:PORT (e.g. 127.0.0.1:8080, 0.0.0.0:8080, [::1]:8080)`);
  const host = m[1]!;
  const port = Number(m[2]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--listen ${JSON.stringify(text)}: not a port number: ${m[2]}`);
  if (m[0].startsWith('[') && isIP(host) !== 6) throw new Error(`--listen ${JSON.stringify(text)}: not an IPv6 address: ${host}`);
  return { host, port, loopback: isLoopback(host) };
}

export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

/** The address as a URL's host part. */
export function hostForUrl(a: ListenAddress, port: number = a.port): string {
  return `${isIP(a.host) === 6 ? `[${a.host}]` : a.host}:${port}`;
}
