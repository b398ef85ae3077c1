import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeFsName, encodeFsName } from '../../src/fs/fs-name.ts';
import { PYTHON } from './helpers.ts';

describe('file-name decoding (os.fsdecode)', () => {
  it("decodes like python's surrogateescape, and encodes back to the same bytes (property)", () => {
    const interesting = fc.constantFrom(
      0x00,
      0x2f,
      0x41,
      0x7f,
      0x80,
      0xbf,
      0xc0,
      0xc2,
      0xc3,
      0xa9,
      0xe0,
      0xed,
      0xa0,
      0xef,
      0xf0,
      0x90,
      0xf4,
      0x8f,
      0xf5,
      0xff,
    );
    const bytes = fc.array(fc.oneof(fc.integer({ min: 0, max: 255 }), interesting), { maxLength: 12 }).map((a) => Buffer.from(a));
    const samples = fc.sample(bytes, { numRuns: 500, seed: 3 });
    samples.push(
      Buffer.from('héllo wörld €𝄞', 'utf8'),
      Buffer.from([0xed, 0xa0, 0x80]),
      Buffer.from([0xf4, 0x90, 0x80, 0x80]),
      Buffer.from([0xe2, 0x82]),
    );
    const script = `
import json, os, sys
json.dump([[ord(c) for c in bytes.fromhex(h).decode('utf-8', 'surrogateescape')] for h in json.load(sys.stdin)], sys.stdout)`;
    const expected = JSON.parse(
      execFileSync(PYTHON, ['-c', script], { input: JSON.stringify(samples.map((s) => s.toString('hex'))) }).toString(),
    ) as number[][];
    samples.forEach((s, i) => {
      const decoded = decodeFsName(s);
      assert.deepEqual(
        Array.from(decoded, (c) => c.codePointAt(0)),
        expected[i],
        s.toString('hex'),
      );
      assert.ok(encodeFsName(decoded).equals(s), `round trip ${s.toString('hex')}`);
    });
  });

  it('refuses to encode surrogates that are not escaped bytes', () => {
    assert.throws(() => encodeFsName('a\ud800b'), /unpaired surrogate/);
    assert.throws(() => encodeFsName('\udc10'), /unpaired surrogate/);
  });
});
