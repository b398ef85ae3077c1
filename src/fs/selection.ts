import { promises as fsp } from 'node:fs';
import type { EntryType } from '../core/entry.ts';
import type { PathIndex } from '../core/path-index.ts';
import { entryTypeOf } from './entry-from-stat.ts';
import { decodeFsName, encodeFsName } from './fs-name.ts';
import { GlobbingError, globSelector } from './glob.ts';
import { compilePythonRegex } from './py-regex.ts';

/**
 * Duplicity 0.8.22's file selection (`duplicity/selection.py`): an ordered list of selection
 * functions, first definite answer wins, default include, and "scan" for directories that an
 * include rule could match something below.
 *
 * Globs and regular expressions are matched against the *full* path as duplicity spells it:
 * the canonical source path (see canonicalSourcePath; relative stays relative) joined with the
 * index, decoded as Python's os.fsdecode does.
 */

/** One command-line selection option, in the order given. */
export type SelectionRule =
  | { readonly kind: 'include' | 'exclude'; readonly glob: string }
  | {
      readonly kind: 'include-filelist' | 'exclude-filelist';
      /** The file's raw contents (duplicity reads it as strict UTF-8 text). */
      readonly content: Uint8Array;
      /** For messages: the file's name. */
      readonly source: string;
      /** `--null-separator`: entries end with NUL instead of newline. */
      readonly nullSeparator?: boolean;
    }
  | { readonly kind: 'include-regexp' | 'exclude-regexp'; readonly regexp: string }
  | { readonly kind: 'exclude-if-present'; readonly filename: string | Buffer }
  | { readonly kind: 'exclude-other-filesystems' }
  | { readonly kind: 'exclude-device-files' }
  /** Regular files whose mtime is earlier than `time` (epoch seconds) are excluded. */
  | { readonly kind: 'exclude-older-than'; readonly time: number };

export type Decision = 'include' | 'exclude' | 'scan';

/** What a rule may look at for one path below the root. */
export interface SelectionCandidate {
  /** Full decoded name (selection.nameOf); only read when selection.needsNames. */
  readonly name: string;
  readonly type: EntryType;
  readonly dev: number;
  readonly mtimeMs: number;
  /**
   * For directories: whether each of selection.markerNames is an entry of the directory
   * (exclude-if-present). null when unknown (not a directory, or the listing failed).
   */
  readonly markers: readonly boolean[] | null;
  /** The path below the root (for a restriction to part of the tree, see `restrictedTo`). */
  readonly index?: PathIndex;
}

/** The root as the rules need it: its type and the device it lives on. */
export interface SelectionRoot {
  readonly type: EntryType;
  readonly dev: number;
}

type Verdict = 0 | 1 | 2 | null;

interface SelectionFunction {
  readonly test: (c: SelectionCandidate) => Verdict;
  /** True when the function can exclude; the last function must (duplicity's redundancy check). */
  readonly excludes: boolean;
  readonly description: string;
}

export class Selection {
  readonly #functions: readonly SelectionFunction[];
  /** Canonical source path, decoded: the start of every candidate name. */
  readonly rootName: string;
  /** True when some rule looks at names; the walker can skip building them otherwise. */
  readonly needsNames: boolean;
  /** exclude-if-present file names; the walker reports their presence per directory. */
  readonly markerNames: readonly Buffer[];
  /** Paths outside a part of the tree (one shard's): excluded before any rule is asked. */
  readonly #outside: ((index: PathIndex) => boolean) | null;

  private constructor(
    functions: SelectionFunction[],
    rootName: string,
    needsNames: boolean,
    markers: Buffer[],
    outside: ((index: PathIndex) => boolean) | null = null,
  ) {
    this.#functions = functions;
    this.rootName = rootName;
    this.needsNames = needsNames;
    this.markerNames = markers;
    this.#outside = outside;
  }

