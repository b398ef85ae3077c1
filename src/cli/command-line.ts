/**
 * The command line as the CLI uses it. The grammar lives in src/command-line/, below both the CLI
 * and the daemon (which checks its jobs' command lines with it); see parse-command-line.ts there.
 */
export type { CliOptions, ParseContext, ParsedCommandLine, SelectionKind, SelectionOption, Verb } from '../command-line/cli-options.ts';
export { defaultCliOptions } from '../command-line/defaults.ts';
export { knownLongOptions, ownLongOptions } from '../command-line/option-table.ts';
export { parseVerbosity } from '../command-line/option-values.ts';
export { parseCommandLine } from '../command-line/parse-command-line.ts';
// duplicity's default --name (the md5 of the URL as typed); one implementation, in the codec
export { defaultBackupName } from '../codec/backup-name.ts';
