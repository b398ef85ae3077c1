/**
 * What a job runs, expanded as docker-duplicity expands it:
 * - JOB_<N>_WHAT goes through Python's `string.Template.safe_substitute` against the environment
 *   (`$NAME`, `${NAME}`, `$$` for a dollar; unknown names stay as they are);
 * - `dup ARGS` is permafrost with OPTIONS and OPTIONS_EXTRA before ARGS; those two strings are
 *   expanded by the shell (`echo $OPTIONS`, so `$(hostname -f)` and `$(date ...)` work) and split
 *   at white space, as the image's `dup` does; `backup` is `dup $SRC $DST`, `restore` is
 *   `dup restore $DST $SRC`;
 * - anything else (a pg_dump, `docker stop`, a pipeline) runs with /bin/sh, where `dup`, `backup`
 *   and `restore` are shell functions meaning the same.
 * A plain `dup` command runs permafrost directly (no shell), so the daemon can ask a backup for
 * its `--json` summary.
 */
import { spawn } from 'node:child_process';
import { parseCommandLine } from '../command-line/parse-command-line.ts';
import { splitShellWords } from '../command-line/shell-words.ts';
import { failedSubstitutions, markSubstitutions } from './substitutions.ts';

type Env = Readonly<Record<string, string | undefined>>;

/** Python's string.Template.safe_substitute: identifiers are ASCII letters, digits and `_`, not starting with a digit. */
export function safeSubstitute(template: string, env: Env): string {
  return template.replace(
    /\$(?:(\$)|([_a-z][_a-z0-9]*)|\{([_a-z][_a-z0-9]*)\})/gi,
    (match, dollar: string | undefined, named: string | undefined, braced: string | undefined) => {
      if (dollar !== undefined) return '$';
      const value = env[(named ?? braced)!];
      return value === undefined ? match : value;
    },
  );
}

/**
 * OPTIONS or OPTIONS_EXTRA as words: the shell's `echo` of the string, split at white space.
 * The string reaches the shell through the environment, not its command line. Unlike the image,
 * unquoted `*` and `?` are not matched against files (`set -f`): an `--exclude` pattern stays a
 * pattern. A command substitution that fails (`$(hostname -f)` without a resolvable name) fails
 * the expansion, naming it and its stderr: an empty word would change the file prefixes.
 */
