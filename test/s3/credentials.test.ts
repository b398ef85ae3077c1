/**
 * Credentials, endpoints and the errors a misconfigured run must explain, through the CLI.
 * moto runs in its authenticating mode (INITIAL_NO_AUTH_ACTION_COUNT): it then knows only the
 * IAM users created here, checks signatures, and applies their policies' actions. moto does not
 * check regions at all, so the wrong-region answers of AWS (AuthorizationHeaderMalformed with the
 * bucket's region, or 301 PermanentRedirect) are played by the test proxy.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { motoPython, startMoto, type MotoServer } from '../support/moto.ts';
import { fileCleanup, tmpDir } from '../support/tmp.ts';
import { FaultProxy } from './fault-proxy.ts';
import { describe, hermeticEnv, runCli, type CliResult } from './helpers.ts';

const hooks = fileCleanup();

interface Key {
  readonly id: string;
  readonly secret: string;
}

let moto: MotoServer;
let work: string;
let src: string;
let admin: Key;
let reader: Key;
const BUCKET = 'creds-bucket';
let run = 0;

const SETUP = `
import boto3, json, sys
iam = boto3.client('iam', endpoint_url=sys.argv[1], region_name='us-east-1', aws_access_key_id='setup', aws_secret_access_key='setup')
out = {}
for user, actions in [('backup', ['s3:*']), ('reader', ['s3:ListBucket', 's3:GetObject'])]:
    iam.create_user(UserName=user)
    k = iam.create_access_key(UserName=user)['AccessKey']
    iam.put_user_policy(UserName=user, PolicyName='p', PolicyDocument=json.dumps({'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Action': actions, 'Resource': '*'}]}))
    out[user] = {'id': k['AccessKeyId'], 'secret': k['SecretAccessKey']}
print(json.dumps(out))
`;

before(async () => {
  // six unauthenticated IAM calls set up two users; everything after is checked
  moto = await startMoto(hooks, { env: { INITIAL_NO_AUTH_ACTION_COUNT: '6' } });
  const keys = JSON.parse(await motoPython(SETUP, [moto.endpoint])) as Record<string, Key>;
  admin = keys['backup']!;
  reader = keys['reader']!;
  const c = new S3Client({
    region: 'us-east-1',
    endpoint: moto.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: admin.id, secretAccessKey: admin.secret },
  });
  await c.send(new CreateBucketCommand({ Bucket: BUCKET }));
  c.destroy();
  work = tmpDir(hooks, 's3-creds');
  src = join(work, 'src');
  mkdirSync(src);
  writeFileSync(join(src, 'file.txt'), 'some data\n');
});

function keyEnv(k: Key): Record<string, string> {
  return { AWS_ACCESS_KEY_ID: k.id, AWS_SECRET_ACCESS_KEY: k.secret };
}

/** A backup to a fresh prefix (so runs do not depend on each other). */
function backup(extraEnv: Record<string, string>, args: readonly string[] = [], url?: string): Promise<CliResult> {
  const n = ++run;
  return runCli(
    [
      'full',
      '--no-encryption',
      '--archive-dir',
      join(work, 'cache'),
      '--name',
      `run${n}`,
      ...args,
      src,
      url ?? `boto3+s3://${BUCKET}/run${n}`,
    ],
    hermeticEnv(extraEnv, work),
  );
}

function assertOk(r: CliResult, what: string): void {
  assert.equal(r.code, 0, `${what}\n${describe(r)}`);
  assert.match(r.stdout, /Uploaded 3 objects/, what);
}

function assertFails(r: CliResult, pattern: RegExp, what: string): void {
  assert.equal(r.code, 51, `${what}\n${describe(r)}`);
  const message = r.stderr.trim().split('\n');
  assert.equal(message.length, 1, `${what}: one line\n${describe(r)}`);
  assert.match(message[0]!, pattern, what);
}

test('credentials from the environment', async () => {
  assertOk(await backup(keyEnv(admin), ['--s3-endpoint-url', moto.endpoint]), 'env keys');
});

