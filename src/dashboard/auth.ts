/**
 * The dashboard's token: PERMAFROST_UI_TOKEN, or the content of a token file. Every request then
 * needs `Authorization: Bearer TOKEN`; the event stream may carry it as `?token=` instead, because
 * a browser's EventSource cannot set headers. Tokens are compared by their SHA-256 digests with
 * timingSafeEqual: the time taken says nothing about how much of a guess was right.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';

export class TokenError extends Error {}

export interface TokenSources {
  /** PERMAFROST_UI_TOKEN */
  readonly token?: string | undefined;
  /** --ui-token-file, else PERMAFROST_UI_TOKEN_FILE */
  readonly tokenFile?: string | undefined;
}

/** The token to require, or null when none is set. A token file that cannot be read, or an empty token, is an error. */
export async function loadToken(s: TokenSources): Promise<string | null> {
  if (s.tokenFile !== undefined && s.tokenFile !== '') {
    let text: string;
    try {
      text = await readFile(s.tokenFile, 'utf8');
    } catch (err) {
      throw new TokenError(
        `cannot read the dashboard token file ${s.tokenFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
    const token = text.trim();
    if (token === '') throw new TokenError(`the dashboard token file ${s.tokenFile} is empty`);
    return token;
  }
  if (s.token !== undefined && s.token !== '') {
    if (s.token.trim() === '') throw new TokenError('PERMAFROST_UI_TOKEN is only white space');
    return s.token.trim();
  }
  return null;
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** A checker for one token, comparing in constant time. */
export function tokenChecker(token: string): (given: string | undefined | null) => boolean {
  const want = digest(token);
  return (given) => given !== undefined && given !== null && timingSafeEqual(digest(given), want);
}

/** The token of an `Authorization: Bearer ...` header, or null. */
export function bearerToken(header: string | undefined | null): string | null {
  if (!header) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1]! : null;
}
