/**
 * PUT-class requests for one backup of many small files to S3, counted on the wire: permafrost,
 * duplicity 0.8.22 (boto3+s3) and a per-file sync (rclone, from Debian), all against the same
 * moto server through a counting proxy (test/s3/fault-proxy.ts, without faults). Prints a
 * Markdown table and a JSON line; it does not edit bench/RESULTS.md.
 *
 *   npx node bench/s3-requests.ts [--files 100000] [--tools permafrost,duplicity,rclone] [--keep DIR]
 *
 * Needs: `npm run build`, moto in .cache/moto (bash scripts/install-test-deps.sh), python3-boto3
 * for duplicity's S3 backend, and rclone (apt-get install rclone) for the per-file sync.
 * PUT-class = PUT/COPY/POST/LIST as S3 bills them: PutObject, CreateMultipartUpload, UploadPart,
 * CompleteMultipartUpload, ListObjectsV2 and ListMultipartUploads.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { defaultSpec, generateDataset } from './generate.ts';
import { startMoto } from '../test/support/moto.ts';
import { FaultProxy, type Operation } from '../test/s3/fault-proxy.ts';
import { createBucket, envCredentials } from '../test/s3/helpers.ts';
import { arg } from './arg.ts';

const REPO = resolve(import.meta.dirname, '..');
const PUT_CLASS: readonly Operation[] = [
  'PutObject',
  'CopyObject',
  'CreateMultipartUpload',
  'UploadPart',
  'CompleteMultipartUpload',
  'ListObjectsV2',
  'ListMultipartUploads',
];
const BUCKET = 'bench';

interface Result {
  readonly tool: string;
  readonly command: string;
  readonly seconds: number;
  readonly exitCode: number;
  readonly byOperation: Record<string, number>;
  readonly putClass: number;
  readonly objects: number;
}

async function main(): Promise<void> {
  const files = Number(arg('--files', '100000'));
  const tools = arg('--tools', 'permafrost,duplicity,rclone').split(',');
  const keep = process.argv.includes('--keep') ? arg('--keep', '') : '';
  const work = keep || mkdtempSync(join(tmpdir(), 'permafrost-s3-bench-'));
  const cleanups: (() => unknown)[] = [];
  const hooks = {
    after: (fn: () => unknown) => {
      cleanups.push(fn);
    },
  };
  try {
    const src = join(work, 'data');
    if (!existsSync(src)) {
      process.stderr.write(`generating ${files} small files in ${src}\n`);
      generateDataset(src, { ...defaultSpec('small'), files });
    }
    const moto = await startMoto(hooks);
    await createBucket(moto.endpoint, BUCKET);
    const proxy = await FaultProxy.start(hooks, moto.endpoint);
    // plain http to the proxy: a CA bundle from the machine's environment only gets in the way (rclone refuses it)
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...envCredentials(),
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_REGION: 'us-east-1',
    };
    delete env['AWS_CA_BUNDLE'];
    const results: Result[] = [];
    const measure = async (tool: string, file: string, args: readonly string[]) => {
      proxy.requests.length = 0;
      const started = process.hrtime.bigint();
      process.stderr.write(`${tool}: ${file} ${args.join(' ')}\n`);
      // asynchronous: the counting proxy runs in this process and must keep serving
      const { code, stderr } = await new Promise<{ code: number; stderr: string }>((done, fail) => {
        const child = spawn(file, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
        let err = '';
        child.stderr.on('data', (b: Buffer) => {
          err = (err + b.toString('utf8')).slice(-4000);
        });
        child.on('error', fail);
        child.on('close', (c) => done({ code: c ?? -1, stderr: err }));
      });
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (code !== 0) process.stderr.write(`${tool} exited ${code}:\n${stderr}\n`);
      const byOperation: Record<string, number> = {};
      for (const q of proxy.requests) byOperation[q.operation] = (byOperation[q.operation] ?? 0) + 1;
      const putClass = PUT_CLASS.reduce((n, op) => n + (byOperation[op] ?? 0), 0);
      const objects = new Set(
        proxy.requests.filter((q) => q.operation === 'PutObject' || q.operation === 'CompleteMultipartUpload').map((q) => q.path),
      ).size;
      results.push({
        tool,
        command: `${file} ${args.join(' ')}`.replaceAll(work, '$WORK').replaceAll(proxy.endpoint, '$ENDPOINT'),
        seconds,
        exitCode: code,
        byOperation,
        putClass,
        objects,
      });
    };
    if (tools.includes('permafrost')) {
      const url = `boto3+s3://${BUCKET}/permafrost`;
      await measure('permafrost', process.execPath, [
        join(REPO, 'bin/permafrost.js'),
        'full',
        '--no-encryption',
        '--s3-use-deep-archive',
        '--archive-dir',
        join(work, 'cache-p'),
        '--s3-endpoint-url',
        proxy.endpoint,
        src,
        url,
      ]);
    }
    if (tools.includes('duplicity')) {
      const url = `boto3+s3://${BUCKET}/duplicity`;
      await measure('duplicity 0.8.22', '/usr/bin/duplicity', [
        'full',
        '--no-encryption',
        '--s3-use-deep-archive',
        '--archive-dir',
        join(work, 'cache-d'),
        '--s3-endpoint-url',
        proxy.endpoint,
        src,
        url,
      ]);
    }
    if (tools.includes('rclone')) {
      mkdirSync(join(work, 'rclone-config'), { recursive: true });
      await measure('rclone sync (per file)', 'rclone', [
        '--config',
        join(work, 'rclone-config', 'none.conf'),
        'sync',
        src,
        `:s3:${BUCKET}/rclone`,
        '--s3-provider',
        'Other',
        '--s3-endpoint',
        proxy.endpoint,
        '--s3-access-key-id',
        envCredentials()['AWS_ACCESS_KEY_ID']!,
        '--s3-secret-access-key',
        envCredentials()['AWS_SECRET_ACCESS_KEY']!,
        '--s3-storage-class',
        'DEEP_ARCHIVE',
        '--s3-no-check-bucket',
        '--transfers',
        '16',
        '--checkers',
        '16',
      ]);
    }
    const ops = [...new Set(results.flatMap((r) => Object.keys(r.byOperation)))].sort();
    const lines = [
      `### S3 requests for one full backup of ${files.toLocaleString('en-US')} small files (moto ${'5.2.5'}, counted by a proxy)`,
      '',
      `| tool | PUT-class requests | objects stored | ${ops.join(' | ')} | seconds | exit |`,
      `|---|---:|---:|${ops.map(() => '---:').join('|')}|---:|---:|`,
      ...results.map(
        (r) =>
          `| ${r.tool} | ${r.putClass} | ${r.objects} | ${ops.map((o) => r.byOperation[o] ?? 0).join(' | ')} | ${r.seconds.toFixed(1)} | ${r.exitCode} |`,
      ),
      '',
      'Commands ($ENDPOINT is the counting proxy in front of moto, $WORK the scratch directory):',
      '',
      ...results.map((r) => `- ${r.tool}: \`${r.command}\``),
    ];
    process.stdout.write(`${lines.join('\n')}\n\n${JSON.stringify({ files, results })}\n`);
  } finally {
    for (const fn of cleanups.reverse()) await fn();
    if (!keep) rmSync(work, { recursive: true, force: true });
  }
}

await main();
