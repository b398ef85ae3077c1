/**
 * How much a Glacier restore thaws: permafrost's plan (only the volumes whose manifest ranges can
 * hold the path) against the whole chain, which is what duplicity needs thawed out of band. A
 * chain (full + two incrementals after 1% mutations) of the *mixed* dataset goes to moto in
 * DEEP_ARCHIVE; then `thaw --dry-run --json` is asked for sample files, directories and the whole
 * tree. Prints a Markdown table and a JSON line; it does not edit bench/RESULTS.md.
 *
 *   npx node bench/thaw-plan.ts [--volsize 25] [--files 20000] [--samples 8] [--keep DIR]
 *
 * Needs `npm run build` and moto in .cache/moto (bash scripts/install-test-deps.sh).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { defaultSpec, generateDataset, listFiles, mutateDataset } from './generate.ts';
import { startMoto } from '../test/support/moto.ts';
import { createBucket, envCredentials } from '../test/s3/helpers.ts';
import { arg } from './arg.ts';

const REPO = resolve(import.meta.dirname, '..');
const BUCKET = 'thaw-bench';
const DAY = 86_400;
const T0 = 1_790_000_000;

interface Plan {
  volumesInSets: number;
  bytesInSets: number;
  sets: number;
  counts: { total: number };
  toRequest: { objects: number; bytes: number };
  quotes: { tier: string; total: number }[];
}

function run(args: readonly string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [join(REPO, 'bin/permafrost.js'), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString('utf8');
    });
    child.stderr.on('data', (b: Buffer) => {
      err = (err + b.toString('utf8')).slice(-4000);
    });
    child.on('error', fail);
    child.on('close', (c) => done({ code: c ?? -1, stdout: out, stderr: err }));
  });
}

async function main(): Promise<void> {
  const volsize = arg('--volsize', '25');
  const files = Number(arg('--files', '20000'));
  const samples = Number(arg('--samples', '8'));
  const keep = process.argv.includes('--keep') ? arg('--keep', '') : '';
  const work = keep || mkdtempSync(join(tmpdir(), 'permafrost-thaw-bench-'));
  const cleanups: (() => unknown)[] = [];
  const hooks = {
    after: (fn: () => unknown) => {
      cleanups.push(fn);
    },
  };
  try {
    const src = join(work, 'data');
    if (!existsSync(src)) generateDataset(src, { ...defaultSpec('mixed'), files });
    const moto = await startMoto(hooks);
    await createBucket(moto.endpoint, BUCKET);
    const env: NodeJS.ProcessEnv = { ...process.env, ...envCredentials(), AWS_EC2_METADATA_DISABLED: 'true', AWS_REGION: 'us-east-1' };
    const url = `boto3+s3://${BUCKET}/mixed`;
    const common = ['--no-encryption', '--archive-dir', join(work, 'cache'), '--name', 'mixed', '--s3-endpoint-url', moto.endpoint];
    const backup = async (verb: string, t: number) => {
      const r = await run([verb, '--s3-use-deep-archive', '--volsize', volsize, '--current-time', String(t), ...common, src, url], env);
      if (r.code !== 0) throw new Error(`${verb} exited ${r.code}: ${r.stderr}`);
    };
    await backup('full', T0);
    for (let round = 1; round <= 2; round++) {
      mutateDataset(src, { seed: 1, round, fraction: 0.01 });
      await backup('incremental', T0 + round * DAY);
    }
    const all = listFiles(src);
    const picks: string[] = [];
    for (let i = 0; i < samples; i++) picks.push(all[Math.floor(((i + 0.5) * all.length) / samples)]!);
    const targets: { label: string; path?: string }[] = [
      ...picks.map((p) => ({ label: `file ${p}`, path: p })),
      { label: `directory ${dirname(picks[0]!)}`, path: dirname(picks[0]!) },
      { label: 'whole tree' },
    ];
    const rows: { label: string; plan: Plan }[] = [];
    for (const t of targets) {
      const r = await run(
        ['thaw', '--dry-run', '--json', '--tier', 'Bulk', ...(t.path ? ['--file-to-restore', t.path] : []), ...common, url],
        env,
      );
      if (r.code !== 0) throw new Error(`thaw ${t.label} exited ${r.code}: ${r.stderr}`);
      rows.push({ label: t.label, plan: JSON.parse(r.stdout) as Plan });
    }
    const chain = rows[rows.length - 1]!.plan;
    const mib = (b: number) => (b / 2 ** 20).toFixed(1);
    const cost = (p: Plan, tier: string) => `$${(p.quotes.find((q) => q.tier === tier)?.total ?? 0).toFixed(4)}`;
    const lines = [
      `### Volumes a DEEP_ARCHIVE restore thaws: ${files.toLocaleString('en-US')}-file mixed dataset, full + 2 incrementals, --volsize ${volsize}`,
      '',
      `The chain: ${chain.volumesInSets} volumes, ${mib(chain.bytesInSets)} MiB in ${chain.sets} sets (what duplicity needs thawed).`,
      '',
      '| restore of | volumes thawed | of the chain | MiB thawed | Bulk | Standard |',
      '|---|---:|---:|---:|---:|---:|',
      ...rows.map(
        ({ label, plan }) =>
          `| ${label} | ${plan.counts.total} | ${((100 * plan.counts.total) / plan.volumesInSets).toFixed(1)}% | ${mib(plan.toRequest.bytes)} | ${cost(plan, 'Bulk')} | ${cost(plan, 'Standard')} |`,
      ),
      '',
      `Command: \`npx node bench/thaw-plan.ts --volsize ${volsize} --files ${files} --samples ${samples}\` (costs: built-in us-east-1 list prices, restored copies kept the default days).`,
    ];
    process.stdout.write(
      `${lines.join('\n')}\n\n${JSON.stringify({ volsize, files, rows: rows.map((r) => ({ label: r.label, volumes: r.plan.counts.total, chain: r.plan.volumesInSets })) })}\n`,
    );
  } finally {
    for (const fn of cleanups.reverse()) await fn();
    if (!keep) rmSync(work, { recursive: true, force: true });
  }
}

await main();
