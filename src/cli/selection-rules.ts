import { readFileSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { Selection, type SelectionRule } from '../fs/selection.ts';
import { parseTimeSpec } from '../codec/time-string.ts';
import type { CliOptions } from './command-line.ts';
import { UsageError } from '../command-line/usage-error.ts';

/** The selection options, in command-line order, as the walker's rules (filelists are read here). */
export async function selectionFor(o: CliOptions, source: string, now: number): Promise<Selection> {
  const rules: SelectionRule[] = [];
  for (const opt of o.selection) {
    const v = opt.value ?? '';
    switch (opt.kind) {
      case 'include':
      case 'exclude':
        rules.push({ kind: opt.kind, glob: v });
        break;
      case 'include-filelist':
      case 'exclude-filelist': {
        let content: Buffer;
        try {
          content = readFileSync(v);
        } catch (err) {
          throw new UsageError(`cannot read ${opt.kind} ${v}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
        }
        rules.push({ kind: opt.kind, content, source: v, nullSeparator: o.nullSeparator });
        break;
      }
      case 'include-regexp':
      case 'exclude-regexp':
        rules.push({ kind: opt.kind, regexp: v });
        break;
      case 'exclude-if-present':
        rules.push({ kind: 'exclude-if-present', filename: v });
        break;
      case 'exclude-other-filesystems':
      case 'exclude-device-files':
        rules.push({ kind: opt.kind });
        break;
      case 'exclude-older-than':
        rules.push({ kind: 'exclude-older-than', time: parseTimeSpec(v, now) });
        break;
    }
  }
  const root = Buffer.from(source);
  if (rules.length === 0) return Selection.all(root);
  const st = await fsp.lstat(root);
  try {
    return Selection.fromRules(rules, root, { type: st.isDirectory() ? 'dir' : 'reg', dev: st.dev });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}
