/**
 * The stdout contract (docs/output.md). One object per run owns the process's two streams and
 * decides what may reach stdout:
 *
 * - without --json, as duplicity 0.8.22's log.py: messages up to WARNING (notices, warnings, info,
 *   debug, the statistics, collection-status, the file list, verify's summary) on stdout, errors
 *   on stderr, so that scripts parsing duplicity's output keep working;
 * - with --json, stdout holds exactly one JSON document (the verb's result, or on failure the
 *   error document `{"error": {...}}`) and every message, note and progress line goes to stderr.
 *
 * Commands write their result through `document()`/`jsonArray()` (JSON) or `text()`; the reporter
 * gets `log` and `stderr` as its sinks. Nothing else in src/ writes to process.stdout
 * (test/cli/stdout-writers.test.ts checks it), so a --json run cannot leak text into the document.
 */
import { ExitCode } from '../core/errors.ts';
import { knownLongOptions } from './command-line.ts';
import { redact } from './console-reporter.ts';
import type { ExitReport } from './exit.ts';

export interface TextSink {
  write(chunk: string): unknown;
}

/** stderr as the progress bar needs it: a bar is drawn only on a terminal, as wide as it is. */
export interface TerminalSink extends TextSink {
  readonly isTTY?: boolean;
  readonly columns?: number;
}

/** What a --json failure writes: the exit code, its name in ExitCode, and the one-line message. */
export interface ErrorDocument {
  readonly error: {
    readonly code: number;
    /** ExitCode's name for the code (`noChain`, `usage`, ...), documented in docs/exit-codes.md */
    readonly name: string;
    readonly message: string;
  };
}

/** A document with one array member written element by element (list-current-files). */
export interface JsonArrayWriter {
  push(value: unknown): void;
  /** Closes the array and the document. */
  end(): void;
}

export interface Output {
  /** --json: stdout is one JSON document */
  readonly json: boolean;
  /** log messages below ERROR: stdout as duplicity's, stderr with --json */
  readonly log: TextSink;
  /** errors, progress, prompts */
  readonly stderr: TerminalSink;
  /** The verb's text result (not with --json, where it would break the document: it goes to stderr). */
  text(text: string): void;
  /** `--help`, asked for by name: on stdout even with --json. */
  help(text: string): void;
  /** The verb's JSON result; `indent` as JSON.stringify's (the backup's stays on one line: the daemon reads its last line). */
  document(value: unknown, indent?: number): void;
  /** A JSON document `{"<key>": [ ... ]}` written as it is produced; elements one per line. */
  jsonArray(key: string): JsonArrayWriter;
  /** With --json: the error document for a failed run (or closes an open array with an `error` member). */
  failed(report: Pick<ExitReport, 'code' | 'message'>): void;
  /**
   * With --json, after the verb returned: a verb that ended with a non-zero code and wrote no
   * document (restore waiting for a thaw) gets the error document; one that succeeded without
   * writing is a bug (exit 30). Returns the exit code to end with.
   */
  finish(code: number, meaning: (code: number) => string): number;
}

export interface OutputStreams {
  readonly stdout: TextSink;
  readonly stderr: TerminalSink;
}

const NAME_OF_CODE: ReadonlyMap<number, string> = new Map(Object.entries(ExitCode).map(([name, code]) => [code, name]));

/** The error document of a failed run. */
export function errorDocument(report: Pick<ExitReport, 'code' | 'message'>): ErrorDocument {
  // the message is the one line stderr gets, with a URL's password removed as the reporter does
  return { error: { code: report.code, name: NAME_OF_CODE.get(report.code) ?? 'internal', message: redact(report.message) } };
}

/**
 * Whether argv asks for --json, for the one case where the parsed options do not exist: a command
 * line that does not parse. `--json` or a unique prefix of it, as the parser takes long options,
 * before a `--` that ends the options.
 */
export function asksForJson(argv: readonly string[]): boolean {
  for (const a of argv) {
    if (a === '--') return false;
    if (!a.startsWith('--') || a.length < 3) continue;
    const name = a.split('=')[0]!;
    if (name === '--json') return true;
    if ('--json'.startsWith(name) && knownLongOptions().filter((o) => o.startsWith(name)).length === 1) return true;
  }
  return false;
}

/** empty: nothing yet; claimed: a streamed document began, none of it written; open-array: part written */
type State = 'empty' | 'claimed' | 'open-array' | 'written';

export class CliOutput implements Output {
  readonly json: boolean;
  readonly log: TextSink;
  readonly stderr: TerminalSink;
  private readonly stdout: TextSink;
  private state: State = 'empty';

  constructor(json: boolean, streams: OutputStreams) {
    this.json = json;
    this.stdout = streams.stdout;
    this.stderr = streams.stderr;
    this.log = json ? streams.stderr : streams.stdout;
  }

  text(text: string): void {
    (this.json ? this.stderr : this.stdout).write(`${text}\n`);
  }

  help(text: string): void {
    this.stdout.write(`${text}\n`);
  }

  document(value: unknown, indent?: number): void {
    this.claim();
    this.stdout.write(`${JSON.stringify(value, null, indent)}\n`);
    this.state = 'written';
  }

  jsonArray(key: string): JsonArrayWriter {
    this.claim();
    // nothing is written before the first element: a failure before it gets the plain error document
    const head = `{${JSON.stringify(key)}:[`;
    let first = true;
    return {
      push: (value) => {
        if (first) this.state = 'open-array';
        this.stdout.write(`${first ? `${head}\n` : ',\n'}${JSON.stringify(value)}`);
        first = false;
      },
      end: () => {
        if (this.state === 'written') return;
        this.stdout.write(first ? `${head}]}\n` : '\n]}\n');
        this.state = 'written';
      },
    };
  }

  failed(report: Pick<ExitReport, 'code' | 'message'>): void {
    if (!this.json) return;
    const doc = errorDocument(report);
    if (this.state === 'open-array') {
      // the elements already written stay; the document ends with the error that cut it short
      this.stdout.write(`\n],"error":${JSON.stringify(doc.error)}}\n`);
    } else if (this.state === 'empty' || this.state === 'claimed') {
      this.stdout.write(`${JSON.stringify(doc)}\n`);
    } else {
      return; // the result was written before the failure (closing the target): one document only
    }
    this.state = 'written';
  }

  finish(code: number, meaning: (code: number) => string): number {
    if (!this.json || this.state === 'written') return code;
    if (code === ExitCode.ok) {
      const bug = { code: ExitCode.internal, message: 'internal error: the command wrote no --json document' };
      this.stderr.write(`${bug.message}\n`);
      this.failed(bug);
      return ExitCode.internal;
    }
    this.failed({ code, message: meaning(code) });
    return code;
  }

  /** A second document would make stdout two documents: a bug, caught here. */
  private claim(): void {
    if (this.state !== 'empty') throw new Error('a second --json document in one run');
    this.state = 'claimed';
  }
}
