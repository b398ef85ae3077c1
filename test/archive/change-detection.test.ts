/**
 * The stamp comparison, the racy-read rule and the records that carry stamps, on their own: each
 * check must be able to say "changed" by itself, be switched off by its option, and stay silent
 * where a signature entry lacks its record.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stampsAgree } from '../../src/archive/change-detection.ts';
import { recordedStamp, REREAD_RECORD, stampRecords, STAMP_RECORD } from '../../src/archive/change-records.ts';
import { granularityNs, isRacy } from '../../src/archive/racy-read.ts';
import type { FileStamp, RecordedStamp } from '../../src/core/file-stamp.ts';

const S = 1_800_000_000n * 1_000_000_000n;
const stamp: FileStamp = { mtimeNs: S + 123_456_789n, ctimeNs: S + 223_456_789n, ino: 77n };
const recorded = (over: Partial<RecordedStamp> = {}): RecordedStamp => ({
  mtimeNs: stamp.mtimeNs,
  ctimeNs: stamp.ctimeNs,
  ino: stamp.ino,
  reread: null,
  ...over,
});
const ALL = { ignoreCtime: false, ignoreInode: false };

describe('stampsAgree', () => {
  it('agrees with the same stamp, and without records (duplicity, older permafrost)', () => {
    assert.equal(stampsAgree(stamp, recorded(), ALL), true);
    assert.equal(stampsAgree(stamp, null, ALL), true);
    assert.equal(stampsAgree(stamp, recorded({ mtimeNs: null, ctimeNs: null, ino: null }), ALL), true);
  });

  it('each recorded field tells a change alone; --ignore-ctime and --ignore-inode silence theirs', () => {
    assert.equal(stampsAgree(stamp, recorded({ mtimeNs: stamp.mtimeNs + 1n }), { ignoreCtime: true, ignoreInode: true }), false);
    assert.equal(stampsAgree(stamp, recorded({ ctimeNs: stamp.ctimeNs + 1n }), ALL), false);
    assert.equal(stampsAgree(stamp, recorded({ ctimeNs: stamp.ctimeNs + 1n }), { ignoreCtime: true, ignoreInode: false }), true);
    assert.equal(stampsAgree(stamp, recorded({ ino: 78n }), ALL), false);
    assert.equal(stampsAgree(stamp, recorded({ ino: 78n }), { ignoreCtime: false, ignoreInode: true }), true);
  });

  it('a re-read mark means changed, whatever the options', () => {
    assert.equal(stampsAgree(stamp, recorded({ reread: 'racy' }), { ignoreCtime: true, ignoreInode: true }), false);
    assert.equal(stampsAgree(stamp, recorded({ reread: 'size' }), ALL), false);
  });
});

describe('isRacy', () => {
  it('a ctime older than the read by more than the clock slack is safe; a later one, or one within it, is racy', () => {
    assert.equal(isRacy(stamp, stamp.ctimeNs + 1_000_000_000n, ALL), false);
    assert.equal(isRacy(stamp, stamp.ctimeNs + 10_000_000n, ALL), true);
    assert.equal(isRacy(stamp, stamp.ctimeNs - 1n, ALL), true);
  });

  it('with --ignore-ctime the mtime counts', () => {
    const s: FileStamp = { mtimeNs: S + 900_000_001n, ctimeNs: S - 5_000_000_001n, ino: 1n };
    assert.equal(isRacy(s, S + 950_000_000n, ALL), false);
    assert.equal(isRacy(s, S + 950_000_000n, { ignoreCtime: true, ignoreInode: false }), true);
  });

  it('whole-second times widen the window to the coarsest granularity (2 s)', () => {
    const coarse: FileStamp = { mtimeNs: S, ctimeNs: S, ino: 1n };
    assert.equal(granularityNs(coarse), 2_000_000_000n);
    assert.equal(isRacy(coarse, S + 1_900_000_000n, ALL), true);
    assert.equal(isRacy(coarse, S + 2_100_000_000n, ALL), false);
    // an mtime set to the second with a fine ctime: the ctime shows the file system is fine
    assert.equal(granularityNs({ mtimeNs: S, ctimeNs: S + 5n, ino: 1n }), 1n);
    assert.equal(granularityNs({ mtimeNs: -S + 10_000_000n, ctimeNs: S + 30_000_000n, ino: 1n }), 10_000_000n);
  });
});

describe('stamp records', () => {
  it('round-trip, with and without the re-read mark', () => {
    for (const reread of [null, 'racy', 'size']) {
      const map = new Map(stampRecords({ ...stamp, mtimeNs: -stamp.mtimeNs }, reread));
      assert.deepEqual(recordedStamp(map), { mtimeNs: -stamp.mtimeNs, ctimeNs: stamp.ctimeNs, ino: stamp.ino, reread });
    }
  });

  it('are absent from entries without them; a value that does not parse counts as absent', () => {
    assert.equal(recordedStamp(undefined), null);
    assert.equal(recordedStamp(new Map([['PERMAFROST.size', Buffer.from('5')]])), null);
    const odd = new Map([[STAMP_RECORD, Buffer.from('12.5  9')]]);
    assert.deepEqual(recordedStamp(odd), { mtimeNs: null, ctimeNs: null, ino: 9n, reread: null });
    assert.deepEqual(recordedStamp(new Map([[STAMP_RECORD, Buffer.from('0x10')]])), {
      mtimeNs: null,
      ctimeNs: null,
      ino: null,
      reread: null,
    });
    assert.equal(recordedStamp(new Map([[REREAD_RECORD, Buffer.from('')]]))?.reread, 'unknown');
  });
});
