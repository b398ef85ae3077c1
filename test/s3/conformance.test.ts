/** The S3 backend, on moto's S3 server, against the rules every backend keeps (test/backend/conformance.ts). */
import { before } from 'node:test';
import { runBackendConformance } from '../backend/conformance.ts';
import { startMoto, type MotoServer } from '../support/moto.ts';
import { fileCleanup } from '../support/tmp.ts';
import { backendFor, createBucket, envCredentials } from './helpers.ts';

// the backend takes its credentials from the SDK's default chain: here, the environment
Object.assign(process.env, envCredentials(), {
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
  AWS_CONFIG_FILE: '/nonexistent',
});

let moto: MotoServer;
let bucketNo = 0;
const hooks = fileCleanup();

before(async () => {
  moto = await startMoto(hooks);
});

runBackendConformance('s3:// (moto)', async () => {
  const bucket = `conformance-${++bucketNo}`;
  await createBucket(moto.endpoint, bucket);
  // a prefix, as most targets have one: names are relative to it
  return backendFor(`s3://${bucket}/target/`, moto.endpoint).backend;
});