export async function expandOptions(raw: string, env: Env, name = 'OPTIONS'): Promise<string[]> {
  if (raw.trim() === '') return [];
  if (!/[$`'"\\*?[~{]/.test(raw)) return raw.trim().split(/\s+/);
  const marked = markSubstitutions(raw);
  const { code, stdout, stderr, fd3 } = await runShell('set -f; eval "echo $PERMAFROST_EXPAND_WORDS"', {
    ...cleanEnv(env),
    PERMAFROST_EXPAND_WORDS: marked.script,
  });
  const firstLine = stderr.trim().split('\n')[0] ?? '';
  const failed = failedSubstitutions(fd3, marked.found);
  if (failed.length > 0)
    throw new Error(`${name}: ${failed.join(', ')}${firstLine ? `: ${firstLine}` : ''}; not run with an empty word in its place`);
  if (code !== 0) throw new Error(`cannot expand ${name} ${JSON.stringify(raw)}: ${firstLine || `sh exited with ${code}`}`);
  return stdout
    .trim()
    .split(/\s+/)
    .filter((w) => w !== '');
}

/** /bin/sh -c script, with a pipe on fd 3 for the substitutions' reports. */
function runShell(
  script: string,
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string; fd3: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', script], { env, stdio: ['ignore', 'pipe', 'pipe', 'pipe'], timeout: 30_000 });
    const chunks: [Buffer[], Buffer[], Buffer[]] = [[], [], []];
    let size = 0;
    [child.stdout!, child.stderr!, child.stdio[3] as NodeJS.ReadableStream].forEach((stream, k) => {
      stream.on('data', (b: Buffer) => {
        size += b.length;
        if (size > 1 << 20) child.kill();
        else chunks[k]!.push(b);
      });
    });
    child.once('error', reject);
    child.once('close', (code) => {
      const [out, err, fd3] = chunks.map((c) => Buffer.concat(c).toString('utf8')) as [string, string, string];
      resolve({ code, stdout: out, stderr: err, fd3 });
    });
  });
}

export type JobCommand =
  /** permafrost with these arguments (after the program), run directly */
  | { readonly kind: 'permafrost'; readonly args: readonly string[]; readonly display: string; readonly verb: string }
  /** a shell command line for /bin/sh -c, with `dup`, `backup` and `restore` defined */
  | { readonly kind: 'shell'; readonly script: string; readonly display: string; readonly dupOptions: readonly string[] };

const DUP_WORDS = new Set(['dup', 'backup', 'restore']);

/** The command a JOB_<N>_WHAT stands for, in this environment (OPTIONS expanded now: `$(date)` is the run's). */
export async function jobCommand(what: string, env: Env): Promise<JobCommand> {
  const expanded = safeSubstitute(what, env).trim();
  const dupOptions = [
    ...(await expandOptions(env['OPTIONS'] ?? '', env, 'OPTIONS')),
    ...(await expandOptions(env['OPTIONS_EXTRA'] ?? '', env, 'OPTIONS_EXTRA')),
  ];
  const words = isPlainWords(expanded) ? splitShellWords(expanded) : null;
  if (words !== null && words.length > 0 && DUP_WORDS.has(words[0]!)) {
    const rest = words.slice(1);
    const src = env['SRC'] ?? '';
    const dst = env['DST'] ?? '';
    const tail = words[0] === 'backup' ? [src, dst, ...rest] : words[0] === 'restore' ? ['restore', dst, src, ...rest] : rest;
    const args = [...dupOptions, ...tail];
    const verb = parseCommandLine(args, { env: env as NodeJS.ProcessEnv }).verb;
    return { kind: 'permafrost', args, display: expanded, verb };
  }
  return { kind: 'shell', script: expanded, display: expanded, dupOptions };
}

/** Backups (verb-less too) print a JSON summary with --json; the daemon asks for it. */
export function wantsJsonSummary(cmd: JobCommand): boolean {
  return cmd.kind === 'permafrost' && ['full', 'incremental', 'backup'].includes(cmd.verb) && !cmd.args.includes('--json');
}

/**
 * The shell prelude for shell jobs: `dup` runs permafrost with the options (one per line in
 * PERMAFROST_DUP_OPTIONS, split at newlines only); PERMAFROST_NODE and PERMAFROST_BIN name the runtime.
 */
export const SHELL_PRELUDE = [
  'dup() { ( IFS="$(printf "\\n_")"; IFS="${IFS%_}"; set -f; exec "$PERMAFROST_NODE" "$PERMAFROST_BIN" $PERMAFROST_DUP_OPTIONS "$@" ); }',
  'backup() { dup "$SRC" "$DST" "$@"; }',
  'restore() { dup restore "$DST" "$SRC" "$@"; }',
].join('\n');

/**
 * Whether a command line is only words (quotes allowed): no expansion, redirection, pipe, list or
 * glob left for a shell to do. Such a command runs without a shell.
 */
export function isPlainWords(s: string): boolean {
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === "'") {
      const end = s.indexOf("'", i + 1);
      if (end < 0) return false;
      i = end + 1;
    } else if (c === '"') {
      i++;
      while (i < s.length && s[i] !== '"') {
        if (s[i] === '$' || s[i] === '`') return false;
        i += s[i] === '\\' ? 2 : 1;
      }
      if (i >= s.length) return false;
      i++;
    } else if (c === '\\') {
      i += 2;
    } else if ('|&;<>()$`*?[~#\n'.includes(c)) {
      return false;
    } else i++;
  }
  return true;
}

function cleanEnv(env: Env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}
