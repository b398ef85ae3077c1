import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { formatSubject } from '../../src/daemon/subject.ts';
import { LogExcerpt, redactor } from '../../src/daemon/log-excerpt.ts';
import { estimateRunCost } from '../../src/daemon/cost-estimate.ts';
import { builtinPricing } from '../../src/pricing/pricing-table.ts';
import type { RequestSummary } from '../../src/backend/request-accounting.ts';

test("formatSubject is Python's str.format for the image's fields", () => {
  const fields = { hostname: 'srcname.backup', periodicity: 'daily', result: 'OK' };
  const templates = ['Backup report: {hostname} - {periodicity} - {result}', '{{literal}} {result}{result}', 'no fields', '}}{{'];
  const expected = JSON.parse(
    execFileSync('python3', ['-c', 'import json,sys\nd=json.load(sys.stdin)\nprint(json.dumps([t.format(**d["f"]) for t in d["t"]]))'], {
      input: JSON.stringify({ f: fields, t: templates }),
    }).toString(),
  ) as string[];
  assert.deepEqual(
    templates.map((t) => formatSubject(t, fields)),
    expected,
  );
  assert.throws(() => formatSubject('{host}', fields), /unknown field \{host\}/);
  assert.throws(() => formatSubject('a { b', fields), /single "\{"/);
});

test('LogExcerpt keeps the first quarter and the last three quarters of its limit, whole lines at the cut, and counts the rest', () => {
  const e = new LogExcerpt(1000);
  const lines = Array.from({ length: 500 }, (_, i) => `line ${i}\n`);
  for (const l of lines) e.write(Buffer.from(l));
  const all = lines.join('');
  assert.equal(e.totalBytes, Buffer.byteLength(all));
  const text = e.text();
  const [, tail] = text.split(/\[\.\.\. \d+ bytes of output left out \.\.\.\]\n/);
  assert.ok(text.startsWith(all.slice(0, 250)), 'the head is the first quarter of the limit');
  assert.ok(all.endsWith(tail!), 'the tail is the end of the output');
  assert.ok(tail!.startsWith('line '), 'the tail starts at a line');
  assert.ok(Buffer.byteLength(tail!) <= 750);
  const skipped = Number(/\[\.\.\. (\d+) bytes/.exec(text)![1]);
  assert.equal(250 + skipped + Buffer.byteLength(tail!), e.totalBytes, 'head + left out + tail = the whole output');
  assert.ok(Buffer.byteLength(text) < 1100);
  const small = new LogExcerpt(1000);
  small.write(Buffer.from('short\n'));
  assert.equal(small.text(), 'short\n');
});

test('redactor replaces every secret value, longest first', () => {
  const r = redactor(['hunter22', 'hunter22-and-more', undefined, 'abc']);
  assert.equal(r('x hunter22-and-more y hunter22 abc'), 'x [redacted] y [redacted] abc');
  // whole tokens only: a secret glued inside a longer word is not cut out of it
  assert.equal(redactor(['pass'])('passphrase pass=pass'), 'passphrase [redacted]=[redacted]');
});

test('estimateRunCost: requests at each class PUT price, LIST and GET; storage at the class price with the archive overhead', () => {
  const p = builtinPricing();
  const summary: RequestSummary = {
    requests: {
      put: 2,
      multipartCreate: 1,
      multipartPart: 3,
      multipartComplete: 1,
      multipartAbort: 0,
      get: 10,
      list: 2,
      head: 0,
      delete: 0,
      restore: 0,
      other: 0,
      total: 19,
    },
    putClassRequests: 9,
    retries: 0,
    failed: 0,
    uploaded: {
      objects: 3,
      bytes: 3 * 2 ** 30,
      byClass: { DEEP_ARCHIVE: { objects: 1, bytes: 2 ** 31 }, STANDARD: { objects: 2, bytes: 2 ** 30 } },
    },
    downloaded: { objects: 0, bytes: 0 },
    listed: null,
  };
  const da = p.classes['DEEP_ARCHIVE']!;
  const st = p.classes['STANDARD']!;
  // 3 objects: 1 DA PUT + 2 STANDARD PUTs; 9 PUT-class - 2 LIST - 3 objects = 4 more writes (the
  // multipart upload's create, parts and complete beyond one) at DEEP_ARCHIVE's price (most bytes).
  const requests = (1 * da.putPer1000 + 2 * st.putPer1000 + 4 * da.putPer1000 + 2 * p.listPer1000 + 10 * st.getPer1000) / 1000;
  const storage =
    2 * da.storageGBMonth + (32768 / 2 ** 30) * da.storageGBMonth + (8192 / 2 ** 30) * st.storageGBMonth + 1 * st.storageGBMonth;
  const cost = estimateRunCost(summary, p);
  assert.ok(Math.abs(cost.requests - requests) < 1e-12, `${cost.requests} vs ${requests}`);
  assert.ok(Math.abs(cost.storagePerMonth - storage) < 1e-12, `${cost.storagePerMonth} vs ${storage}`);
});
