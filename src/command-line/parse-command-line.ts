/**
 * duplicity 0.8.22's command line (`duplicity/commandline.py`), parsed into one typed value.
 *
 * The grammar is optparse's, kept on purpose so that existing scripts and docker-duplicity's
 * `OPTIONS` keep working: options anywhere, `--opt value` or `--opt=value`, long options
 * abbreviated to any unique prefix, short options clustered (`-vi`), `--` ends the options.
 * The first positional is a command when it is a unique prefix of one (`inc`, `rest`); without a
 * command, two positionals mean a backup when the URL is second and a restore when it is first.
 *
 * commander is not used: it has no unique-prefix long options, no two-value options (`--rename`),
 * no verb abbreviations, and it does not keep the relative order of different options, which
 * duplicity's selection options depend on.
 */
import { statSync } from 'node:fs';
import { looksLikeUrl } from '../backend/target-url.ts';
import { parsePythonSafeInt } from '../codec/python-int.ts';
import { ExitCode, PermafrostError } from '../core/errors.ts';
import type { ParseContext, ParsedCommandLine, Verb } from './cli-options.ts';
import { defaults } from './defaults.ts';
import { expandPath, resolveEnv, type Env } from './expand-path.ts';
import type { State } from './option-kinds.ts';
import { scan } from './scan.ts';
import { UsageError } from './usage-error.ts';
import { suggestVerb } from './verb-suggestion.ts';

/** duplicity 0.8.22's commands: a unique prefix of one of these is that command. */
const DUPLICITY_COMMANDS = [
  'cleanup',
  'collection-status',
  'full',
  'incremental',
  'list-current-files',
  'remove-older-than',
  'remove-all-but-n-full',
  'remove-all-inc-of-but-n-full',
  'restore',
  'verify',
  'replicate',
] as const;

/**
 * permafrost's own commands match only when spelled out, so that no abbreviation duplicity accepts
 * changes meaning and a source directory called e.g. `e` is not taken for `estimate`.
 */
const OWN_COMMANDS = ['thaw', 'estimate', 'help', 'version'] as const;

function commandError(message: string): UsageError {
  return new UsageError(`Command line error: ${message}`);
}

function pickCommand(word: string): Verb | 'replicate' | undefined {
  const own = OWN_COMMANDS.find((c) => c === word);
  if (own) return own;
  const possible = DUPLICITY_COMMANDS.filter((c) => c.startsWith(word));
  if (possible.length > 1) throw commandError(`command '${word}' not unique, could be ${possible.join(', ')}`);
  return possible[0];
}

/**
 * A first word that is no command but close to one, and not an existing directory, is a typo:
 * exit 2 with the command it resembles, instead of a backup of a source that does not exist.
 */
function refuseMistypedCommand(word: string, env: Env, context: ParseContext): void {
  if (looksLikeUrl(word)) return;
  const meant = suggestVerb(word, [...DUPLICITY_COMMANDS.filter((c) => c !== 'replicate'), ...OWN_COMMANDS]);
  if (meant === undefined) return;
  const isDirectory = context.isDirectory ?? ((p: string) => statSync(p, { throwIfNoEntry: false })?.isDirectory() === true);
  if (isDirectory(expandPath(word, env))) return;
  throw commandError(`unknown command "${word}": did you mean "${meant}"?`);
}

