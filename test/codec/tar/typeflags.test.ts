import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EntryType } from '../../../src/core/entry.ts';
import { entryTypeOfTypeflag, typeflagCarriesData, typeflagOf } from '../../../src/codec/tar/typeflags.ts';

test('entry types map to the typeflags of docs/duplicity-format.md §3.4 and back', () => {
  const spec: Array<[EntryType, string]> = [
    ['reg', '0'],
    ['dir', '5'],
    ['sym', '2'],
    ['fifo', '6'],
    ['chr', '3'],
    ['blk', '4'],
  ];
  for (const [type, flag] of spec) {
    assert.equal(typeflagOf(type), flag.charCodeAt(0));
    assert.equal(entryTypeOfTypeflag(flag.charCodeAt(0)), type);
  }
  assert.equal(entryTypeOfTypeflag(0), 'reg');
  assert.equal(entryTypeOfTypeflag('7'.charCodeAt(0)), 'reg');
  assert.equal(entryTypeOfTypeflag('1'.charCodeAt(0)), null, 'hard links are not supported');
  assert.equal(entryTypeOfTypeflag('x'.charCodeAt(0)), null);
});

test("data follows exactly the types Python's tarfile skips data for", () => {
  // tarfile: `isreg() or type not in SUPPORTED_TYPES`; links, devices, dirs and fifos carry none.
  for (const flag of '123456') assert.equal(typeflagCarriesData(flag.charCodeAt(0)), false, flag);
  for (const flag of ['0', '7', '\0', 'x', 'L', 'D', 'V']) assert.equal(typeflagCarriesData(flag.charCodeAt(0)), true, flag);
});
