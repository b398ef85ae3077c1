import { parentPort } from 'node:worker_threads';
import * as fs from 'node:fs';
import type { RestoreJob, RestoreReply } from './restore-queue.ts';
import { errorToWire, type WireError } from '../core/worker-error.ts';

/**
 * The thread behind RestoreQueue (see there): creates restored files and applies directory
 * attributes, in the order given. Each file is written under a fresh temporary name in its
 * directory and renamed onto its real name once complete, with its attributes, so a failure
 * never leaves a partial file under the real name. After a failure the rest of the batch and
 * every later one are refused: the restore is over.
 */
const port = parentPort!;
const SLASH = 0x2f;
let tempCounter = 0;
let failed: WireError | null = null;

port.on('message', (msg: { seq: number; jobs: RestoreJob[]; data: ArrayBuffer | null }) => {
  if (failed === null) {
    try {
      run(msg.jobs, msg.data === null ? Buffer.alloc(0) : Buffer.from(msg.data));
    } catch (e) {
      failed = errorToWire(e);
    }
  }
  const reply: RestoreReply = { seq: msg.seq, error: failed };
  port.postMessage(reply);
});

function run(jobs: RestoreJob[], data: Buffer): void {
  let at = 0;
  for (const job of jobs) {
    if (job.op === 'file') {
      writeFile(job, data.subarray(at, at + job.length));
      at += job.length;
    } else {
      const path = Buffer.from(job.path);
      if (job.chown) fs.lchownSync(path, job.uid, job.gid);
      fs.chmodSync(path, job.mode);
      fs.lutimesSync(path, new Date(), new Date(job.mtimeMs));
    }
  }
}

function writeFile(job: Extract<RestoreJob, { op: 'file' }>, data: Buffer): void {
  const dir = Buffer.from(job.dir);
  const { temp, fd } = openFresh(dir);
  try {
    for (let off = 0; off < data.length; ) off += fs.writeSync(fd, data, off, data.length - off);
    if (job.chown) fs.fchownSync(fd, job.uid, job.gid);
    fs.fchmodSync(fd, job.mode);
    fs.futimesSync(fd, new Date(), new Date(job.mtimeMs));
    fs.closeSync(fd);
  } catch (e) {
    try {
      fs.closeSync(fd);
    } catch {
      /* already closed */
    }
    fs.rmSync(temp, { force: true });
    throw e;
  }
  const path = Buffer.concat([dir, Buffer.of(SLASH), Buffer.from(job.name)]);
  try {
    fs.renameSync(temp, path);
  } catch (e) {
    fs.rmSync(temp, { force: true });
    throw e;
  }
}

function openFresh(dir: Buffer): { temp: Buffer; fd: number } {
  const flags = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW;
  for (let attempt = 0; attempt < 1000; attempt++) {
    const temp = Buffer.concat([dir, Buffer.from(`/.permafrost-restore.${process.pid}.w${++tempCounter}`)]);
    try {
      return { temp, fd: fs.openSync(temp, flags, 0o600) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  throw new Error(`cannot find a free temporary name in ${dir.toString()}`);
}
