/** optparse's value types as duplicity uses them, and the checks some options add. */
import { parsePythonSafeInt } from '../codec/python-int.ts';
import { UsageError } from './usage-error.ts';

/** duplicity's verbosity type: a digit, or e/w/n/i/d, or a level word, case-insensitive. */
export function parseVerbosity(raw: string, optionName = '--verbosity'): number {
  const v = raw.toLowerCase();
  const named: Record<string, number> = { e: 0, error: 0, w: 2, warning: 2, n: 3, notice: 3, i: 5, info: 5, d: 9, debug: 9 };
  const byName = named[v];
  if (byName !== undefined) return byName;
  const n = parsePythonSafeInt(v, 10);
  if (n !== null && n >= 0 && n <= 9) return n;
  throw new UsageError(
    `option ${optionName}: Verbosity must be one of: digit [0-9], character [ewnid], ` +
      `or word ['error', 'warning', 'notice', 'info', 'debug']. The default is 3 (Notice).`,
  );
}

/** optparse's "int" type: `0x` hex, `0b` binary, a leading `0` octal, else decimal. */
export function optparseInt(raw: string, optionName: string): number {
  let radix: 2 | 8 | 10 | 16 = 10;
  let digits = raw;
  const head = raw.slice(0, 2).toLowerCase();
  if (head === '0x') radix = 16;
  else if (head === '0b') {
    radix = 2;
    digits = raw.slice(2) || '0';
  } else if (raw.startsWith('0')) radix = 8;
  const n = parsePythonSafeInt(digits, radix);
  if (n === null) throw new UsageError(`option ${optionName}: invalid integer value: '${raw}'`);
  return n;
}

const SIGN_KEY = /^(0x)?([0-9A-Fa-f]{8}|[0-9A-Fa-f]{16}|[0-9A-Fa-f]{40})$/;

export function checkSignKey(key: string): string {
  if (!SIGN_KEY.test(key)) {
    throw new UsageError(`Sign key should be an 8, 16 alt. 40 character hex string, like 'AA0E73D2'. Received '${key}' instead.`);
  }
  return key;
}

export function deflateLevel(n: number, name: string): void {
  if (n < 1 || n > 9) throw new UsageError(`option ${name}: must be a deflate level from 1 to 9, got ${n}`);
}

export function positive(n: number, name: string): void {
  if (n <= 0) throw new UsageError(`option ${name}: must be greater than zero, got ${n}`);
}

export function nonNegative(n: number, name: string): void {
  if (n < 0) throw new UsageError(`option ${name}: must be zero or more, got ${n}`);
}
