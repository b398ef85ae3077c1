/**
 * The default `--name` of the local archive directory (`duplicity/commandline.py:
 * generate_default_backup_name()`, docs/duplicity-format.md §7.8): the md5 of the target URL exactly as typed, so a
 * trailing slash gives another cache. Matching it lets both tools share one cache directory.
 */
import { createHash } from 'node:crypto';

export function defaultBackupName(url: string): string {
  return createHash('md5').update(url, 'utf8').digest('hex');
}
