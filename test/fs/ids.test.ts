import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { IdNames } from '../../src/fs/ids.ts';
import { PYTHON } from './helpers.ts';

describe('IdNames', () => {
  it("agrees with python's pwd/grp (what duplicity uses) for this system's ids and names", () => {
    const script = `
import json, pwd, grp
users = {str(p.pw_uid): p.pw_name for p in reversed(pwd.getpwall())}
groups = {str(g.gr_gid): g.gr_name for g in reversed(grp.getgrall())}
json.dump({'users': users, 'groups': groups,
           'uids': {p.pw_name: pwd.getpwnam(p.pw_name).pw_uid for p in pwd.getpwall()},
           'gids': {g.gr_name: grp.getgrnam(g.gr_name).gr_gid for g in grp.getgrall()}}, open(1, 'w'))`;
    const py = JSON.parse(execFileSync(PYTHON, ['-c', script]).toString()) as {
      users: Record<string, string>;
      groups: Record<string, string>;
      uids: Record<string, number>;
      gids: Record<string, number>;
    };
    const ids = new IdNames();
    assert.ok(Object.keys(py.users).length > 0);
    // reversed(getpwall()) makes the first entry per id win, as getpwuid does.
    for (const [uid, name] of Object.entries(py.users)) assert.equal(ids.userName(Number(uid)), name);
    for (const [gid, name] of Object.entries(py.groups)) assert.equal(ids.groupName(Number(gid)), name);
    for (const [name, uid] of Object.entries(py.uids)) assert.equal(ids.uidOf(name), uid);
    for (const [name, gid] of Object.entries(py.gids)) assert.equal(ids.gidOf(name), gid);
    assert.equal(ids.userName(987_654), '');
    assert.equal(ids.uidOf('no-such-user-here'), undefined);
    assert.equal(ids.uidOf(''), undefined);
  });

  it('parses the file formats: first match wins, junk and NIS lines ignored', () => {
    const ids = IdNames.fromText(
      [
        'root:x:0:0:root:/root:/bin/sh',
        '+nis::::::',
        'broken',
        'bad:x:notanumber:1::',
        'alias:x:0:0::/:/bin/sh',
        'ann:x:1000:1000::/home/ann:/bin/sh',
        '',
      ].join('\n'),
      ['root:x:0:', 'staff:x:50:ann,bob', 'wheel:x:0:'].join('\n'),
    );
    assert.equal(ids.userName(0), 'root');
    assert.equal(ids.uidOf('alias'), 0);
    assert.equal(ids.uidOf('bad'), undefined);
    assert.equal(ids.uidOf('+nis'), undefined);
    assert.equal(ids.userName(1000), 'ann');
    assert.equal(ids.groupName(0), 'root');
    assert.equal(ids.gidOf('staff'), 50);
    assert.equal(ids.groupName(51), '');
  });
});
