import { redactSecrets } from '../core/redact.ts';

/**
 * A job's output, bounded: the first and the last bytes are kept (where a run's setup and its
 * error are), the middle is counted. docker-duplicity mails the whole output, however large.
 */
export class LogExcerpt {
  readonly #headLimit: number;
  readonly #tailLimit: number;
  #head: Buffer[] = [];
  #headBytes = 0;
  #tail: Buffer[] = [];
  #tailBytes = 0;
  #total = 0;

  constructor(limitBytes: number) {
    this.#headLimit = Math.floor(limitBytes / 4);
    this.#tailLimit = limitBytes - this.#headLimit;
  }

  get totalBytes(): number {
    return this.#total;
  }

  write(chunk: Buffer): void {
    this.#total += chunk.length;
    if (this.#headBytes < this.#headLimit) {
      const take = chunk.subarray(0, this.#headLimit - this.#headBytes);
      this.#head.push(take);
      this.#headBytes += take.length;
      chunk = chunk.subarray(take.length);
    }
    if (chunk.length === 0) return;
    this.#tail.push(chunk);
    this.#tailBytes += chunk.length;
    while (this.#tailBytes - this.#tail[0]!.length >= this.#tailLimit) this.#tailBytes -= this.#tail.shift()!.length;
  }

  /** The excerpt as text; `redact` runs over it before it leaves the process. */
  text(redact: (s: string) => string = (s) => s): string {
    const head = Buffer.concat(this.#head).toString('utf8');
    let tail = Buffer.concat(this.#tail);
    if (tail.length > this.#tailLimit) tail = tail.subarray(tail.length - this.#tailLimit);
    const omitted = this.#total - this.#headBytes - tail.length;
    const tailText = tail.toString('utf8');
    if (omitted <= 0) return redact(head + tailText);
    // Start the tail at a line boundary where there is one nearby, so it reads as whole lines.
    const nl = tailText.indexOf('\n');
    const cleanTail = nl >= 0 && nl < 200 ? tailText.slice(nl + 1) : tailText;
    const skipped = omitted + (tailText.length - cleanTail.length);
    return redact(`${head}${head.endsWith('\n') ? '' : '\n'}[... ${skipped} bytes of output left out ...]\n${cleanTail}`);
  }
}

/**
 * Replaces each secret value (at least 4 characters) with `[redacted]` where it stands as a whole
 * token: what a job prints comes from outside (any program), see redactSecrets.
 */
export function redactor(secrets: readonly (string | undefined)[]): (s: string) => string {
  const values = secrets.filter((s): s is string => s !== undefined && s.length >= 4);
  return (s) => redactSecrets(s, values, '[redacted]');
}

/** The environment variables whose values must not reach a report, a ping or the daemon's log. */
export const SECRET_ENV_NAMES = [
  'PASSPHRASE',
  'SIGN_PASSPHRASE',
  'SMTP_PASS',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'FTP_PASSWORD',
  'RSYNC_PASSWORD',
  'PGPASSWORD',
  'PERMAFROST_UI_TOKEN',
] as const;

export function secretsOf(env: Readonly<Record<string, string | undefined>>): (s: string) => string {
  return redactor(SECRET_ENV_NAMES.map((k) => env[k]));
}
