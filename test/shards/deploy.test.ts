/**
 * deploy/: the Kubernetes manifests validated against the Kubernetes OpenAPI schemas
 * (kubernetes-models' validate()), the AWS Batch job definition and array submission checked
 * structurally, the worker IAM policies checked for what a shard worker touches, and every
 * command line in them parsed by permafrost's own parser, with --shards equal to the job's width.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { CronJob, Job } from 'kubernetes-models/batch/v1';
import { PersistentVolumeClaim, ServiceAccount } from 'kubernetes-models/v1';
import { parseCommandLine } from '../../src/command-line/parse-command-line.ts';

const DEPLOY = fileURLToPath(new URL('../../deploy/', import.meta.url));

interface Validating {
  validate(): void;
}
const MODELS: Record<string, new (data: never) => Validating> = {
  'batch/v1 Job': Job as never,
  'batch/v1 CronJob': CronJob as never,
  'v1 ServiceAccount': ServiceAccount as never,
  'v1 PersistentVolumeClaim': PersistentVolumeClaim as never,
};

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec?: Record<string, unknown>;
}
type JobSpec = {
  completionMode?: string;
  completions?: number;
  parallelism?: number;
  backoffLimitPerIndex?: number;
  template: {
    spec: {
      restartPolicy: string;
      containers: {
        name: string;
        command: string[];
        args: string[];
        env?: { name: string }[];
        volumeMounts?: { name: string; subPathExpr?: string }[];
      }[];
      volumes: { name: string }[];
    };
  };
};

function manifests(file: string): Manifest[] {
  const docs = parseAllDocuments(readFileSync(join(DEPLOY, 'kubernetes', file), 'utf8'));
  return docs.map((d) => {
    assert.equal(d.errors.length, 0, `${file}: ${d.errors.map((e) => e.message).join('; ')}`);
    return d.toJS() as Manifest;
  });
}

/** permafrost's parser accepts the command line; returns it parsed. */
function parsedArgs(argv: readonly string[], what: string) {
  const start = argv.findIndex((a) => a.endsWith('permafrost.js'));
  const args = start >= 0 ? argv.slice(start + 1) : [...argv];
  try {
    return parseCommandLine(args, { env: {}, homedir: '/root' });
  } catch (err) {
    assert.fail(`${what}: permafrost rejects ${JSON.stringify(args)}: ${(err as Error).message}`);
  }
}

function checkIndexedJob(spec: JobSpec, file: string, backup: boolean): void {
  assert.equal(spec.completionMode, 'Indexed', `${file}: an Indexed Job`);
  assert.equal(spec.completions, spec.parallelism, `${file}: every index runs at once`);
  if (spec.backoffLimitPerIndex !== undefined)
    assert.equal(spec.template.spec.restartPolicy, 'Never', `${file}: backoffLimitPerIndex needs restartPolicy Never`);
  const c = spec.template.spec.containers[0]!;
  const cmd = parsedArgs([...c.command, ...c.args], file);
  if (backup) assert.equal(cmd.options.shards, spec.completions, `${file}: --shards equals completions`);
  else assert.equal(cmd.verb, 'restore');
  const volumes = new Set(spec.template.spec.volumes.map((v) => v.name));
  const env = new Set((c.env ?? []).map((e) => e.name));
  for (const m of c.volumeMounts ?? []) {
    assert.ok(volumes.has(m.name), `${file}: mount ${m.name} has a volume`);
    for (const ref of m.subPathExpr?.matchAll(/\$\(([A-Z_]+)\)/g) ?? [])
      assert.ok(env.has(ref[1]!), `${file}: subPathExpr uses ${ref[1]}, defined in env`);
  }
}

