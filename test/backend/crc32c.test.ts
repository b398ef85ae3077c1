import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Crc32c } from '@aws-sdk/checksums/crc';
import { crc32c, crc32cBase64, crc32cCombine } from '../../src/backend/crc32c.ts';

/** The SDK's own CRC-32C, an independent implementation, as the oracle. */
async function sdkCrc32c(data: Uint8Array): Promise<number> {
  const h = new Crc32c();
  h.update(data);
  return Buffer.from(await h.digest()).readUInt32BE(0);
}

test('the check value of CRC-32C (RFC 3720 B.4: "123456789" → 0xE3069283) and of nothing (0)', () => {
  assert.equal(crc32c(Buffer.from('123456789', 'latin1')), 0xe3069283);
  assert.equal(crc32c(Buffer.alloc(0)), 0);
});

test('RFC 3720 B.4 vectors: 32 bytes of zeros, of ones, incrementing, decrementing', () => {
  assert.equal(crc32c(Buffer.alloc(32, 0)), 0x8a9136aa);
  assert.equal(crc32c(Buffer.alloc(32, 0xff)), 0x62a8ab43);
  assert.equal(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => i))), 0x46dd794e);
  assert.equal(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i))), 0x113fdb5c);
});

test('matches the SDK implementation on random data of every alignment', async () => {
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 3000 }), async (data) => {
      assert.equal(crc32c(data), await sdkCrc32c(data));
    }),
    { numRuns: 300 },
  );
});

test('continuing over pieces equals one pass', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2000 }), fc.nat(), (data, cut) => {
      const at = data.length === 0 ? 0 : cut % (data.length + 1);
      assert.equal(crc32c(data.subarray(at), crc32c(data.subarray(0, at))), crc32c(data));
    }),
  );
});

test('combine joins two ranges without rereading them', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2000 }), fc.uint8Array({ maxLength: 2000 }), (a, b) => {
      const whole = Buffer.concat([a, b]);
      assert.equal(crc32cCombine(crc32c(a), crc32c(b), b.length), crc32c(whole));
    }),
    { numRuns: 300 },
  );
});

test('combine works for long second ranges, past 2^32 bytes', () => {
  // against real data: crc(A ‖ zeros) by combine equals continuing the CRC over the zeros
  const a = Buffer.from('permafrost');
  const zeros = Buffer.alloc(3 << 20);
  assert.equal(crc32cCombine(crc32c(a), crc32c(zeros), zeros.length), crc32c(zeros, crc32c(a)));
  // beyond what can be materialised: shifting by n1 then n2 equals shifting by n1 + n2
  // (combine(x, 0, n) = x·x^(8n) mod P), for lengths whose bit counts need more than 32 bits
  const x = crc32c(a);
  for (const [n1, n2] of [
    [2 ** 33, 12345],
    [2 ** 32 - 1, 2],
    [5 * 2 ** 30, 5 * 2 ** 30],
  ] as const) {
    assert.equal(crc32cCombine(crc32cCombine(x, 0, n1), 0, n2), crc32cCombine(x, 0, n1 + n2), `${n1} + ${n2}`);
  }
});

test('base64 of the big-endian value, as S3 headers carry it', async () => {
  const data = Buffer.from('hello');
  const h = new Crc32c();
  h.update(data);
  assert.equal(crc32cBase64(crc32c(data)), Buffer.from(await h.digest()).toString('base64'));
});
