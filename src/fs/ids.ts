import { readFileSync } from 'node:fs';

/**
 * uid/gid <-> user/group names, read from /etc/passwd and /etc/group once per instance.
 *
 * Duplicity asks `pwd`/`grp` (NSS); we read the files directly, which is what NSS does on the
 * machines we target and keeps lookups synchronous and cheap on the hot path. The first line
 * with a given id or name wins, as with the glibc `files` backend.
 */
export class IdNames {
  #users: Table | undefined;
  #groups: Table | undefined;
  readonly #passwdPath: string;
  readonly #groupPath: string;

  constructor(passwdPath = '/etc/passwd', groupPath = '/etc/group') {
    this.#passwdPath = passwdPath;
    this.#groupPath = groupPath;
  }

  /** For tests and callers that already hold the file contents. */
  static fromText(passwd: string, group: string): IdNames {
    const ids = new IdNames('', '');
    ids.#users = parseTable(passwd);
    ids.#groups = parseTable(group);
    return ids;
  }

  /** '' when the uid has no name. */
  userName(uid: number): string {
    return this.#userTable().nameById.get(uid) ?? '';
  }

  /** '' when the gid has no name. */
  groupName(gid: number): string {
    return this.#groupTable().nameById.get(gid) ?? '';
  }

  /** undefined when no user has that name (the caller then falls back to the numeric id). */
  uidOf(name: string): number | undefined {
    return name === '' ? undefined : this.#userTable().idByName.get(name);
  }

  gidOf(name: string): number | undefined {
    return name === '' ? undefined : this.#groupTable().idByName.get(name);
  }

  #userTable(): Table {
    return (this.#users ??= parseTable(readOptional(this.#passwdPath)));
  }

  #groupTable(): Table {
    return (this.#groups ??= parseTable(readOptional(this.#groupPath)));
  }
}

interface Table {
  readonly nameById: Map<number, string>;
  readonly idByName: Map<string, number>;
}

function readOptional(path: string): string {
  if (path === '') return '';
  try {
    return readFileSync(path, 'utf8');
  } catch {
    // A system without the file simply has no names; the numeric ids still work.
    return '';
  }
}

/** Both files share the layout `name:password:id:...`. */
function parseTable(text: string): Table {
  const nameById = new Map<number, string>();
  const idByName = new Map<string, number>();
  for (const line of text.split('\n')) {
    // NIS compat markers ('+', '-') and comments are not entries.
    if (line === '' || line[0] === '#' || line[0] === '+' || line[0] === '-') continue;
    const first = line.indexOf(':');
    if (first <= 0) continue;
    const second = line.indexOf(':', first + 1);
    if (second < 0) continue;
    const third = line.indexOf(':', second + 1);
    const idText = line.slice(second + 1, third < 0 ? line.length : third);
    if (!/^[0-9]+$/.test(idText)) continue;
    const id = Number(idText);
    if (!Number.isSafeInteger(id)) continue;
    const name = line.slice(0, first);
    if (!nameById.has(id)) nameById.set(id, name);
    if (!idByName.has(name)) idByName.set(name, id);
  }
  return { nameById, idByName };
}
