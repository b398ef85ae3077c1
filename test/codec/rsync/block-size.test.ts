import assert from 'node:assert/strict';
import { test } from 'node:test';
import { blockSizeFor } from '../../../src/codec/rsync/block-size.ts';

test('blockSizeFor reproduces the verified table of docs/duplicity-format.md §5.1', () => {
  const table: [number, number][] = [
    [0, 512],
    [1023999, 512],
    [1024000, 512],
    [2047999, 512],
    [2048000, 1024],
    [3072000, 1536],
    [4095999, 1536],
    [4096000, 2048],
    [1e9, 2048],
  ];
  for (const [len, expected] of table) assert.equal(blockSizeFor(len), expected, `file length ${len}`);
});

test('blockSizeFor honours --max-blocksize', () => {
  assert.equal(blockSizeFor(1e7, 8192), 9 * 512);
  assert.equal(blockSizeFor(1e10, 8192), 8192);
  assert.equal(blockSizeFor(3072000, 1024), 1024);
  assert.equal(blockSizeFor(1000, 8192), 512);
});

test('blockSizeFor rejects impossible lengths', () => {
  assert.throws(() => blockSizeFor(-1), RangeError);
  assert.throws(() => blockSizeFor(1.5), RangeError);
});