  /** This selection within part of the tree: paths for which `outside` is true are excluded, subtrees included. */
  restrictedTo(outside: (index: PathIndex) => boolean): Selection {
    return new Selection([...this.#functions], this.rootName, this.needsNames, [...this.markerNames], outside);
  }

  /** Includes everything. */
  static all(sourceRoot: Buffer): Selection {
    return new Selection([], decodeFsName(canonicalSourcePath(sourceRoot)), false, []);
  }

  /**
   * Builds the selection functions as duplicity's ParseArgs does. Throws with duplicity's
   * messages for a glob that cannot match under the root, a malformed glob, or a rule list
   * whose last rule only includes.
   */
  static fromRules(rules: readonly SelectionRule[], sourceRoot: Buffer, root: SelectionRoot): Selection {
    const rootName = decodeFsName(canonicalSourcePath(sourceRoot));
    const rootSubject = { name: rootName, isDir: root.type === 'dir' };
    const functions: SelectionFunction[] = [];
    const markers: Buffer[] = [];
    let needsNames = false;

    const globFunction = (globIn: string, include: 0 | 1): SelectionFunction => {
      const description = `Command-line ${include ? 'include' : 'exclude'} glob: ${globIn}`;
      if (globIn === '**') return { test: () => include, excludes: include === 0, description };
      let glob = globIn;
      let ignoreCase = false;
      if (glob.toLowerCase().startsWith('ignorecase:')) {
        glob = glob.slice('ignorecase:'.length).toLowerCase();
        ignoreCase = true;
      }
      try {
        // The prefix check is case-sensitive even for ignorecase: globs, as in duplicity.
        if (!globSelector(glob, 1, false)(rootSubject)) {
          throw new Error(
            `The file specification ${glob} cannot match any files in the base directory ${rootName}. ` +
              `Useful file specifications begin with the base directory or some pattern (such as '**') which matches the base directory.`,
          );
        }
        const select = globSelector(glob, include, ignoreCase);
        needsNames = true;
        return {
          test: (c) => select({ name: c.name, isDir: c.type === 'dir' }),
          excludes: include === 0,
          description,
        };
      } catch (e) {
        if (e instanceof GlobbingError) throw new Error(`Fatal Error while processing expression ${globIn}: ${e.message}`);
        throw e;
      }
    };

    for (const rule of rules) {
      switch (rule.kind) {
        case 'include':
        case 'exclude':
          functions.push(globFunction(rule.glob, rule.kind === 'include' ? 1 : 0));
          break;
        case 'include-filelist':
        case 'exclude-filelist':
          for (const line of parseFilelist(
            rule.content,
            rule.kind === 'include-filelist' ? 1 : 0,
            rule.nullSeparator ?? false,
            rule.source,
          )) {
            functions.push(globFunction(line.glob, line.include));
          }
          break;
        case 'include-regexp':
        case 'exclude-regexp': {
          const include = rule.kind === 'include-regexp' ? 1 : 0;
          const re = compilePythonRegex(rule.regexp);
          needsNames = true;
          functions.push({
            test: (c) => (re.test(c.name) ? include : null),
            excludes: include === 0,
            description: `Regular expression: ${rule.regexp}`,
          });
          break;
        }
        case 'exclude-if-present': {
          const name = typeof rule.filename === 'string' ? encodeFsName(rule.filename) : Buffer.from(rule.filename);
          const slot = markers.length;
          markers.push(name);
          // Duplicity puts these first (add_to_start), so the last given is tried first.
          functions.unshift({
            test: (c) => (c.type === 'dir' && c.markers !== null && c.markers[slot] === true ? 0 : null),
            excludes: true,
            description: `Command-line exclude-if-present filename: ${decodeFsName(name)}`,
          });
          break;
        }
        case 'exclude-device-files':
          functions.unshift({
            test: (c) => (c.type === 'chr' || c.type === 'blk' ? 0 : null),
            excludes: true,
            description: 'Exclude device files',
          });
          break;
        case 'exclude-other-filesystems': {
          const rootDev = root.dev;
          functions.push({
            test: (c) => (c.dev !== rootDev ? 0 : null),
            excludes: true,
            description: 'Match other filesystems',
          });
          break;
        }
        case 'exclude-older-than': {
          const limit = rule.time;
          functions.push({
            // Python compares the float st_mtime with the integer date.
            test: (c) => (c.type === 'reg' && c.mtimeMs / 1000 < limit ? 0 : null),
            excludes: true,
            description: `Select older than ${limit}`,
          });
          break;
        }
        default: {
          const never: never = rule;
          throw new Error(`unknown selection rule ${JSON.stringify(never)}`);
        }
      }
    }

    const last = functions[functions.length - 1];
    if (last !== undefined && !last.excludes) {
      throw new Error(
        `Last selection expression: ${last.description} only specifies that files be included. ` +
          `Because the default is to include all files, the expression is redundant.`,
      );
    }
    return new Selection(functions, rootName, needsNames, markers);
  }

  /** fromRules for a source path on disk: lstat's the root for its type and device. */
  static async forSource(rules: readonly SelectionRule[], sourceRoot: Buffer): Promise<Selection> {
    const st = await fsp.lstat(sourceRoot);
    const type = entryTypeOf(st.mode);
    if (type === null) throw new Error(`backup source ${sourceRoot.toString()} is a socket or of an unknown type`);
    return Selection.fromRules(rules, sourceRoot, { type, dev: st.dev });
  }

  /**
   * This selection with `name` (a full name as candidates spell it) and everything below it
   * excluded ahead of every rule: for what must never be backed up, such as the backup's own cache.
   */
  excluding(name: string): Selection {
    const rule: SelectionFunction = { test: (c) => (c.name === name ? 0 : null), excludes: true, description: `excluded: ${name}` };
    return new Selection([rule, ...this.#functions], this.rootName, true, [...this.markerNames]);
  }

  /** The decoded full name of a child, given its parent's name (os.path.join semantics). */
  childName(parentName: string, component: Buffer): string {
    return (parentName.endsWith('/') ? parentName : `${parentName}/`) + decodeFsName(component);
  }

  /** `Select.Select`: the dominant answer of the selection functions for one path below the root. */
  decide(c: SelectionCandidate): Decision {
    if (this.#outside !== null && c.index !== undefined && this.#outside(c.index)) return 'exclude';
    let scanPending = false;
    let result: Verdict = null;
    for (const f of this.#functions) {
      const r = f.test(c);
      if (r === 2) scanPending = true;
      else if (r !== null) {
        result = r;
        break;
      }
    }
    if (scanPending && result !== 1) return 'scan';
    return result === 0 ? 'exclude' : 'include';
  }
}

/**
 * `Path.get_canonical()`: drops empty and '.' components and trailing slashes; keeps a leading
 * '/', keeps relative paths relative ('.' when nothing is left). Globs are written against this.
 */
export function canonicalSourcePath(path: Buffer): Buffer {
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= path.length; i++) {
    if (i === path.length || path[i] === 0x2f) {
      const part = path.subarray(start, i);
      if (part.length > 0 && !(part.length === 1 && part[0] === 0x2e)) parts.push(part);
      start = i + 1;
    }
  }
  const joined = Buffer.concat(parts.flatMap((p, i) => (i === 0 ? [p] : [SLASH, p])));
  if (path[0] === 0x2f) return Buffer.concat([SLASH, joined]);
  return joined.length > 0 ? joined : Buffer.from('.');
}

const SLASH = Buffer.from('/');

/** One line of a filelist: the glob and whether it includes. */
export interface FilelistLine {
  readonly glob: string;
  readonly include: 0 | 1;
}

/**
 * `filelist_globbing_get_sfs` + `filelist_sanitise_line`: strict UTF-8, universal newlines,
 * Python whitespace stripping, '#' comments, '+ ' / '- ' prefixes, one pair of enclosing quotes.
 */
export function parseFilelist(content: Uint8Array, includeDefault: 0 | 1, nullSeparator: boolean, source = 'filelist'): FilelistLine[] {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(content);
  } catch {
    throw new Error(`filelist ${source} is not valid UTF-8`);
  }
  text = text.replace(/\r\n?/g, '\n');
  const out: FilelistLine[] = [];
  for (const raw of text.split(nullSeparator ? '\0' : '\n')) {
    let line = pyStrip(raw);
    if (line === '' || line.startsWith('#')) continue;
    let include = includeDefault;
    if (line.startsWith('+ ')) {
      include = 1;
      line = line.slice(2);
    } else if (line.startsWith('- ')) {
      include = 0;
      line = line.slice(2);
    }
    if ((line.startsWith("'") && line.endsWith("'")) || (line.startsWith('"') && line.endsWith('"'))) {
      line = line.slice(1, -1);
    }
    if (line === '') continue;
    out.push({ glob: line, include });
  }
  return out;
}

/** str.strip() with no argument: Python's whitespace set, which differs from String.trim(). */
function pyStrip(s: string): string {
  const ws =
    /^[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;
  return s.replace(ws, '');
}
