import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tmpDir, type AfterHook } from '../../support/tmp.ts';

// A copy of shared/tools/duplicity-vectors.sh: the project must not depend on shared/ at run time.
const SCRIPT = fileURLToPath(new URL('../../fixtures/duplicity-vectors.sh', import.meta.url));

/**
 * The test vectors of docs/duplicity-format.md §10, generated fresh into a temporary directory with real duplicity
 * (a few seconds). Returns the OUTDIR holding remote-plain/, remote-gpg/, gnupg/, …
 */
export function duplicityVectors(t: AfterHook): string {
  const probe = spawnSync('duplicity', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    assert.fail('duplicity 0.8.22 is needed to generate the test vectors: apt-get install duplicity');
  }
  // duplicity leaves a gpg-agent serving the vectors' GNUPGHOME: stop it before the directory is
  // removed (node:test runs `after` hooks in registration order).
  let gnupgHome: string | undefined;
  t.after(() => {
    if (gnupgHome !== undefined) spawnSync('gpgconf', ['--homedir', gnupgHome, '--kill', 'gpg-agent']);
  });
  const out = join(tmpDir(t, 'dupvec'), 'vectors');
  gnupgHome = join(out, 'gnupg');
  const r = spawnSync('bash', [SCRIPT, out], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } });
  assert.equal(r.status, 0, `${SCRIPT} failed: ${r.stderr}`);
  return out;
}

/** The plain name of a vector file: `full`, `full-signatures`, `inc`, `new-signatures`. */
export function vectorFile(outdir: string, variant: 'plain' | 'gpg', kind: 'full' | 'full-signatures' | 'inc' | 'new-signatures'): string {
  const T = '20240102T000000Z';
  const T1 = '20240103T000000Z';
  const name = {
    full: `duplicity-full.${T}.vol1.difftar`,
    'full-signatures': `duplicity-full-signatures.${T}.sigtar`,
    inc: `duplicity-inc.${T}.to.${T1}.vol1.difftar`,
    'new-signatures': `duplicity-new-signatures.${T}.to.${T1}.sigtar`,
  }[kind];
  return join(outdir, `remote-${variant}`, variant === 'gpg' ? `${name}.gpg` : name);
}