export function parseCommandLine(argv: readonly string[], context: ParseContext = {}): ParsedCommandLine {
  const env = resolveEnv(context);
  const s: State = { o: defaults(env), env, ignored: new Set(), warnings: [] };
  const args = scan(argv, s);
  const ignored = [...s.ignored];
  if (s.stop) return { verb: s.stop, positionals: args, options: s.o, ignored, warnings: s.warnings };

  let verb: Verb | 'replicate' | undefined;
  if (args.length > 0) {
    verb = pickCommand(args[0]!);
    if (verb) args.shift();
    else refuseMistypedCommand(args[0]!, env, context);
  }
  if (verb === 'replicate') throw commandError('replicate is not supported by permafrost');
  if (verb === 'help' || verb === 'version') return { verb, positionals: args, options: s.o, ignored, warnings: s.warnings };

  let removeTime: string | undefined;
  let keepCount: number | undefined;
  if (verb === 'remove-older-than') {
    removeTime = args.shift();
    if (removeTime === undefined) throw commandError('Missing time string for remove-older-than');
  } else if (verb === 'remove-all-but-n-full' || verb === 'remove-all-inc-of-but-n-full') {
    const raw = args.shift();
    if (raw === undefined) throw commandError(`Missing count for ${verb}`);
    const count = parsePythonSafeInt(raw, 10);
    if (count === null) throw commandError(`${verb} count must be a whole number, got '${raw}'`);
    keepCount = count;
    if (keepCount <= 0) throw commandError(`${verb} count must be > 0`);
  }

  const expected = expectedArgs(verb ?? 'backup');
  if (args.length !== expected) throw commandError(`Expected ${expected} args, got ${args.length}`);
  const positionals = args.map((a) => (a.includes('://') ? a : expandPath(a, env)));

  const resolved = resolveDirection(verb, positionals);
  checkConsistency(resolved.verb, s);
  return {
    verb: resolved.verb,
    positionals,
    options: s.o,
    ignored,
    ...(resolved.url !== undefined && { url: resolved.url }),
    ...(resolved.localPath !== undefined && { localPath: resolved.localPath }),
    ...(removeTime !== undefined && { removeTime }),
    ...(keepCount !== undefined && { keepCount }),
    warnings: s.warnings,
  };
}

function expectedArgs(verb: Verb): number {
  switch (verb) {
    case 'cleanup':
    case 'collection-status':
    case 'list-current-files':
    case 'remove-older-than':
    case 'remove-all-but-n-full':
    case 'remove-all-inc-of-but-n-full':
    case 'thaw':
    case 'estimate':
      return 1;
    default:
      return 2;
  }
}

function resolveDirection(
  verb: Exclude<Verb, 'help' | 'version'> | undefined,
  args: readonly string[],
): { verb: Verb; url?: string; localPath?: string } {
  if (verb === 'estimate') {
    // `estimate SOURCE_DIR` prices backing the tree up; it needs no target
    if (looksLikeUrl(args[0]!)) throw commandError('estimate takes a local SOURCE_DIR, not a URL: estimate [options] SOURCE_DIR');
    return { verb, localPath: args[0]! };
  }
  if (args.length === 1) {
    const url = args[0]!;
    if (!looksLikeUrl(url)) {
      throw new PermafrostError(
        ExitCode.badUrl,
        `Bad URL '${url}'. Examples of URL strings are "file:///usr/local" and "boto3+s3://bucket/prefix".`,
      );
    }
    return { verb: verb!, url };
  }
  const [a, b] = [args[0]!, args[1]!];
  const aUrl = looksLikeUrl(a);
  const bUrl = looksLikeUrl(b);
  if (!aUrl && !bUrl) {
    throw commandError('One of the arguments must be an URL, e.g. "file:///usr/local" or "boto3+s3://bucket/prefix".');
  }
  if (aUrl && bUrl) throw commandError('Two URLs specified. One argument should be a path.');
  const backingUp = bUrl;
  const url = backingUp ? b : a;
  const localPath = backingUp ? a : b;
  switch (verb) {
    case undefined:
      return { verb: backingUp ? 'backup' : 'restore', url, localPath };
    case 'full':
    case 'incremental':
      if (!backingUp) throw commandError(`${verb} option cannot be used when restoring or verifying`);
      return { verb, url, localPath };
    case 'verify':
      if (backingUp) throw commandError('verify option cannot be used when backing up');
      return { verb, url, localPath };
    case 'restore':
      // duplicity would quietly run a backup here; a restore verb with the URL last is a mistake.
      if (backingUp) throw commandError('restore expects the URL first: restore URL DESTINATION');
      return { verb, url, localPath };
    default:
      return { verb, url, localPath };
  }
}

function checkConsistency(verb: Verb, s: State): void {
  const o = s.o;
  if (verb === 'full' || verb === 'incremental' || verb === 'backup') {
    if (o.fileToRestore !== undefined) {
      throw commandError(`restore option incompatible with ${verb === 'full' ? 'full' : 'inc'} backup`);
    }
    if ([o.s3UseRrs, o.s3UseIa, o.s3UseOnezoneIa].filter(Boolean).length >= 2) {
      throw commandError('only one of --s3-use-rrs, --s3-use-ia, and --s3-use-onezone-ia may be used');
    }
  } else if (verb === 'restore' && o.selection.length > 0) {
    s.warnings.push('Command line warning: Selection options --exclude/--include\ncurrently work only when backing up,not restoring.');
  }
}
