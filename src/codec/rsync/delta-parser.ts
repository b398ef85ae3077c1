/**
 * Incremental parser of librsync deltas (docs/duplicity-format.md §5.2) as untrusted input. Push chunks of any size,
 * then pull events until it asks for more input:
 *
 *   parser.push(chunk);
 *   for (let ev = parser.next(); ev !== DeltaEvent.NeedInput; ev = parser.next()) { … }
 *
 * Literal data is handed out as views of the pushed chunks, a long literal in several pieces, so
 * nothing is ever allocated from a length read off the input.
 */

import {
  DELTA_MAGIC,
  OPERAND_WIDTHS,
  OP_COPY_LAST,
  OP_COPY_N1_N1,
  OP_END,
  OP_LITERAL_MAX_IMMEDIATE,
  OP_LITERAL_N1,
  hex32,
} from './format.ts';

export const DeltaEvent = {
  /** The current chunk is used up: push the next one (or call `finish()` at end of input). */
  NeedInput: 0,
  /** `literal` holds the next piece of literal data (part of a LITERAL command, never empty). */
  Literal: 1,
  /** A COPY command: `copyOffset`, `copyLength`. */
  Copy: 2,
  /** The END command; the delta must end here. */
  End: 3,
} as const;
export type DeltaEvent = (typeof DeltaEvent)[keyof typeof DeltaEvent];

const State = { Magic: 0, Opcode: 1, Operands: 2, LiteralData: 3, Ended: 4 } as const;
type State = (typeof State)[keyof typeof State];

const EMPTY = Buffer.alloc(0);
/** 2^53: lengths and offsets beyond it cannot be exact numbers, and no real file is that big. */
const LIMIT_HIGH_WORD = 0x200000;

export class DeltaParser {
  /** Set by a `Literal` event. */
  literal: Buffer = EMPTY;
  /** Set by a `Literal` event: true when this piece starts a new LITERAL command. */
  literalFirst = false;
  /** Set by a `Copy` event. */
  copyOffset = 0;
  copyLength = 0;

  #chunk: Buffer = EMPTY;
  #at = 0;
  /** Bytes of the delta consumed before `#chunk`, for error positions. */
  #chunkStart = 0;
  #state: State = State.Magic;
  /** Header or operand bytes gathered across chunks. */
  readonly #scratch = Buffer.alloc(16);
  #scratchFill = 0;
  #need = 4;
  #opcode = 0;
  #opcodeOffset = 0;
  #literalLeft = 0;
  #literalFirstPending = false;

  /** Opcode of the command the last event belongs to. */
  get opcode(): number {
    return this.#opcode;
  }

  /** Total delta bytes pushed so far. */
  get bytesPushed(): number {
    return this.#chunkStart + this.#chunk.length;
  }

  /** True once the END command has been read. */
  get ended(): boolean {
    return this.#state === State.Ended;
  }

