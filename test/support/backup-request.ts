import { Selection } from '../../src/fs/selection.ts';
import type { BackupRequest } from '../../src/ops/backup/backup.ts';

/**
 * A backup of the whole of `source` for the in-process tests (with op-context.ts): the fields the
 * CLI fills from its defaults, plus whatever a test varies (mode, volume size, hostname, the chain
 * index) in `overrides`.
 */
export function backupRequest(source: string, overrides: Partial<BackupRequest> = {}): BackupRequest {
  return {
    mode: 'auto',
    source,
    volsize: 512 * 1024,
    maxBlocksize: 2048,
    selection: Selection.all(Buffer.from(source)),
    dryRun: false,
    allowSourceMismatch: false,
    asyncUpload: true,
    hostname: 'host',
    ...overrides,
  };
}
