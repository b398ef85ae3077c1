/**
 * The manifest's file list as a backup gathers it (FileListWriter): duplicity's line form, in call
 * order across many buffer-fulls and for a path longer than the buffer, and each line's bytes
 * copied at the call (the caller's buffers are not kept: holding them kept Node's pool blocks
 * alive, issue 18's memory).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { quote } from '../../src/codec/quote.ts';
import { indexFromString, indexToBytes, type PathIndex } from '../../src/core/path-index.ts';
import { FileListWriter } from '../../src/ops/backup/file-list.ts';
import { tmpDir } from '../support/tmp.ts';

const TAG = { new: '    new      ', changed: '    changed  ', deleted: '    deleted  ' } as const;

function line(type: keyof typeof TAG, index: PathIndex): Buffer {
  return Buffer.concat([Buffer.from(TAG[type], 'latin1'), quote(indexToBytes(index)), Buffer.from('\n')]);
}

it("writes duplicity's lines in call order, across buffer-fulls and for a path longer than the buffer", (t) => {
  const dir = tmpDir(t);
  const file = join(dir, 'filelist');
  const w = new FileListWriter(file);
  const expected: Buffer[] = [];
  const types = ['new', 'changed', 'deleted'] as const;
  for (let i = 0; i < 5000; i++) {
    const type = types[i % 3]!;
    // some names need quoting (a newline, a quote, a byte that is not UTF-8)
    const index: PathIndex = [Buffer.from(`dir${i % 7}`), Buffer.from(i % 11 === 0 ? `f\n"${i}\xff` : `file-${i}.txt`, 'latin1')];
    w.add(type, index);
    expected.push(line(type, index));
    if (i === 2500) {
      const long: PathIndex = [Buffer.alloc(70_000, 0x61)];
      w.add('new', long);
      expected.push(line('new', long));
    }
  }
  w.close();
  assert.equal(w.count, 5001);
  const got = readFileSync(file);
  assert.equal(got.length, Buffer.concat(expected).length);
  assert.ok(got.equals(Buffer.concat(expected)));
  // the form itself, spelled out: a quoted path (newline and quote escaped, other bytes raw), a plain one
  const lines = got.toString('latin1').split('\n');
  assert.equal(lines[0], '    new      "dir0/f\\x0a\\x220\xff"');
  assert.equal(lines[1], '    changed  dir1/file-1.txt');
});

it('copies each line at the call: the caller may reuse its buffers at once', (t) => {
  const dir = tmpDir(t);
  const file = join(dir, 'filelist');
  const w = new FileListWriter(file);
  const name = Buffer.from('abc');
  w.add('changed', [Buffer.from('d'), name]);
  name.write('xyz');
  w.add('new', indexFromString('d/e'));
  w.close();
  assert.equal(readFileSync(file, 'latin1'), '    changed  d/abc\n    new      d/e\n');
});

it('destroy closes the file without writing what is buffered', (t) => {
  const dir = tmpDir(t);
  const file = join(dir, 'filelist');
  const w = new FileListWriter(file);
  w.add('new', indexFromString('a'));
  w.destroy();
  w.destroy();
  assert.equal(readFileSync(file).length, 0);
});
