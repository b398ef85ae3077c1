import type { ChunkQueue } from '../chunk-queue.ts';
import { OpenPgpError } from './errors.ts';

/**
 * Packet framing (RFC 4880 §4.2): old-format headers (1, 2, 4-byte or indeterminate lengths) and
 * new-format headers (1, 2, 5-byte or partial lengths), read from a ChunkQueue; and the new-format
 * headers this code writes.
 */
export interface PacketHeader {
  readonly tag: number;
  readonly kind: 'definite' | 'partial' | 'indeterminate';
  /** definite: the body length; partial: the first part's length; indeterminate: 0 */
  readonly length: number;
}

/** The next packet's header, or null at the clean end of the stream. */
export async function readPacketHeader(q: ChunkQueue): Promise<PacketHeader | null> {
  if (!(await q.ensure(1))) return null;
  const b = q.take(1)[0]!;
  if ((b & 0x80) === 0)
    throw new OpenPgpError('format', `not an OpenPGP packet (byte 0x${b.toString(16).padStart(2, '0')} at offset ${q.consumed - 1})`);
  if (b & 0x40) {
    const tag = b & 0x3f;
    const len = await readNewLength(q);
    return { tag, ...len };
  }
  const tag = (b >> 2) & 0x0f;
  const lt = b & 3;
  if (lt === 3) return { tag, kind: 'indeterminate', length: 0 };
  const n = lt === 0 ? 1 : lt === 1 ? 2 : 4;
  await need(q, n);
  const bytes = q.take(n);
  const length = n === 1 ? bytes[0]! : n === 2 ? bytes.readUInt16BE(0) : bytes.readUInt32BE(0);
  return { tag, kind: 'definite', length };
}

/** A new-format length: definite, or the size of one partial part. */
export async function readNewLength(q: ChunkQueue): Promise<{ kind: 'definite' | 'partial'; length: number }> {
  await need(q, 1);
  const o1 = q.take(1)[0]!;
  if (o1 < 192) return { kind: 'definite', length: o1 };
  if (o1 < 224) {
    await need(q, 1);
    return { kind: 'definite', length: ((o1 - 192) << 8) + q.take(1)[0]! + 192 };
  }
  if (o1 === 255) {
    await need(q, 4);
    return { kind: 'definite', length: q.take(4).readUInt32BE(0) };
  }
  return { kind: 'partial', length: 1 << (o1 & 0x1f) };
}

/**
 * A packet's body as it arrives, across partial-length parts; pieces are at most `maxPiece` bytes
 * and may share memory with the source. An indeterminate body runs to the end of the stream.
 * Small parts (gpg writes 8 KiB ones) that are already buffered are joined into one piece, so that
 * the layers above see few large pieces.
 */
export async function* packetBody(q: ChunkQueue, header: PacketHeader, maxPiece = 1 << 20): AsyncGenerator<Buffer> {
  if (header.kind === 'indeterminate') {
    while (q.buffered > 0 || (await q.ensure(1))) yield q.take(Math.min(q.buffered, maxPiece));
    return;
  }
  let part = header.length;
  let partial = header.kind === 'partial';
  const held: Buffer[] = [];
  let heldBytes = 0;
  const release = (): Buffer => {
    const out = held.length === 1 ? held[0]! : Buffer.concat(held, heldBytes);
    held.length = 0;
    heldBytes = 0;
    return out;
  };
  for (;;) {
    while (part > 0) {
      if (q.buffered === 0) {
        if (heldBytes > 0) yield release();
        await need(q, 1);
      }
      const n = Math.min(part, q.buffered, maxPiece - heldBytes);
      part -= n;
      held.push(q.take(n));
      heldBytes += n;
      if (heldBytes >= maxPiece || (held.length > 1 && heldBytes >= JOIN_TARGET)) yield release();
    }
    if (!partial) break;
    if (q.buffered < 5 && heldBytes > 0) yield release();
    const next = await readNewLength(q);
    part = next.length;
    partial = next.kind === 'partial';
  }
  if (heldBytes > 0) yield release();
}

const JOIN_TARGET = 256 * 1024;

/** A small packet's whole body; longer than `max` is an error (hostile input must not allocate). */
export async function readSmallBody(q: ChunkQueue, header: PacketHeader, max: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let total = 0;
  for await (const piece of packetBody(q, header, max + 1)) {
    total += piece.length;
    if (total > max) throw new OpenPgpError('format', `packet of type ${header.tag} longer than ${max} bytes`);
    parts.push(Buffer.from(piece));
  }
  return Buffer.concat(parts, total);
}

async function need(q: ChunkQueue, n: number): Promise<void> {
  if (!(await q.ensure(n))) throw new OpenPgpError('format', 'truncated OpenPGP data');
}

/** A new-format header with a definite length. */
export function definiteHeader(tag: number, length: number): Buffer {
  const ctb = 0xc0 | tag;
  if (length < 192) return Buffer.from([ctb, length]);
  if (length < 8384) {
    const v = length - 192;
    return Buffer.from([ctb, (v >> 8) + 192, v & 0xff]);
  }
  const b = Buffer.alloc(6);
  b[0] = ctb;
  b[1] = 255;
  b.writeUInt32BE(length, 2);
  return b;
}

/** A definite length without the tag byte (the last part of a partial-length body). */
export function definiteLength(length: number): Buffer {
  return definiteHeader(0, length).subarray(1);
}

/** The length octet of a partial part of 2^log2 bytes. */
export function partialLengthOctet(log2: number): number {
  if (log2 < 0 || log2 > 30) throw new RangeError(`partial length 2^${log2} out of range`);
  return 224 + log2;
}