test('credentials from a shared credentials file: a named profile (AWS_PROFILE) and the default one', async () => {
  const creds = join(work, 'credentials');
  const config = join(work, 'config');
  writeFileSync(
    creds,
    `[default]\naws_access_key_id = ${admin.id}\naws_secret_access_key = ${admin.secret}\n\n[nightly]\naws_access_key_id = ${admin.id}\naws_secret_access_key = ${admin.secret}\n`,
  );
  writeFileSync(config, '[profile nightly]\nregion = us-east-1\n\n[default]\nregion = us-east-1\n');
  const files = { AWS_SHARED_CREDENTIALS_FILE: creds, AWS_CONFIG_FILE: config };
  assertOk(await backup({ ...files, AWS_PROFILE: 'nightly' }, ['--s3-endpoint-url', moto.endpoint]), 'profile nightly');
  assertOk(await backup(files, ['--s3-endpoint-url', moto.endpoint]), 'default profile');
  // a profile that does not exist is not silently replaced by another source
  assertFails(
    await backup({ ...files, AWS_PROFILE: 'missing', ...keyEnv(admin) }, ['--s3-endpoint-url', moto.endpoint]),
    /no AWS credentials found/,
    'missing profile',
  );
});

test('the endpoint from AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, and from an s3://host:port/bucket URL', async () => {
  assertOk(await backup({ ...keyEnv(admin), AWS_ENDPOINT_URL_S3: moto.endpoint }), 'AWS_ENDPOINT_URL_S3');
  assertOk(await backup({ ...keyEnv(admin), AWS_ENDPOINT_URL: moto.endpoint }), 'AWS_ENDPOINT_URL');
  assertOk(
    await backup(keyEnv(admin), ['--s3-unencrypted-connection'], `s3://127.0.0.1:${moto.port}/${BUCKET}/host-form`),
    's3://host:port/bucket',
  );
});

test('wrong keys, no keys, missing bucket, missing permission: one clear line each, exit 51', async () => {
  const at = ['--s3-endpoint-url', moto.endpoint];
  assertFails(
    await backup({ AWS_ACCESS_KEY_ID: 'AKIANOTKNOWN0000000', AWS_SECRET_ACCESS_KEY: 'x' }, at),
    /does not know the AWS access key ID in use/,
    'unknown key id',
  );
  assertFails(
    await backup({ AWS_ACCESS_KEY_ID: admin.id, AWS_SECRET_ACCESS_KEY: `${admin.secret}x` }, at),
    /rejected the request signature: the AWS secret access key does not belong/,
    'wrong secret',
  );
  assertFails(
    await backup({}, at),
    /^no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE/,
    'no credentials',
  );
  assertFails(
    await backup(keyEnv(admin), at, 'boto3+s3://no-such-bucket/x'),
    /^S3 bucket "no-such-bucket" does not exist \(at http:\/\/127\.0\.0\.1:\d+\)$/,
    'missing bucket',
  );
  assertFails(
    await backup(keyEnv(reader), at),
    /^access denied to upload s3:\/\/creds-bucket\/run\d+\/permafrost-target\.lock: the credentials lack the permission/,
    'no s3:PutObject (the target lock is the first write)',
  );
});

test('a bucket in another region: the error names the region and the option to pass', async () => {
  const proxy = await FaultProxy.start(hooks, moto.endpoint);
  for (const answer of ['AuthorizationHeaderMalformed', 'PermanentRedirect'] as const) {
    proxy.bucketRegion = { region: 'eu-west-1', answer };
    const at = ['--s3-endpoint-url', proxy.endpoint];
    assertFails(
      await backup(keyEnv(admin), at),
      /^S3 bucket "creds-bucket" is in region eu-west-1, not us-east-1: pass --s3-region-name eu-west-1 \(or set AWS_REGION=eu-west-1\)$/,
      answer,
    );
    assertFails(
      await backup({ ...keyEnv(admin), AWS_REGION: 'ap-south-1' }, at),
      /is in region eu-west-1, not ap-south-1/,
      `${answer} with AWS_REGION`,
    );
    assertOk(await backup(keyEnv(admin), [...at, '--s3-region-name', 'eu-west-1']), `${answer}, right region`);
    assertOk(await backup({ ...keyEnv(admin), AWS_REGION: 'eu-west-1' }, at), `${answer}, AWS_REGION`);
  }
});