  push(chunk: Uint8Array): void {
    if (this.#at < this.#chunk.length) throw new Error('DeltaParser: push() before the previous chunk was consumed');
    this.#chunkStart += this.#chunk.length;
    this.#chunk = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    this.#at = 0;
    if (this.#state === State.Ended && chunk.length > 0) this.#trailingData();
  }

  next(): DeltaEvent {
    const chunk = this.#chunk;
    for (;;) {
      switch (this.#state) {
        case State.LiteralData: {
          const n = Math.min(this.#literalLeft, chunk.length - this.#at);
          if (n === 0) return DeltaEvent.NeedInput;
          this.literal = chunk.subarray(this.#at, this.#at + n);
          this.literalFirst = this.#literalFirstPending;
          this.#literalFirstPending = false;
          this.#at += n;
          this.#literalLeft -= n;
          if (this.#literalLeft === 0) this.#state = State.Opcode;
          return DeltaEvent.Literal;
        }
        case State.Opcode: {
          if (this.#at === chunk.length) return DeltaEvent.NeedInput;
          const op = chunk[this.#at]!;
          this.#opcodeOffset = this.#chunkStart + this.#at;
          this.#at++;
          this.#opcode = op;
          if (op === OP_END) {
            this.#state = State.Ended;
            if (this.#at < chunk.length) this.#trailingData();
            return DeltaEvent.End;
          }
          if (op <= OP_LITERAL_MAX_IMMEDIATE) {
            this.#literalLeft = op;
            this.#literalFirstPending = true;
            this.#state = State.LiteralData;
            continue;
          }
          if (op > OP_COPY_LAST) {
            throw new Error(`invalid rsync delta: reserved opcode 0x${op.toString(16)} at byte ${this.#opcodeOffset}`);
          }
          this.#need = op < OP_COPY_N1_N1 ? OPERAND_WIDTHS[op - OP_LITERAL_N1]! : this.#copyWidth(0) + this.#copyWidth(1);
          this.#scratchFill = 0;
          this.#state = State.Operands;
          continue;
        }
        case State.Operands:
        case State.Magic: {
          if (!this.#gather()) return DeltaEvent.NeedInput;
          if (this.#state === State.Magic) {
            const magic = this.#scratch.readUInt32BE(0);
            if (magic !== DELTA_MAGIC) throw new Error(`not an rsync delta: bad magic ${hex32(magic)}`);
            this.#state = State.Opcode;
            continue;
          }
          return this.#command();
        }
        case State.Ended:
          return DeltaEvent.NeedInput;
      }
    }
  }

  /** Declares the end of input; throws unless the delta was complete. */
  finish(): void {
    if (this.#state === State.Ended) return;
    const where = `at byte ${this.bytesPushed}`;
    switch (this.#state) {
      case State.Magic:
        throw new Error(`truncated rsync delta: ${this.bytesPushed} bytes, no complete header`);
      case State.Operands:
        throw new Error(`truncated rsync delta: operands of opcode 0x${this.#opcode.toString(16)} cut off ${where}`);
      case State.LiteralData:
        throw new Error(`truncated rsync delta: literal cut off ${where}, ${this.#literalLeft} bytes missing`);
      default:
        throw new Error(`truncated rsync delta: no END command ${where}`);
    }
  }

  /** Copies header/operand bytes into the scratch buffer; true once `#need` bytes are there. */
  #gather(): boolean {
    const n = Math.min(this.#need - this.#scratchFill, this.#chunk.length - this.#at);
    this.#chunk.copy(this.#scratch, this.#scratchFill, this.#at, this.#at + n);
    this.#scratchFill += n;
    this.#at += n;
    return this.#scratchFill === this.#need;
  }

  #command(): DeltaEvent {
    const op = this.#opcode;
    this.#state = State.Opcode;
    if (op < OP_COPY_N1_N1) {
      const length = this.#operand(0, this.#need, 'literal length');
      if (length === 0) throw new Error(`invalid rsync delta: zero-length LITERAL at byte ${this.#opcodeOffset}`);
      this.#literalLeft = length;
      this.#literalFirstPending = true;
      this.#state = State.LiteralData;
      return this.next();
    }
    const offsetWidth = this.#copyWidth(0);
    this.copyOffset = this.#operand(0, offsetWidth, 'COPY offset');
    this.copyLength = this.#operand(offsetWidth, this.#copyWidth(1), 'COPY length');
    if (this.copyLength === 0) throw new Error(`invalid rsync delta: zero-length COPY at byte ${this.#opcodeOffset}`);
    if (this.copyOffset + this.copyLength > Number.MAX_SAFE_INTEGER) {
      throw new Error(`invalid rsync delta: COPY ${this.copyOffset}+${this.copyLength} out of range at byte ${this.#opcodeOffset}`);
    }
    return DeltaEvent.Copy;
  }

  /** Width of the COPY operand `which` (0 = offset, 1 = length) of the current opcode. */
  #copyWidth(which: number): number {
    const k = this.#opcode - OP_COPY_N1_N1;
    return OPERAND_WIDTHS[which === 0 ? k >> 2 : k & 3]!;
  }

  #operand(at: number, width: number, what: string): number {
    const s = this.#scratch;
    if (width < 8) return s.readUIntBE(at, width);
    const high = s.readUInt32BE(at);
    if (high >= LIMIT_HIGH_WORD) throw new Error(`invalid rsync delta: absurd ${what} at byte ${this.#opcodeOffset}`);
    return high * 0x100000000 + s.readUInt32BE(at + 4);
  }

  #trailingData(): never {
    throw new Error(`invalid rsync delta: data after the END command at byte ${this.#chunkStart + this.#at}`);
  }
}
