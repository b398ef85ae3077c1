/**
 * The body of a PAX extended header: records `"<len> <key>=<value>\n"`, where <len> counts the
 * whole record, itself included. Values are bytes: UTF-8 normally, raw bytes after
 * `hdrcharset=BINARY`; either way we keep them as they are.
 */

export type PaxRecord = readonly [key: string, value: Buffer];

export const HDRCHARSET_BINARY: PaxRecord = ['hdrcharset', Buffer.from('BINARY', 'latin1')];

/** Python's `_create_pax_generic_header()` body: records in the given order, no padding. */
export function encodePaxRecords(records: ReadonlyArray<PaxRecord>): Buffer {
  const parts: Buffer[] = [];
  let total = 0;
  for (const [key, value] of records) {
    const keyBytes = Buffer.from(key, 'utf8');
    const bare = keyBytes.length + value.length + 3; // ' ', '=', '\n'
    // The length prefix counts its own digits; iterate to the fixed point as Python does.
    let p = 0;
    for (;;) {
      const n = bare + String(p).length;
      if (n === p) break;
      p = n;
    }
    const head = Buffer.from(`${p} ${key}=`, 'utf8');
    parts.push(head, value, NEWLINE);
    total += p;
  }
  return Buffer.concat(parts, total);
}

const NEWLINE = Buffer.from('\n', 'latin1');

/**
 * Parses a PAX header body with Python's `_proc_pax()` framing checks. Parsing stops at a NUL
 * where a record would start (the block padding). `where` goes into error messages.
 */
export function parsePaxRecords(body: Buffer, where: string): PaxRecord[] {
  const out: PaxRecord[] = [];
  let pos = 0;
  while (pos < body.length && body[pos] !== 0) {
    let i = pos;
    let length = 0;
    while (i < body.length && i - pos < 20 && body[i]! >= 0x30 && body[i]! <= 0x39) {
      length = length * 10 + (body[i]! - 0x30);
      i++;
    }
    if (i === pos || body[i] !== 0x20) throw new Error(`invalid PAX record ${where}`);
    // Shortest legal record: "5 x=\n".
    if (length < 5 || pos + length > body.length) throw new Error(`invalid PAX record ${where}`);
    const end = pos + length - 1; // the '\n'
    if (body[end] !== 0x0a) throw new Error(`invalid PAX record ${where}`);
    const eq = body.indexOf(0x3d, i + 1);
    if (eq < 0 || eq >= end || eq === i + 1) throw new Error(`invalid PAX record ${where}`);
    const key = body.toString('utf8', i + 1, eq);
    out.push([key, Buffer.from(body.subarray(eq + 1, end))]);
    pos += length;
  }
  return out;
}
