/**
 * The daemon's state folders (status file, run lock) and its jobs' cache and log folders must be
 * writable before anything runs. In a container they are often bind mounts that Docker created as
 * root, while the image runs as uid 1000. Exiting would make `restart: unless-stopped` start the container again and again; so the
 * service says once what is wrong and how to fix it, then waits (unhealthy: no status file) and
 * starts by itself once the folder is writable. `daemon --once` exits 52 instead.
 */
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** null when `dir` can be written (it is created if missing); else one line with the fix. */
export async function stateDirProblem(dir: string): Promise<string | null> {
  const probe = join(dir, `.write-check-${process.pid}`);
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(probe, '');
    await rm(probe, { force: true });
    return null;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    const owner = await stat(dir).then(
      (st) => ` (owned by uid ${st.uid}, this process runs as uid ${process.getuid?.() ?? '?'})`,
      () => '',
    );
    const uid = process.getuid?.() ?? 1000;
    const gid = process.getgid?.() ?? 1000;
    return `cannot write ${dir}: ${code}${owner}; fix: on the host, \`chown -R ${uid}:${gid}\` the folder mounted at ${dir}`;
  }
}

export type StateDirWait = 'ready' | 'failed' | 'stopped';

/**
 * Checks every folder; with `wait`, logs the problems once and checks again every `intervalMs`
 * until all are writable ('ready') or SIGTERM/SIGINT comes ('stopped'). Without: 'failed'.
 */
export async function waitForStateDirs(
  dirs: readonly string[],
  o: { readonly wait: boolean; readonly log: (line: string) => void; readonly intervalMs?: number },
): Promise<StateDirWait> {
  const problems = async () => (await Promise.all([...new Set(dirs)].map(stateDirProblem))).filter((p) => p !== null);
  let found = await problems();
  if (found.length === 0) return 'ready';
  for (const p of found) o.log(`error: ${p}`);
  if (!o.wait) return 'failed';
  o.log(`waiting until it is writable: no job runs until then (checked every ${(o.intervalMs ?? 15_000) / 1000} s)`);
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  try {
    while (found.length > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, o.intervalMs ?? 15_000);
        stop.signal.addEventListener(
          'abort',
          () => {
            clearTimeout(t);
            resolve();
          },
          { once: true },
        );
      });
      if (stop.signal.aborted) return 'stopped';
      found = await problems();
    }
    o.log('writable now: starting');
    return 'ready';
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}
