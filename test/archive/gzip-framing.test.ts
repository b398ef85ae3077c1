import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, gunzipSync, gzipSync, inflateRawSync } from 'node:zlib';
import { deflateParts, GZIP_HEADER, gzipTrailer, looksIncompressible, MIN_STORED } from '../../src/archive/gzip-framing.ts';
import { RunDeflater } from '../../src/archive/run-deflater.ts';
import { FileByteSink } from '../../src/archive/byte-sink.ts';
import { ZeroParts } from '../../src/archive/zero-parts.ts';
import { Rng } from '../support/rng.ts';
import { tmpDir } from '../support/tmp.ts';

const PYTHON = process.env['PERMAFROST_PYTHON'] ?? '/usr/bin/python3';

/** Python's gzip module (what duplicity reads volumes with) decompresses `file`; returns the MD5. */
function pythonGunzipMd5(file: string): string {
  const r = spawnSync(PYTHON, ['-c', 'import gzip,hashlib,sys; print(hashlib.md5(gzip.open(sys.argv[1]).read()).hexdigest())', file], {
    encoding: 'utf8',
  });
  if (r.error) throw new Error(`cannot run ${PYTHON} (apt-get install python3): ${r.error.message}`);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

const text = (rng: Rng, n: number): Buffer => rng.words(n);

function random(rng: Rng, n: number): Buffer {
  return rng.bytes(n);
}

/** tar-like parts: 512-byte headers, data of mixed kinds, zero padding. */
function tarLikeParts(rng: Rng, files: number): Buffer[] {
  const parts: Buffer[] = [];
  for (let i = 0; i < files; i++) {
    const header = Buffer.alloc(512);
    header.write(`file-${i}`, 0);
    parts.push(header);
    const size = 1 + rng.int(9000);
    parts.push(rng.int(2) === 0 ? text(rng, size) : random(rng, size));
    if (size % 512) parts.push(Buffer.alloc(512 - (size % 512)));
  }
  return parts;
}

function gzipOf(parts: Buffer[]): Buffer {
  const data = Buffer.concat(parts);
  return Buffer.concat([
    GZIP_HEADER,
    ...deflateParts(
      data,
      parts.map((p) => p.length),
      new RunDeflater(6),
    ),
    gzipTrailer(crc32(data), data.length),
  ]);
}

describe('looksIncompressible', () => {
  const rng = new Rng(7);
  it('says yes for random bytes of MIN_STORED bytes and more', () => {
    for (const n of [MIN_STORED, 4096, 65536]) assert.equal(looksIncompressible(random(rng, n)), true, `random ${n}`);
  });
  it('says no for text, zeros, short parts, and little-endian records whose high bytes are zero', () => {
    assert.equal(looksIncompressible(text(rng, 8192)), false);
    assert.equal(looksIncompressible(Buffer.alloc(8192)), false);
    assert.equal(looksIncompressible(random(rng, MIN_STORED - 1)), false);
    const records = Buffer.alloc(65536);
    for (let i = 0; i < records.length; i += 4) records.writeUInt32LE(rng.int(65536), i);
    assert.equal(looksIncompressible(records), false);
    // and deflate agrees that these compress well
    assert.ok(gzipSync(records).length < records.length * 0.8);
  });
});

describe('deflateParts in a gzip frame', () => {
  it('round-trips mixed tar-like data through zlib, and costs no more than one level-6 stream', () => {
    const rng = new Rng(11);
    const parts = tarLikeParts(rng, 400);
    const data = Buffer.concat(parts);
    const gz = gzipOf(parts);
    assert.ok(gunzipSync(gz).equals(data));
    const whole = gzipSync(data, { level: 6 });
    assert.ok(gz.length <= whole.length * 1.01, `${gz.length} vs one stream ${whole.length}`);
  });

  it('stores random parts (output about as long as the input) and splits stored blocks at 65535 bytes', () => {
    const rng = new Rng(12);
    const big = random(rng, 200_000);
    const raw = Buffer.concat(deflateParts(big, [big.length], new RunDeflater(6)));
    // 4 stored blocks of 5 header bytes each
    assert.equal(raw.length, big.length + 4 * 5);
    // not final: inflating the raw stream alone needs the final block that gzipTrailer adds
    const ended = Buffer.concat([raw, gzipTrailer(0, 0).subarray(0, 2)]);
    assert.ok(inflateRawSync(ended).equals(big));
  });

  it("is read by Python's gzip module (duplicity's reader), also when empty", (t) => {
    const dir = tmpDir(t, 'gzip-framing');
    const rng = new Rng(13);
    for (const [name, parts] of [
      ['mixed', tarLikeParts(rng, 300)],
      ['empty', []],
      ['one-random', [random(rng, 70_000)]],
    ] as const) {
      const file = join(dir, `${name}.gz`);
      const gz = gzipOf([...parts]);
      spawnSync('sh', ['-c', 'cat > "$1"', 'sh', file], { input: gz });
      assert.equal(pythonGunzipMd5(file), md5(Buffer.concat([...parts])), name);
    }
  });

  it('rejects lengths that do not add up to the data', () => {
    assert.throws(() => deflateParts(Buffer.alloc(10), [4, 4], new RunDeflater(6)), /add up/);
  });
});

/** tar-like parts of a sparse file: headers, 64 KiB chunks of zeros or data, a short last chunk, padding. */
function sparseLikeParts(rng: Rng, chunks: number): Buffer[] {
  const parts: Buffer[] = [];
  for (let i = 0; i < chunks; i++) {
    const header = Buffer.alloc(512);
    header.write(`multivol_snapshot/disk.img/${i + 1}`, 0);
    parts.push(header);
    const last = i === chunks - 1;
    const size = last ? 5000 + rng.int(60_000) : 65536;
    parts.push(rng.int(3) === 0 ? random(rng, size) : Buffer.alloc(size));
    if (size % 512) parts.push(Buffer.alloc(512 - (size % 512)));
  }
  return parts;
}

describe('ZeroParts: runs of zeros deflated and checksummed once', () => {
  it("finds the zero parts; the gzip made with them inflates to the data and its CRC-32 is zlib's", () => {
    const rng = new Rng(31);
    const zeros = new ZeroParts();
    const deflater = new RunDeflater(1);
    for (let round = 0; round < 4; round++) {
      const parts = [...sparseLikeParts(rng, 12), ...tarLikeParts(rng, 20)];
      const data = Buffer.concat(parts);
      const lengths = parts.map((p) => p.length);
      assert.equal(zeros.scan(data, lengths), true);
      lengths.forEach((length, i) => {
        const isZeroPart = length >= 4096 && length <= 65536 && parts[i]!.equals(Buffer.alloc(length));
        assert.equal(zeros.isZero(i), isZeroPart, `part ${i} (${length} bytes)`);
      });
      const crc = zeros.crc32(data, lengths, 0x1234abcd);
      assert.equal(crc, crc32(data, 0x1234abcd));
      const gz = Buffer.concat([GZIP_HEADER, ...deflateParts(data, lengths, deflater, zeros), gzipTrailer(crc32(data), data.length)]);
      assert.ok(gunzipSync(gz).equals(data));
    }
    // no zero parts: nothing flagged
    const plain = tarLikeParts(rng, 10);
    assert.equal(
      zeros.scan(
        Buffer.concat(plain),
        plain.map((p) => p.length),
      ),
      false,
    );
  });
});

describe('FileByteSink with gzip (worker thread)', () => {
  it('writes a gzip file Python reads, and reports its size and SHA1; two sinks at once', async (t) => {
    const dir = tmpDir(t, 'byte-sink');
    const rng = new Rng(21);
    const a = { path: join(dir, 'a.gz'), parts: tarLikeParts(rng, 1500) };
    const b = { path: join(dir, 'b.gz'), parts: tarLikeParts(rng, 700) };
    const sa = new FileByteSink(a.path, { gzip: true, sha1: true });
    const sb = new FileByteSink(b.path, { gzip: true, sha1: false });
    let maxEstimate = 0;
    for (let i = 0; i < Math.max(a.parts.length, b.parts.length); i++) {
      if (a.parts[i]) await sa.write([a.parts[i]!]);
      if (b.parts[i]) await sb.write([b.parts[i]!]);
      maxEstimate = Math.max(maxEstimate, sa.estimatedSize);
    }
    const ra = await sa.close();
    const rb = await sb.close();
    const fa = readFileSync(a.path);
    assert.equal(ra.size, fa.length);
    assert.equal(ra.sha1, createHash('sha1').update(fa).digest('hex'));
    assert.equal(rb.sha1, null);
    assert.equal(rb.size, readFileSync(b.path).length);
    assert.equal(pythonGunzipMd5(a.path), md5(Buffer.concat(a.parts)));
    assert.equal(pythonGunzipMd5(b.path), md5(Buffer.concat(b.parts)));
    // the estimate that drives volume rotation never undercounts the final size by more than a batch
    assert.ok(maxEstimate + 512 * 1024 >= fa.length, `estimate ${maxEstimate}, file ${fa.length}`);
  });

  it("a sparse file's chunks of zeros (deflated once per length): Python reads the file, CRC and all", async (t) => {
    const dir = tmpDir(t, 'byte-sink');
    const rng = new Rng(24);
    const parts = sparseLikeParts(rng, 200);
    const path = join(dir, 'sparse.gz');
    const sink = new FileByteSink(path, { gzip: true, sha1: true });
    for (const p of parts) await sink.write([p]);
    await sink.close();
    assert.equal(pythonGunzipMd5(path), md5(Buffer.concat(parts)));
  });

  it('keeps the estimate current while the caller never yields to the event loop', async (t) => {
    // the packer reads files synchronously: without back-pressure on the worker's replies the
    // estimate would stay near zero and a volume would grow past --volsize
    const dir = tmpDir(t, 'byte-sink');
    const rng = new Rng(22);
    const sink = new FileByteSink(join(dir, 'c.gz'), { gzip: true, sha1: true });
    const chunk = random(rng, 65536);
    let written = 0;
    for (let i = 0; i < 300; i++) {
      await sink.write([chunk]);
      written += chunk.length;
    }
    assert.ok(sink.estimatedSize >= written * 0.95, `estimate ${sink.estimatedSize} after ${written} random bytes`);
    await sink.close();
  });

  it('reports a file it cannot create as the system call error it is (the CLI maps it to exit 52)', async (t) => {
    const dir = tmpDir(t, 'byte-sink');
    const sink = new FileByteSink(join(dir, 'missing', 'f.gz'), { gzip: true, sha1: true });
    await assert.rejects(
      async () => {
        await sink.write([Buffer.alloc(300_000, 1)]);
        await sink.close();
      },
      { code: 'ENOENT', syscall: 'open' },
    );
  });

  it('can be abandoned mid-way without hanging the process', async (t) => {
    const dir = tmpDir(t, 'byte-sink');
    const rng = new Rng(23);
    const sink = new FileByteSink(join(dir, 'd.gz'), { gzip: true, sha1: true });
    for (const p of tarLikeParts(rng, 200)) await sink.write([p]);
    sink.destroy();
    // a new sink after the abandoned one still works
    const again = new FileByteSink(join(dir, 'e.gz'), { gzip: true, sha1: false });
    const parts = tarLikeParts(rng, 50);
    for (const p of parts) await again.write([p]);
    await again.close();
    assert.ok(gunzipSync(readFileSync(join(dir, 'e.gz'))).equals(Buffer.concat(parts)));
  });
});
