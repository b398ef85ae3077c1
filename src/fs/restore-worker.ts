import { parentPort } from 'node:worker_threads';
import * as fs from 'node:fs';
import { FILE_RECORD, type DirJob, type RestoreBatch, type RestoreReply } from './restore-queue.ts';
import { errorToWire, type WireError } from '../core/worker-error.ts';

/**
 * The thread behind RestoreQueue (see there): creates restored files and applies directory
 * attributes, in the order given. Each file is created under its real name, which must not
 * exist, and removed again if writing it or its attributes fails, so an error never leaves a
 * partial file under the real name. After a failure the rest of the batch and every later one
 * are refused: the restore is over.
 */
const port = parentPort!;
/** The process's umask, which the kernel applies to the mode a file is created with. */
const UMASK = process.umask();
let failed: WireError | null = null;

port.on('message', (msg: RestoreBatch) => {
  if (failed === null) {
    try {
      if ('data' in msg) writeFiles(msg.files, Buffer.from(msg.data));
      else for (const job of msg.dirs) applyDir(job);
    } catch (e) {
      failed = errorToWire(e);
    }
  }
  // the buffer goes back for the next batch
  const data = 'data' in msg ? msg.data : null;
  const reply: RestoreReply = { seq: msg.seq, error: failed, data };
  port.postMessage(reply, data ? [data] : []);
});

/** The batch's file records (FILE_RECORD in restore-queue.ts), in order. */
function writeFiles(count: number, batch: Buffer): void {
  let at = 0;
  for (let i = 0; i < count; i++) {
    const pathLength = batch.readUInt32LE(at);
    const length = batch.readUInt32LE(at + 4);
    const path = at + FILE_RECORD;
    const data = path + pathLength;
    writeFile(
      batch.subarray(path, data),
      batch.subarray(data, data + length),
      batch.readUInt32LE(at + 8),
      batch.readUInt32LE(at + 20) === 1 ? { uid: batch.readUInt32LE(at + 12), gid: batch.readUInt32LE(at + 16) } : null,
      batch.readDoubleLE(at + 24),
    );
    at = data + length;
  }
}

function applyDir(job: DirJob): void {
  const path = Buffer.from(job.path);
  if (job.chown) fs.lchownSync(path, job.uid, job.gid);
  fs.chmodSync(path, job.mode);
  fs.lutimesSync(path, new Date(), new Date(job.mtimeMs));
}

function writeFile(path: Buffer, data: Buffer, fileMode: number, owner: { uid: number; gid: number } | null, mtimeMs: number): void {
  // The queue serves restores into an empty or new directory only (never --force), so the real
  // name is created here, exclusively: nothing already there is ever replaced (EEXIST fails the
  // restore). A temporary name and a rename cost as much kernel time again (bench/RESULTS.md).
  // Created with its final permissions when the umask leaves them as they are and there are no
  // setuid, setgid or sticky bits (which chown would clear): one system call less per file.
  const mode = fileMode & 0o7777;
  const createMode = (mode & 0o7000) === 0 && (mode & UMASK) === 0 ? mode : 0o600;
  const fd = fs.openSync(path, CREATE_NEW, createMode);
  try {
    for (let off = 0; off < data.length; ) off += fs.writeSync(fd, data, off, data.length - off);
    if (owner !== null) fs.fchownSync(fd, owner.uid, owner.gid);
    if (createMode !== mode) fs.fchmodSync(fd, mode);
    fs.futimesSync(fd, new Date(), new Date(mtimeMs));
    fs.closeSync(fd);
  } catch (e) {
    try {
      fs.closeSync(fd);
    } catch {
      /* already closed */
    }
    // ours (created above): an error never leaves a partial file under the real name
    fs.rmSync(path, { force: true });
    throw e;
  }
}

const CREATE_NEW = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW;
