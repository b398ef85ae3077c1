/**
 * Decodes a whole delta into its command list: for tests, debugging and inspecting remote data.
 */

import { DeltaEvent, DeltaParser } from './delta-parser.ts';

export type DeltaCommand =
  | { kind: 'literal'; opcode: number; data: Buffer }
  | { kind: 'copy'; opcode: number; offset: number; length: number }
  | { kind: 'end' };

export function decodeDelta(delta: Uint8Array): DeltaCommand[] {
  const parser = new DeltaParser();
  const commands: DeltaCommand[] = [];
  let literalPieces: Buffer[] = [];
  let literalOpcode = 0;
  const endLiteral = (): void => {
    if (literalPieces.length === 0) return;
    commands.push({ kind: 'literal', opcode: literalOpcode, data: Buffer.concat(literalPieces) });
    literalPieces = [];
  };
  parser.push(delta);
  for (let ev = parser.next(); ev !== DeltaEvent.NeedInput; ev = parser.next()) {
    if (ev === DeltaEvent.Literal) {
      if (parser.literalFirst) {
        endLiteral();
        literalOpcode = parser.opcode;
      }
      literalPieces.push(parser.literal);
      continue;
    }
    endLiteral();
    if (ev === DeltaEvent.Copy) {
      commands.push({ kind: 'copy', opcode: parser.opcode, offset: parser.copyOffset, length: parser.copyLength });
    } else {
      commands.push({ kind: 'end' });
    }
  }
  parser.finish();
  return commands;
}

/** One line per command, e.g. `COPY 0,69632 (0x47)` and `LITERAL 512 (0x42)`, as in docs/duplicity-format.md §10.3. */
export function formatDeltaCommands(commands: readonly DeltaCommand[]): string[] {
  const hex = (op: number): string => `0x${op.toString(16).padStart(2, '0')}`;
  return commands.map((c) => {
    if (c.kind === 'copy') return `COPY ${c.offset},${c.length} (${hex(c.opcode)})`;
    if (c.kind === 'literal') return `LITERAL ${c.data.length} (${hex(c.opcode)})`;
    return 'END';
  });
}
