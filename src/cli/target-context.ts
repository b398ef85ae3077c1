import * as os from 'node:os';
import * as path from 'node:path';
import { openBackend, parseTargetUrl } from '../backend/target-url.ts';
import { MetadataCache } from '../archive/metadata-cache.ts';
import type { TargetContext } from '../ops/context.ts';
import type { Reporter } from '../ops/reporter.ts';
import { defaultBackupName, type CliOptions } from './command-line.ts';

/** Builds an operation's context from the command line: the backend, the cache, the clock. */
export function targetContext(url: string, o: CliOptions, reporter: Reporter): TargetContext {
  const target = parseTargetUrl(url);
  const fixedNow = o.currentTime;
  return {
    backend: openBackend(target),
    cache: new MetadataCache(path.join(o.archiveDir, o.name ?? defaultBackupName(url))),
    prefixes: {
      base: o.filePrefix,
      archive: o.filePrefixArchive,
      manifest: o.filePrefixManifest,
      signature: o.filePrefixSignature,
    },
    reporter,
    now: () => fixedNow ?? Math.floor(Date.now() / 1000),
    tempRoot: o.tempdir ?? process.env['TMPDIR'] ?? os.tmpdir(),
    compress: !o.noCompression,
    encrypt: false,
  };
}
