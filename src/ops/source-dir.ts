import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { ExitCode, PermafrostError } from '../core/errors.ts';

/** The source of a backup (or an estimate) must be a directory: exit 10 otherwise. Returns its absolute path as bytes. */
export async function checkSourceDir(source: string): Promise<Buffer> {
  let st: Awaited<ReturnType<typeof fsp.stat>>;
  try {
    st = await fsp.stat(source);
  } catch {
    throw new PermafrostError(ExitCode.badSource, `source directory ${JSON.stringify(source)} does not exist`);
  }
  if (!st.isDirectory()) throw new PermafrostError(ExitCode.badSource, `source ${JSON.stringify(source)} is not a directory`);
  return Buffer.from(path.resolve(source));
}
