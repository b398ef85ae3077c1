import { parentPort } from 'node:worker_threads';
import { crc32 } from 'node:zlib';
import { deflateParts } from './gzip-framing.ts';
import { RunDeflater } from './run-deflater.ts';
import { ZeroParts } from './zero-parts.ts';
import type { DeflateJob, DeflateJobReply } from './deflate-pool.ts';
import { errorToWire } from '../core/worker-error.ts';

/**
 * A compression thread of the DeflatePool (see there): deflates a batch of one gzip file as
 * deflateParts does on the writer thread, into one output buffer, with the batch's own CRC-32.
 * The bytes are the writer's own: runs start from an empty window, so where a batch is
 * compressed does not change them.
 */
const engines = new Map<number, { deflater: RunDeflater; zeros: ZeroParts }>();
const port = parentPort!;

port.on('message', (job: DeflateJob) => {
  const transfer: ArrayBuffer[] = [job.data];
  let reply: DeflateJobReply;
  try {
    reply = deflateJob(job);
    transfer.push(reply.out!);
  } catch (e) {
    reply = { id: job.id, data: job.data, outLength: 0, crc: 0, error: errorToWire(e) };
  }
  port.postMessage(reply, transfer);
});

function deflateJob(job: DeflateJob): DeflateJobReply {
  let engine = engines.get(job.level);
  if (!engine) engines.set(job.level, (engine = { deflater: new RunDeflater(job.level), zeros: new ZeroParts() }));
  const data = Buffer.from(job.data, 0, job.length);
  const zeros = engine.zeros.scan(data, job.lengths) ? engine.zeros : null;
  const crc = zeros ? zeros.crc32(data, job.lengths, 0) : crc32(data, 0);
  const pieces = deflateParts(data, job.lengths, engine.deflater, zeros);
  let total = 0;
  for (const p of pieces) total += p.length;
  const out = job.out && job.out.byteLength >= total ? Buffer.from(job.out) : Buffer.allocUnsafeSlow(Math.max(total, job.length));
  let at = 0;
  for (const p of pieces) at += p.copy(out, at);
  return { id: job.id, data: job.data, out: out.buffer as ArrayBuffer, outLength: total, crc };
}
