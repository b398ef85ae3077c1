import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { TarHeader } from '../../../src/codec/tar/header.ts';

/**
 * Python 3.11's tarfile as a test oracle: one long-lived python3 process answering JSON lines.
 * Byte strings cross as hex; Python sees them decoded with surrogateescape, which is how
 * duplicity's names (os.fsdecode) reach tarfile.
 */

const SCRIPT = String.raw`
import io, json, sys, tarfile

def s(h):
    return bytes.fromhex(h).decode('utf-8', 'surrogateescape')

def hx(v):
    return v.encode('utf-8', 'surrogateescape').hex()

def encode(r):
    t = tarfile.TarInfo(s(r['name']))
    t.mode = r['mode']; t.uid = r['uid']; t.gid = r['gid']; t.size = r['size']; t.mtime = r['mtime']
    t.type = bytes([r['typeflag']]); t.linkname = s(r['linkname'])
    t.uname = s(r['uname']); t.gname = s(r['gname'])
    t.devmajor = r['devmajor']; t.devminor = r['devminor']
    t.pax_headers = {k: s(v) for k, v in r['extraPax']}
    return t.tobuf(tarfile.PAX_FORMAT, 'utf-8', 'surrogateescape').hex()

def read(r):
    tf = tarfile.open(fileobj=io.BytesIO(bytes.fromhex(r['tar'])), mode='r:')
    out = []
    for m in tf:
        data = tf.extractfile(m).read().hex() if m.isreg() else ''
        out.append({'name': hx(m.name), 'linkname': hx(m.linkname), 'uname': hx(m.uname), 'gname': hx(m.gname),
                    'mode': m.mode, 'uid': m.uid, 'gid': m.gid, 'size': m.size, 'mtime': m.mtime,
                    'typeflag': m.type[0], 'devmajor': m.devmajor, 'devminor': m.devminor,
                    'pax': [[k, hx(v)] for k, v in m.pax_headers.items()], 'data': data})
    return out

def write(r):
    # A whole archive as TarFile writes it: entries, then close()'s end-of-archive blocks.
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w', format=tarfile.PAX_FORMAT,
                      pax_headers={k: s(v) for k, v in r.get('globalPax', [])}) as tf:
        for e in r['entries']:
            t = tarfile.TarInfo(s(e['name']))
            t.type = bytes([e['typeflag']]); t.mode = e['mode']; t.mtime = e['mtime']
            t.linkname = s(e.get('linkname', ''))
            data = bytes.fromhex(e.get('data', ''))
            t.size = len(data)
            tf.addfile(t, io.BytesIO(data) if data else None)
    return buf.getvalue().hex()

OPS = {'encode': encode, 'read': read, 'write': write}
for line in sys.stdin:
    req = json.loads(line)
    try:
        res = {'ok': OPS[req['op']](req)}
    except Exception as e:
        res = {'error': type(e).__name__ + ': ' + str(e)}
    sys.stdout.write(json.dumps(res) + '\n')
    sys.stdout.flush()
`;

export interface PythonMember {
  name: Buffer;
  linkname: Buffer;
  uname: Buffer;
  gname: Buffer;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** A float in Python. */
  mtime: number;
  typeflag: number;
  devmajor: number;
  devminor: number;
  pax: Map<string, Buffer>;
  data: Buffer;
}

export interface PythonEntrySpec {
  name: Buffer;
  typeflag: number;
  mode: number;
  mtime: number;
  linkname?: Buffer;
  data?: Buffer;
}

interface Pending {
  resolve(value: unknown): void;
  reject(e: Error): void;
}

export class PythonTarfile {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #pending: Pending[] = [];
  #stderr = '';
  #exited: Error | null = null;

  constructor() {
    this.#child = spawn('python3', ['-c', SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.#child.stderr.setEncoding('utf8').on('data', (d: string) => (this.#stderr += d));
    this.#child.on('error', (e) => this.#fail(new Error(`python3 could not be started: ${e.message}`)));
    this.#child.on('exit', (code) => this.#fail(new Error(`python3 exited (${code}): ${this.#stderr.trim()}`)));
    createInterface({ input: this.#child.stdout }).on('line', (line) => {
      const p = this.#pending.shift();
      if (!p) return;
      const res = JSON.parse(line) as { ok?: unknown; error?: string };
      if (res.error !== undefined) p.reject(new Error(`python tarfile: ${res.error}`));
      else p.resolve(res.ok);
    });
  }

  /** `TarInfo.tobuf(PAX_FORMAT, 'utf-8', 'surrogateescape')` for these fields. */
  async encodeHeader(h: TarHeader): Promise<Buffer> {
    const hex = await this.#request({
      op: 'encode',
      name: h.name.toString('hex'),
      mode: h.mode,
      uid: h.uid,
      gid: h.gid,
      size: h.size,
      mtime: h.mtime,
      typeflag: h.typeflag,
      linkname: h.linkname.toString('hex'),
      uname: h.uname.toString('hex'),
      gname: h.gname.toString('hex'),
      devmajor: h.devmajor,
      devminor: h.devminor,
      extraPax: (h.extraPax ?? []).map(([k, v]) => [k, v.toString('hex')]),
    });
    return Buffer.from(hex as string, 'hex');
  }

  /** Every member `tarfile.open(mode='r:')` finds in `tar`, with its data for regular files. */
  async read(tar: Buffer): Promise<PythonMember[]> {
    const members = (await this.#request({ op: 'read', tar: tar.toString('hex') })) as Array<Record<string, unknown>>;
    return members.map((m) => ({
      name: Buffer.from(m['name'] as string, 'hex'),
      linkname: Buffer.from(m['linkname'] as string, 'hex'),
      uname: Buffer.from(m['uname'] as string, 'hex'),
      gname: Buffer.from(m['gname'] as string, 'hex'),
      mode: m['mode'] as number,
      uid: m['uid'] as number,
      gid: m['gid'] as number,
      size: m['size'] as number,
      mtime: m['mtime'] as number,
      typeflag: m['typeflag'] as number,
      devmajor: m['devmajor'] as number,
      devminor: m['devminor'] as number,
      pax: new Map((m['pax'] as [string, string][]).map(([k, v]) => [k, Buffer.from(v, 'hex')])),
      data: Buffer.from(m['data'] as string, 'hex'),
    }));
  }

  /** A whole archive written with `TarFile` in PAX format, closed (end-of-archive blocks included). */
  async write(entries: PythonEntrySpec[], globalPax: [string, Buffer][] = []): Promise<Buffer> {
    const hex = await this.#request({
      op: 'write',
      globalPax: globalPax.map(([k, v]) => [k, v.toString('hex')]),
      entries: entries.map((e) => ({
        name: e.name.toString('hex'),
        typeflag: e.typeflag,
        mode: e.mode,
        mtime: e.mtime,
        linkname: (e.linkname ?? Buffer.alloc(0)).toString('hex'),
        data: (e.data ?? Buffer.alloc(0)).toString('hex'),
      })),
    });
    return Buffer.from(hex as string, 'hex');
  }

  close(): void {
    this.#child.stdin.end();
  }

  #request(req: object): Promise<unknown> {
    if (this.#exited) return Promise.reject(this.#exited);
    return new Promise((resolve, reject) => {
      this.#pending.push({ resolve, reject });
      this.#child.stdin.write(`${JSON.stringify(req)}\n`);
    });
  }

  #fail(e: Error): void {
    this.#exited = e;
    for (const p of this.#pending.splice(0)) p.reject(e);
  }
}
