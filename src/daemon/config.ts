/**
 * The daemon's configuration, read from the environment only, as docker-duplicity reads it:
 * JOB_<N>_WHAT / JOB_<N>_WHEN, CRONTAB_<NAME>, EMAIL_*, SMTP_*, the per-job ping URLs; and
 * permafrost's own PERMAFROST_* settings. Every problem is collected, so that a container with a
 * typo fails at start with all of them listed, not at 2 a.m. with the first.
 */
import * as path from 'node:path';
import { DEFAULT_PERIODS, compileCron, type Period } from './schedule.ts';
import { formatSubject } from './subject.ts';
import { SECRET_ENV_NAMES } from './log-excerpt.ts';

export const DEFAULT_SUBJECT = 'Backup report: {hostname} - {periodicity} - {result}';
export const DEFAULT_STOP_GRACE_SECONDS = 300;
export const DEFAULT_LOG_EXCERPT_BYTES = 16384;

export interface PingUrls {
  /** healthchecks.io-style check URL: `/start` before, the URL on success, `/fail` on failure */
  readonly healthchecks?: string;
  /** Uptime Kuma push URL (its query string is replaced) */
  readonly uptimeKuma?: string;
  /** receives a JSON POST after the job */
  readonly webhook?: string;
}

export interface JobSpec {
  readonly n: number;
  /** JOB_<N>_WHAT as given (expanded when the job runs) */
  readonly what: string;
  /** the period names it runs in */
  readonly periods: readonly string[];
  /** ping URLs per period name (a JOB_<N>_<PERIOD>_* URL wins over JOB_<N>_*) */
  pingsFor(period: string): PingUrls;
}

export interface EmailSettings {
  readonly host: string;
  readonly port: number;
  readonly user?: string;
  readonly pass?: string;
  /** SMTP_TLS: TLS from the first byte (port 465); otherwise STARTTLS when the server offers it */
  readonly implicitTls: boolean;
  readonly from: string;
  readonly to: readonly string[];
  readonly subject: string;
}

export interface DaemonConfig {
  /** ascending N */
  readonly jobs: readonly JobSpec[];
  /** the periods that some job runs in, in table order (named periods first, then cron expressions) */
  readonly periods: readonly Period[];
  readonly email: EmailSettings | null;
  /** SMTP_REPORT_SUCCESS: mail every run (default) or only runs with a failed job */
  readonly reportSuccess: boolean;
  readonly stateDir: string;
  readonly statusFile: string;
  readonly lockFile: string;
  readonly stopGraceSeconds: number;
  readonly logExcerptBytes: number;
  /** things that work but are probably not meant (a WHAT without a WHEN) */
  readonly warnings: readonly string[];
}

export class DaemonConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(problems.join('\n'));
    this.name = 'DaemonConfigError';
    this.problems = problems;
  }
}

type Env = Readonly<Record<string, string | undefined>>;

