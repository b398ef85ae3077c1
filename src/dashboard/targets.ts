/**
 * The targets the dashboard shows: the URLs of the daemon's `dup ...` jobs (a shell job's
 * commands are not parsed, so its target is not shown). A target is named by the first 12 hex
 * digits of the SHA-256 of its URL as the job gives it; it is shown without credentials.
 */
import { createHash } from 'node:crypto';
import type { CliOptions } from '../command-line/cli-options.ts';
import { parseCommandLine } from '../command-line/parse-command-line.ts';
import type { DaemonConfig } from '../daemon/config.ts';
import { jobCommand } from '../daemon/job-command.ts';

export interface DashboardTarget {
  readonly id: string;
  /** the URL without user name or password */
  readonly url: string;
  /** the URL as the job gives it (never sent to a browser) */
  readonly rawUrl: string;
  /** the first job's options: the cache, name, prefixes, S3 settings, pricing file of the target */
  readonly options: CliOptions;
  /** names of the jobs that use it */
  readonly jobs: readonly string[];
}

export function targetId(url: string): string {
  return createHash('sha256').update(url, 'utf8').digest('hex').slice(0, 12);
}

/** `scheme://user:password@host/...` without `user:password@`; query strings go too (they may carry keys). */
export function urlWithoutCredentials(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1').replace(/\?.*$/, '');
}

/** Every `scheme://user:password@` in a text (a command line, an error) without its `user:password@`. */
export function withoutUrlCredentials(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@]+@/gi, '$1');
}

/** A job's name in the dashboard and the metrics: its number N of JOB_<N>_WHAT. */
export function jobName(n: number): string {
  return String(n);
}

/** The targets of the jobs, in job order. A job whose command cannot be read is left out (the daemon reports it when it runs). */
export async function discoverTargets(config: DaemonConfig, env: Readonly<Record<string, string | undefined>>): Promise<DashboardTarget[]> {
  const byUrl = new Map<string, { options: CliOptions; jobs: string[] }>();
  for (const job of config.jobs) {
    let url: string | undefined;
    let options: CliOptions;
    try {
      const cmd = await jobCommand(job.what, env);
      if (cmd.kind !== 'permafrost') continue;
      const parsed = parseCommandLine(cmd.args, { env: env as NodeJS.ProcessEnv });
      url = parsed.url;
      options = parsed.options;
    } catch {
      continue;
    }
    if (url === undefined) continue;
    const seen = byUrl.get(url);
    if (seen) seen.jobs.push(jobName(job.n));
    else byUrl.set(url, { options, jobs: [jobName(job.n)] });
  }
  return [...byUrl].map(([rawUrl, t]) => ({
    id: targetId(rawUrl),
    url: urlWithoutCredentials(rawUrl),
    rawUrl,
    options: t.options,
    jobs: t.jobs,
  }));
}
