/**
 * The kinds of option in the table (flag, text, file, int, selection, accepted without effect,
 * deprecated) and what applying one does to the parser's state.
 */
import type { Opts, SelectionKind } from './cli-options.ts';
import { expandPath, type Env } from './expand-path.ts';
import { optparseInt } from './option-values.ts';
import { UsageError } from './usage-error.ts';

/** Keys of the fields whose type (ignoring `?`) is exactly V. */
export type KeysOf<V> = {
  [K in keyof Opts]-?: [Exclude<Opts[K], undefined>] extends [V] ? ([V] extends [Exclude<Opts[K], undefined>] ? K : never) : never;
}[keyof Opts];

export interface State {
  readonly o: Opts;
  readonly env: Env;
  readonly ignored: Set<string>;
  readonly warnings: string[];
  stop?: 'help' | 'version';
}

export interface OptionDef {
  /** long names, then short ones; the first is the canonical name */
  readonly names: readonly string[];
  readonly arity: 0 | 1 | 2;
  /** accepted for compatibility, without effect here */
  readonly ignored?: boolean;
  readonly apply: (s: State, values: readonly string[], name: string) => void;
}

export function flag(name: string, key: KeysOf<boolean>): OptionDef {
  return {
    names: [name],
    arity: 0,
    apply: (s) => {
      s.o[key] = true;
    },
  };
}

export function text(names: string | readonly string[], key: KeysOf<string>): OptionDef {
  return {
    names: typeof names === 'string' ? [names] : names,
    arity: 1,
    apply: (s, [v]) => {
      s.o[key] = v!;
    },
  };
}

/** duplicity's "file" type: `$VAR` and `~` are expanded. */
export function file(name: string, key: KeysOf<string>): OptionDef {
  return {
    names: [name],
    arity: 1,
    apply: (s, [v]) => {
      s.o[key] = expandPath(v!, s.env);
    },
  };
}

export function int(name: string, key: KeysOf<number>, check?: (n: number, name: string) => void): OptionDef {
  return {
    names: [name],
    arity: 1,
    apply: (s, [v], used) => {
      const n = optparseInt(v!, used);
      check?.(n, used);
      s.o[key] = n;
    },
  };
}

/**
 * Seconds: an integer as duplicity reads it, or (permafrost's addition) a decimal of at least
 * 0.1, for finer progress than duplicity's whole seconds.
 */
export function seconds(name: string, key: KeysOf<number>): OptionDef {
  return {
    names: [name],
    arity: 1,
    apply: (s, [v], used) => {
      if (!/^\d*\.\d+$/.test(v!)) {
        s.o[key] = optparseInt(v!, used);
        return;
      }
      const n = Number(v);
      if (n < 0.1) throw new UsageError(`option ${used}: at least 0.1 seconds: '${v}'`);
      s.o[key] = n;
    },
  };
}

/** An option we accept and check like duplicity does, but that changes nothing here. */
export function ignore(name: string, kind: 'flag' | 'value' | 'int' = 'flag', arity: 1 | 2 = 1): OptionDef {
  return {
    names: [name],
    arity: kind === 'flag' ? 0 : arity,
    ignored: true,
    apply: (_s, values, used) => {
      if (kind === 'int') for (const v of values) optparseInt(v, used);
    },
  };
}

export function selection(name: string, kind: SelectionKind, valueKind: 'none' | 'string' | 'path' = 'string'): OptionDef {
  return {
    names: [name],
    arity: valueKind === 'none' ? 0 : 1,
    apply: (s, [v]) => {
      if (v === undefined) s.o.selection.push({ kind });
      else s.o.selection.push({ kind, value: valueKind === 'path' ? expandPath(v, s.env) : v });
    },
  };
}

export function deprecated(def: OptionDef, warning: (name: string) => string): OptionDef {
  return {
    ...def,
    apply: (s, values, used) => {
      def.apply(s, values, used);
      s.warnings.push(warning(def.names[0]!));
    },
  };
}

export const oldFilenameWarning = (name: string): string =>
  `Warning: Option ${name} is pending deprecation and will be removed in version 0.9.0.\n` +
  'Use of default filenames is strongly suggested.';
export const globbingFilelistWarning = (name: string): string =>
  `Warning: Option ${name} is pending deprecation and will be removed in a future release.\n` +
  '--include-filelist and --exclude-filelist now accept globbing characters and should be used instead.';
export const stdinWarning = (name: string): string =>
  `Warning: Option ${name} is pending deprecation and will be removed in a future release.\n` +
  'On many GNU/Linux systems, stdin is represented by /dev/stdin and\n' +
  '--include-filelist=/dev/stdin or --exclude-filelist=/dev/stdin could be used as a substitute.';

/** Option that is parsed into a typed field but has no effect, as with duplicity's boto3 backend. */
export function noEffect(def: OptionDef): OptionDef {
  return { ...def, ignored: true };
}