export function parseDaemonEnv(env: Env, homedir: string): DaemonConfig {
  const problems: string[] = [];
  const warnings: string[] = [];

  const table = periodTable(env, problems);
  const cronPeriods = new Map<string, Period>();
  const jobs: JobSpec[] = [];
  const whenKeys = Object.keys(env).filter((k) => /^JOB_\d+_WHEN$/.test(k));
  for (const key of whenKeys) {
    const n = Number(key.slice(4, -5));
    const what = env[`JOB_${key.slice(4, -5)}_WHAT`];
    const periods = jobPeriods(key, env[key] ?? '', table, cronPeriods, problems);
    if (periods.length === 0) continue;
    if (what === undefined || what.trim() === '') {
      problems.push(`${key} is set but JOB_${key.slice(4, -5)}_WHAT is missing or empty`);
      continue;
    }
    if (jobs.some((j) => j.n === n)) {
      problems.push(`job ${n} is defined twice (numbers with leading zeros are the same job)`);
      continue;
    }
    const named = new Set([...what.matchAll(/\$(?:\$|([_a-z][_a-z0-9]*)|\{([_a-z][_a-z0-9]*)\})/gi)].map((m) => m[1] ?? m[2]));
    const secrets = SECRET_ENV_NAMES.filter((name) => named.has(name));
    if (secrets.length > 0) {
      // The image would substitute it into the command line, where every process listing shows it.
      problems.push(
        `JOB_${key.slice(4, -5)}_WHAT names $${secrets.join(', $')}: a secret must not go on a command line; the job's programs read it from the environment`,
      );
      continue;
    }
    jobs.push(jobSpec(n, key.slice(4, -5), what, periods, env, problems));
  }
  const webhook = nonEmpty(env['PERMAFROST_WEBHOOK_URL']);
  if (webhook !== undefined && !/^https?:\/\//i.test(webhook)) problems.push('PERMAFROST_WEBHOOK_URL: not an http(s) URL');
  for (const key of Object.keys(env).filter((k) => /^JOB_\d+_WHAT$/.test(k))) {
    if (env[`${key.slice(0, -5)}_WHEN`] === undefined) warnings.push(`${key} has no ${key.slice(0, -5)}_WHEN: it never runs`);
  }
  jobs.sort((a, b) => a.n - b.n);

  const used = new Set(jobs.flatMap((j) => j.periods));
  const periods: Period[] = [...table.values(), ...cronPeriods.values()].filter((p) => used.has(p.name));

  const email = emailSettings(env, problems);
  const stateDir =
    nonEmpty(env['PERMAFROST_STATE_DIR']) ??
    path.join(nonEmpty(env['XDG_STATE_HOME']) ?? path.join(homedir, '.local', 'state'), 'permafrost');
  const stopGraceSeconds = numberSetting(env, 'PERMAFROST_STOP_GRACE_SECONDS', DEFAULT_STOP_GRACE_SECONDS, 0, problems);
  const logExcerptBytes = numberSetting(env, 'PERMAFROST_LOG_EXCERPT_BYTES', DEFAULT_LOG_EXCERPT_BYTES, 1024, problems);
  if (problems.length > 0) throw new DaemonConfigError(problems);
  return {
    jobs,
    periods,
    email,
    reportSuccess: isTrue(env['SMTP_REPORT_SUCCESS'] ?? '1'),
    stateDir,
    statusFile: nonEmpty(env['PERMAFROST_STATUS_FILE']) ?? path.join(stateDir, 'status.json'),
    lockFile: nonEmpty(env['PERMAFROST_LOCK_FILE']) ?? path.join(stateDir, 'daemon.lock'),
    stopGraceSeconds,
    logExcerptBytes,
    warnings,
  };
}

/** The named periods: docker-duplicity's, each replaced or disabled (empty) by CRONTAB_<NAME>, plus new CRONTAB_<NAME> ones. */
function periodTable(env: Env, problems: string[]): Map<string, Period> {
  const table = new Map<string, Period>();
  for (const [name, cron] of Object.entries(DEFAULT_PERIODS)) table.set(name, { name, cron });
  for (const key of Object.keys(env)
    .filter((k) => /^CRONTAB_[A-Za-z0-9_]+$/.test(k))
    .sort()) {
    const name = key.slice('CRONTAB_'.length).toLowerCase();
    // docker-duplicity strips the quotes that .env files tend to leave around the value.
    const cron = (env[key] ?? '')
      .trim()
      .replace(/^(['"])(.*)\1$/, '$2')
      .trim();
    if (cron === '') {
      table.delete(name);
      continue;
    }
    try {
      compileCron(cron);
      table.set(name, { name, cron });
    } catch (err) {
      problems.push(`${key}: ${(err as Error).message}`);
    }
  }
  return table;
}

/**
 * JOB_<N>_WHEN: space-separated period names (`never` disables the job), or one cron expression.
 * Unlike docker-duplicity, an unknown name is an error, not a job that silently never runs.
 */
function jobPeriods(
  key: string,
  raw: string,
  table: ReadonlyMap<string, Period>,
  cronPeriods: Map<string, Period>,
  problems: string[],
): string[] {
  const words = raw
    .trim()
    .split(/\s+/)
    .filter((w) => w !== '');
  const isName = (w: string) => w === 'never' || table.has(w.toLowerCase());
  if (words.every(isName)) return [...new Set(words.filter((w) => w !== 'never').map((w) => w.toLowerCase()))];
  const expression = words.join(' ');
  if (words.length >= 5 || expression.startsWith('@')) {
    try {
      compileCron(expression);
      if (!cronPeriods.has(expression)) cronPeriods.set(expression, { name: expression, cron: expression });
      return [expression];
    } catch (err) {
      problems.push(`${key}: ${(err as Error).message}`);
      return [];
    }
  }
  const unknown = words.filter((w) => !isName(w));
  problems.push(
    `${key}: unknown period ${unknown.map((w) => JSON.stringify(w)).join(', ')} (known: ${[...table.keys(), 'never'].join(', ')}; or a cron expression)`,
  );
  return [];
}

function jobSpec(n: number, digits: string, what: string, periods: readonly string[], env: Env, problems: string[]): JobSpec {
  const url = (suffix: string, period?: string): string | undefined => {
    const key = period === undefined ? `JOB_${digits}_${suffix}` : `JOB_${digits}_${period.toUpperCase()}_${suffix}`;
    const value = nonEmpty(env[key]);
    if (value !== undefined && !/^https?:\/\//i.test(value)) {
      problems.push(`${key}: not an http(s) URL`);
      return undefined;
    }
    return value;
  };
  const globalWebhook = nonEmpty(env['PERMAFROST_WEBHOOK_URL']);
  const base = { healthchecks: url('HEALTHCHECKS_URL'), uptimeKuma: url('UPTIME_KUMA_URL'), webhook: url('WEBHOOK_URL') ?? globalWebhook };
  const perPeriod = new Map<string, PingUrls>();
  for (const p of periods) {
    if (!/^[a-z0-9_]+$/.test(p)) {
      perPeriod.set(p, base);
      continue;
    }
    perPeriod.set(p, {
      healthchecks: url('HEALTHCHECKS_URL', p) ?? base.healthchecks,
      uptimeKuma: url('UPTIME_KUMA_URL', p) ?? base.uptimeKuma,
      webhook: url('WEBHOOK_URL', p) ?? base.webhook,
    });
  }
  return { n, what, periods, pingsFor: (period) => perPeriod.get(period) ?? base };
}

function emailSettings(env: Env, problems: string[]): EmailSettings | null {
  const from = nonEmpty(env['EMAIL_FROM']);
  const to = (env['EMAIL_TO'] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const host = env['SMTP_HOST'] ?? 'smtp';
  const portText = env['SMTP_PORT'] ?? '25';
  const subject = env['EMAIL_SUBJECT'] ?? DEFAULT_SUBJECT;
  // As docker-duplicity: no sender, recipient, host, port or subject means no mail.
  if (from === undefined || to.length === 0 || host.trim() === '' || portText.trim() === '' || subject.trim() === '') return null;
  try {
    formatSubject(subject, { hostname: 'h', periodicity: 'p', result: 'OK' });
  } catch (err) {
    problems.push(`EMAIL_SUBJECT: ${(err as Error).message}`);
  }
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    problems.push(`SMTP_PORT: not a port number: ${JSON.stringify(portText)}`);
    return null;
  }
  const user = nonEmpty(env['SMTP_USER']);
  return {
    host: host.trim(),
    port,
    ...(user !== undefined ? { user, pass: env['SMTP_PASS'] ?? '' } : {}),
    implicitTls: isTrue(env['SMTP_TLS'] ?? ''),
    from,
    to,
    subject,
  };
}

function numberSetting(env: Env, key: string, fallback: number, min: number, problems: string[]): number {
  const raw = nonEmpty(env[key]);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min) {
    problems.push(`${key}: expected a number >= ${min}, got ${JSON.stringify(raw)}`);
    return fallback;
  }
  return value;
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s.trim() === '' ? undefined : s.trim();
}

function isTrue(s: string): boolean {
  return ['1', 'true', 'yes', 'on'].includes(s.trim().toLowerCase());
}
