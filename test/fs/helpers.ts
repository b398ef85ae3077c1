import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, symlinkSync, writeFileSync, lstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeFsName } from '../../src/fs/fs-name.ts';
import { Selection, type SelectionRule } from '../../src/fs/selection.ts';
import { walkSource, type WalkOptions } from '../../src/fs/walk.ts';
import { entryTypeOf } from '../../src/fs/entry-from-stat.ts';

export const PYTHON = '/usr/bin/python3.11'; // the interpreter duplicity is installed for
export const isRoot = process.geteuid?.() === 0;
const ORACLE = new URL('./duplicity_select.py', import.meta.url).pathname;

/** A fresh directory under the temp dir; lowercase name, so ignorecase: globs can match its path. */
export function tempDir(prefix: string): { path: string; buf: Buffer; cleanup: () => void } {
  const path = join(tmpdir(), `${prefix}${process.pid}-${randomBytes(6).toString('hex')}`);
  mkdirSync(path, { mode: 0o755 });
  const cleanup = (): void => {
    // Tests leave read-only directories behind; a non-root owner must open them up first.
    spawnSync('chmod', ['-R', 'u+rwx', path]);
    rmSync(path, { recursive: true, force: true });
  };
  return { path, buf: Buffer.from(path), cleanup };
}

export const b = (s: string): Buffer => Buffer.from(s, 'utf8');
export const cat = (...parts: (string | Buffer | number[])[]): Buffer =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? b(p) : Buffer.isBuffer(p) ? p : Buffer.from(p))));

export type Node =
  | { kind: 'dir'; path: Buffer }
  | { kind: 'file'; path: Buffer; data?: string }
  | { kind: 'symlink'; path: Buffer; target: Buffer }
  | { kind: 'fifo'; path: Buffer }
  | { kind: 'socket'; path: Buffer }
  | { kind: 'chr'; path: Buffer; major: number; minor: number };

/** Creates nodes below root (paths relative, '/'-separated bytes); parents first. */
export function makeTree(root: Buffer, nodes: readonly Node[]): void {
  for (const n of nodes) {
    const full = cat(root, '/', n.path);
    switch (n.kind) {
      case 'dir':
        mkdirSync(full, { recursive: true });
        break;
      case 'file':
        writeFileSync(full, n.data ?? '');
        break;
      case 'symlink':
        symlinkSync(n.target, full);
        break;
      case 'fifo':
      case 'socket':
      case 'chr': {
        // Names may not be UTF-8: create from python with the bytes given in hex.
        const code =
          n.kind === 'fifo'
            ? 'os.mkfifo(p)'
            : n.kind === 'socket'
              ? 's=socket.socket(socket.AF_UNIX); s.bind(p)'
              : `os.mknod(p, 0o600 | stat.S_IFCHR, os.makedev(${n.major}, ${n.minor}))`;
        execFileSync(PYTHON, ['-c', `import os, socket, stat, sys; p=bytes.fromhex(sys.argv[1]); ${code}`, full.toString('hex')]);
        break;
      }
    }
  }
}

/** One selection scenario, spelled as duplicity's command-line options. */
export interface SelectCase {
  readonly args: readonly (readonly [string, (string | Buffer)?])[];
  readonly filelists?: readonly Buffer[];
  readonly nullSeparator?: boolean;
}

export type SelectOutcome = { entries: string[][] } | { error: string };

/** Runs duplicity's own Select for each case (one python process for all). */
export function duplicitySelect(root: Buffer, cases: readonly SelectCase[], cwd?: string): SelectOutcome[] {
  const input = {
    cases: cases.map((c) => ({
      root: root.toString('hex'),
      args: c.args.map(([opt, arg]) => [opt, arg === undefined ? null : Buffer.from(arg).toString('hex')]),
      filelists: (c.filelists ?? []).map((f) => f.toString('hex')),
      nullSeparator: c.nullSeparator ?? false,
    })),
  };
  const r = spawnSync(PYTHON, [ORACLE], { input: JSON.stringify(input), cwd, maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`oracle failed: ${r.stderr.toString()}`);
  return JSON.parse(r.stdout.toString()) as SelectOutcome[];
}

/** The same case as SelectionRules. */
export function rulesOf(c: SelectCase): SelectionRule[] {
  let filelist = 0;
  return c.args.map(([opt, arg]): SelectionRule => {
    const text = arg === undefined ? '' : decodeFsName(Buffer.from(arg));
    switch (opt) {
      case '--include':
      case '--exclude':
        return { kind: opt === '--include' ? 'include' : 'exclude', glob: text };
      case '--include-filelist':
      case '--exclude-filelist':
        return {
          kind: opt === '--include-filelist' ? 'include-filelist' : 'exclude-filelist',
          content: c.filelists![filelist++]!,
          source: text,
          nullSeparator: c.nullSeparator ?? false,
        };
      case '--include-regexp':
      case '--exclude-regexp':
        return { kind: opt === '--include-regexp' ? 'include-regexp' : 'exclude-regexp', regexp: text };
      case '--exclude-if-present':
        return { kind: 'exclude-if-present', filename: Buffer.from(arg!) };
      case '--exclude-device-files':
        return { kind: 'exclude-device-files' };
      case '--exclude-other-filesystems':
        return { kind: 'exclude-other-filesystems' };
      case '--exclude-older-than':
        return { kind: 'exclude-older-than', time: Number(text) };
      default:
        throw new Error(`unknown option ${opt}`);
    }
  });
}

/** Our walk for a case, in the oracle's output shape. */
export async function ourSelect(root: Buffer, c: SelectCase, options: WalkOptions = {}): Promise<SelectOutcome> {
  let selection: Selection;
  try {
    const st = lstatSync(root);
    selection = Selection.fromRules(rulesOf(c), root, { type: entryTypeOf(st.mode)!, dev: st.dev });
  } catch (e) {
    return { error: (e as Error).message };
  }
  const entries: string[][] = [];
  for await (const e of walkSource(root, selection, () => {}, options)) entries.push(e.meta.index.map((x) => x.toString('hex')));
  return { entries };
}

export function showIndex(hexes: readonly string[]): string {
  return JSON.stringify(hexes.map((h) => Buffer.from(h, 'hex').toString('latin1')).join('/'));
}