describe('deploy/', () => {
  it('the Kubernetes manifests validate against the Kubernetes OpenAPI schemas and run permafrost as an Indexed Job', () => {
    const files = readdirSync(join(DEPLOY, 'kubernetes')).filter((f) => f.endsWith('.yaml'));
    assert.deepEqual(files.sort(), ['backup-cronjob.yaml', 'backup-indexed-job.yaml', 'restore-indexed-job.yaml']);
    let jobs = 0;
    for (const file of files) {
      for (const m of manifests(file)) {
        const Model = MODELS[`${m.apiVersion} ${m.kind}`];
        assert.ok(Model, `${file}: no model for ${m.apiVersion} ${m.kind}`);
        new Model(m as never).validate();
        if (m.kind === 'Job') {
          checkIndexedJob(m.spec as unknown as JobSpec, file, file.startsWith('backup'));
          jobs++;
        }
        if (m.kind === 'CronJob') {
          checkIndexedJob((m.spec as { jobTemplate: { spec: JobSpec } }).jobTemplate.spec, file, true);
          jobs++;
        }
      }
    }
    assert.equal(jobs, 3);
  });

  it('the schema check can fail: a wrong type and a missing required field are rejected (unknown fields are not: the schemas allow them)', () => {
    const [, , job] = manifests('backup-indexed-job.yaml');
    const spec = job!.spec as Record<string, unknown>;
    assert.throws(() => new Job({ ...job, spec: { ...spec, completions: 'eight' } } as never).validate());
    assert.throws(() => new Job({ ...job, spec: { ...spec, completionMode: undefined, template: undefined } } as never).validate());
  });

  it('the AWS Batch job definition and array submission fit together and run permafrost with --shards = the array size', () => {
    const def = JSON.parse(readFileSync(join(DEPLOY, 'aws-batch', 'job-definition.json'), 'utf8'));
    const submit = JSON.parse(readFileSync(join(DEPLOY, 'aws-batch', 'submit-array-job.json'), 'utf8'));
    for (const key of ['jobDefinitionName', 'type', 'containerProperties']) assert.ok(key in def, `job definition has ${key}`);
    assert.equal(def.type, 'container');
    const cp = def.containerProperties;
    for (const key of ['image', 'command', 'jobRoleArn', 'resourceRequirements', 'volumes', 'mountPoints'])
      assert.ok(key in cp, `containerProperties has ${key}`);
    const volumes = new Set(cp.volumes.map((v: { name: string }) => v.name));
    for (const m of cp.mountPoints) assert.ok(volumes.has(m.sourceVolume), `mount ${m.sourceVolume} has a volume`);
    assert.equal(submit.jobDefinition, def.jobDefinitionName);
    const size = submit.arrayProperties.size;
    assert.ok(Number.isInteger(size) && size >= 2 && size <= 10_000, 'array jobs have 2 to 10,000 children');
    const params = { ...def.parameters, ...submit.parameters };
    assert.equal(Number(params.shards), size, '--shards equals the array size');
    const argv = (cp.command as string[]).map((a) => (a.startsWith('Ref::') ? params[a.slice(5)] : a));
    assert.ok(
      argv.every((a) => typeof a === 'string'),
      `every Ref:: has a parameter: ${JSON.stringify(argv)}`,
    );
    const cmd = parsedArgs(argv, 'job-definition.json');
    assert.equal(cmd.options.shards, size);
    assert.ok(
      cp.secrets.some((s: { name: string }) => s.name === 'PASSPHRASE'),
      'the passphrase comes from a secret, not the command line',
    );
    assert.ok(!JSON.stringify(def).includes('PASSPHRASE=') && !argv.some((a) => /passphrase/i.test(a)));
  });

  it('the worker IAM policies allow what a shard worker touches and no delete of backups', () => {
    const backup = JSON.parse(readFileSync(join(DEPLOY, 'iam', 'backup-worker-policy.json'), 'utf8'));
    const restore = JSON.parse(readFileSync(join(DEPLOY, 'iam', 'restore-worker-policy.json'), 'utf8'));
    for (const p of [backup, restore]) {
      assert.equal(p.Version, '2012-10-17');
      for (const s of p.Statement) assert.ok(s.Sid && s.Effect === 'Allow' && s.Action && s.Resource, JSON.stringify(s));
    }
    const allows = (action: string, resource: string) =>
      backup.Statement.some((s: { Action: string | string[]; Resource: string | string[] }) => {
        const actions = ([] as string[]).concat(s.Action);
        const resources = ([] as string[]).concat(s.Resource);
        const match = (pattern: string, value: string) =>
          new RegExp(
            `^${pattern
              .split('*')
              .map((x) => x.replace(/[.?+^$()[\]{}|\\]/g, '\\$&'))
              .join('.*')}$`,
          ).test(value);
        return actions.includes(action) && resources.some((r) => match(r, resource));
      });
    const base = 'arn:aws:s3:::my-backup-bucket/datasets/lake';
    assert.ok(allows('s3:PutObject', `${base}/permafrost-shards/plan-3.json`), 'create a plan');
    assert.ok(allows('s3:GetObject', `${base}/permafrost-shards/catalogue.json`), 'read the catalogue');
    assert.ok(allows('s3:PutObject', `${base}/shard-5-of-8/duplicity-full.20270101T000000Z.vol1.difftar.gpg`), 'write a volume');
    assert.ok(allows('s3:DeleteObject', `${base}/shard-5-of-8/permafrost-target.lock`), 'release the shard lock');
    assert.ok(!allows('s3:DeleteObject', `${base}/shard-5-of-8/duplicity-full.20270101T000000Z.vol1.difftar.gpg`), 'never delete a volume');
    assert.ok(!allows('s3:DeleteObject', `${base}/permafrost-shards/catalogue.json`), 'never delete the catalogue');
    assert.ok(!allows('s3:GetObject', `${base}/shard-5-of-8/duplicity-full.20270101T000000Z.vol1.difftar.gpg`), 'never read data');
  });
});
