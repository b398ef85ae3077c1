import { parentPort } from 'node:worker_threads';
import { closeSync, openSync, rmSync, writeSync, writevSync } from 'node:fs';
import type { Hash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { deflateParts, GZIP_HEADER, gzipTrailer } from './gzip-framing.ts';
import { RunDeflater } from './run-deflater.ts';
import { ZeroParts } from './zero-parts.ts';
import { crc32Combine } from './crc32-combine.ts';
import type { ThreadFileReply, ThreadFileRequest } from './thread-file.ts';
import { errorToWire } from '../core/worker-error.ts';

/**
 * The thread behind ThreadFile (see there): per open file it keeps the descriptor, for gzip the
 * deflate state and the CRC-32 and size of the input, and the SHA1 and size of what it wrote, so
 * the main thread only copies tar blocks into batches and hands them over.
 */
interface FileState {
  readonly fd: number;
  readonly path: string;
  /** null: a plain file, written as it comes */
  readonly deflater: RunDeflater | null;
  /** gzip files: runs of zeros, deflated and checksummed once */
  readonly zeros: ZeroParts | null;
  readonly sha1: Hash | null;
  crc: number;
  rawSize: number;
  diskSize: number;
}

const files = new Map<number, FileState>();
const port = parentPort!;

port.on('message', (req: ThreadFileRequest) => {
  let reply: ThreadFileReply;
  const transfer: ArrayBuffer[] = [];
  try {
    reply = handle(req, transfer);
  } catch (e) {
    if (req.op === 'data' || req.op === 'deflated') transfer.push(req.data);
    reply = { id: req.id, written: 0, error: errorToWire(e) };
  }
  port.postMessage(reply, transfer);
});

function handle(req: ThreadFileRequest, transfer: ArrayBuffer[]): ThreadFileReply {
  switch (req.op) {
    case 'stat-ahead':
      // loaded only by an incremental; should it fail, the port closes and the walk says so
      import('../fs/stat-ahead-walker.ts').then(
        (m) => m.runStatAhead(req.port, req.start),
        () => req.port.close(),
      );
      return { id: req.id, written: 0 };
    case 'open': {
      const fd = openSync(req.path, 'w');
      const state: FileState = {
        fd,
        path: req.path,
        deflater: req.level === null ? null : new RunDeflater(req.level),
        zeros: req.level === null ? null : new ZeroParts(),
        // node:crypto loaded on first use: not on the thread's start, which an incremental's walk waits for
        sha1: req.sha1 ? process.getBuiltinModule('node:crypto').createHash('sha1') : null,
        crc: 0,
        rawSize: 0,
        diskSize: 0,
      };
      files.set(req.file, state);
      return { id: req.id, written: state.deflater ? write(state, [GZIP_HEADER]) : 0 };
    }
    case 'data': {
      const state = stateOf(req.file);
      const data = Buffer.from(req.data, 0, req.length);
      state.rawSize += data.length;
      let written: number;
      if (state.deflater) {
        const zeros = state.zeros!.scan(data, req.lengths) ? state.zeros : null;
        state.crc = zeros ? zeros.crc32(data, req.lengths, state.crc) : crc32(data, state.crc);
        written = write(state, deflateParts(data, req.lengths, state.deflater, zeros));
      } else {
        written = write(state, [data]);
      }
      transfer.push(req.data);
      return { id: req.id, written, data: req.data };
    }
    case 'deflated': {
      const state = stateOf(req.file);
      state.rawSize += req.rawLength;
      state.crc = crc32Combine(state.crc, req.crc, req.rawLength);
      const written = write(state, [Buffer.from(req.data, 0, req.length)]);
      transfer.push(req.data);
      return { id: req.id, written, data: req.data };
    }
    case 'end': {
      const state = stateOf(req.file);
      files.delete(req.file);
      let written: number;
      try {
        written = state.deflater ? write(state, [gzipTrailer(state.crc, state.rawSize)]) : 0;
      } finally {
        state.deflater?.close();
        closeSync(state.fd);
      }
      return { id: req.id, written, size: state.diskSize, sha1: state.sha1 ? state.sha1.digest('hex') : null };
    }
    case 'drop': {
      const state = files.get(req.file);
      files.delete(req.file);
      if (state) {
        state.deflater?.close();
        closeSync(state.fd);
        rmSync(state.path, { force: true });
      }
      return { id: req.id, written: 0 };
    }
  }
}

function stateOf(file: number): FileState {
  const state = files.get(file);
  if (!state) throw new Error(`gzip worker: no open file ${file}`);
  return state;
}

function write(state: FileState, pieces: Buffer[]): number {
  let total = 0;
  for (const p of pieces) {
    state.sha1?.update(p);
    total += p.length;
  }
  let skip = total > 0 ? writevSync(state.fd, pieces) : 0;
  if (skip < total) {
    // a short write continues where it stopped (a full disk then fails with ENOSPC)
    for (const p of pieces) {
      if (skip >= p.length) {
        skip -= p.length;
        continue;
      }
      for (let at = skip; at < p.length; ) at += writeSync(state.fd, p, at, p.length - at);
      skip = 0;
    }
  }
  state.diskSize += total;
  return total;
}
