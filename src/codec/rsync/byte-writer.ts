/**
 * Append-only output buffer for the signature and delta encoders: fixed-size pieces filled in
 * place, joined once when the caller takes the output, so producing N bytes costs O(N) copying
 * however many small writes made them.
 */

const DEFAULT_PIECE_SIZE = 64 * 1024;
// Pieces start small and double: a backup makes one writer per file, and most files are small, so
// a full-size first piece would churn 64 KiB of native memory per file.
const FIRST_PIECE_SIZE = 512;
// Below this, handing the caller a view would pin a whole piece for a few bytes; copy instead.
const SMALL_TAKE = 4096;

export class ByteWriter {
  readonly #pieceSize: number;
  #nextSize: number;
  #pieces: Buffer[] = [];
  #piecesLength = 0;
  /** The piece being filled; valid bytes are `[0, fill)`. */
  current: Buffer;
  fill = 0;

  constructor(pieceSize: number = DEFAULT_PIECE_SIZE) {
    this.#pieceSize = pieceSize;
    this.#nextSize = Math.min(FIRST_PIECE_SIZE, pieceSize);
    this.current = Buffer.allocUnsafe(this.#nextSize);
  }

  /** Bytes written and not yet taken. */
  get length(): number {
    return this.#piecesLength + this.fill;
  }

  /**
   * Makes room for `n` contiguous bytes in `current` and returns their offset; the caller writes
   * them there. `n` must not exceed the piece size.
   */
  reserve(n: number): number {
    if (this.fill + n > this.current.length) this.#nextPiece(n);
    const at = this.fill;
    this.fill += n;
    return at;
  }

  byte(value: number): void {
    if (this.fill === this.current.length) this.#nextPiece(1);
    this.current[this.fill++] = value;
  }

  uint32BE(value: number): void {
    const at = this.reserve(4);
    this.current.writeUInt32BE(value, at);
  }

  /** Big-endian unsigned integer of `width` bytes (1, 2, 4 or 8); `value` must be a safe integer. */
  uintBE(value: number, width: number): void {
    const at = this.reserve(width);
    const buf = this.current;
    if (width === 8) {
      buf.writeUInt32BE(Math.floor(value / 0x100000000), at);
      buf.writeUInt32BE(value >>> 0, at + 4);
    } else {
      buf.writeUIntBE(value, at, width);
    }
  }

  bytes(src: Uint8Array, start: number, end: number): void {
    while (start < end) {
      if (this.fill === this.current.length) this.#nextPiece(1);
      const n = Math.min(end - start, this.current.length - this.fill);
      this.current.set(src.subarray(start, start + n), this.fill);
      this.fill += n;
      start += n;
    }
  }

  /** Everything written since the last take, as one Buffer owned by the caller. */
  take(): Buffer {
    let result: Buffer;
    if (this.#pieces.length === 0) {
      if (this.fill === 0) return Buffer.alloc(0);
      if (this.fill < SMALL_TAKE) {
        result = Buffer.from(this.current.subarray(0, this.fill));
      } else {
        result = this.current.subarray(0, this.fill);
        this.current = Buffer.allocUnsafe(this.#nextSize);
      }
    } else {
      this.#pieces.push(this.current.subarray(0, this.fill));
      result = Buffer.concat(this.#pieces, this.#piecesLength + this.fill);
      this.#pieces = [];
      this.#piecesLength = 0;
    }
    this.fill = 0;
    return result;
  }

  #nextPiece(needed: number): void {
    if (this.fill > 0) {
      this.#pieces.push(this.current.subarray(0, this.fill));
      this.#piecesLength += this.fill;
    }
    this.#nextSize = Math.min(this.#nextSize * 2, this.#pieceSize);
    this.current = Buffer.allocUnsafe(Math.max(this.#nextSize, needed));
    this.fill = 0;
  }
}
