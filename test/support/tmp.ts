import { chmodSync, lstatSync, mkdtempSync, readdirSync, rmSync, type Stats } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

/** The part of node:test's TestContext that tmpDir needs (also satisfied by SuiteContext-like objects). */
export interface AfterHook {
  after(fn: () => void | Promise<void>): void;
}

/**
 * A file-level clean-up hook that runs what is registered last first, when the file's tests end:
 * servers started first (moto) stop after what uses them (proxies, temp dirs).
 */
export function fileCleanup(): AfterHook {
  const fns: (() => void | Promise<void>)[] = [];
  after(async () => {
    for (const fn of fns.reverse()) await fn();
  });
  return {
    after: (fn) => {
      fns.push(fn);
    },
  };
}

/**
 * A fresh directory under os.tmpdir(), removed when the test (or suite) `t` ends.
 * Set PERMAFROST_KEEP_TMP=1 to keep it for a post-mortem; its path is printed then.
 */
export function tmpDir(t: AfterHook, label = 'test'): string {
  const dir = mkdtempSync(join(tmpdir(), `permafrost-${label.replace(/[^A-Za-z0-9_.-]/g, '_')}-`));
  t.after(() => {
    if (process.env['PERMAFROST_KEEP_TMP'] === '1') {
      process.stderr.write(`kept temporary directory ${dir}\n`);
      return;
    }
    removeTree(dir);
  });
  return dir;
}

/**
 * rm -rf that also works for a non-root user when the tree holds read-only directories
 * (the hostile trees have some): write permission is restored top-down, then the tree is removed.
 */
export function removeTree(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true });
    return;
  } catch {
    makeWritable(Buffer.from(dir));
  }
  rmSync(dir, { recursive: true, force: true });
}

function makeWritable(path: Buffer): void {
  let st: Stats;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (!st.isDirectory()) return;
  chmodSync(path, (st.mode & 0o7777) | 0o700);
  for (const name of readdirSync(path, { encoding: 'buffer' })) {
    makeWritable(Buffer.concat([path, SLASH, name]));
  }
}

const SLASH = Buffer.from('/');
