/** Paths as duplicity's "file" options and local arguments see them: `$VAR` and `~` expanded. */
import { homedir as osHomedir, userInfo } from 'node:os';
import type { ParseContext } from './cli-options.ts';

export interface Env {
  readonly vars: NodeJS.ProcessEnv;
  readonly home: string;
}

export function resolveEnv(context: ParseContext): Env {
  const vars = context.env ?? process.env;
  return { vars, home: vars['HOME'] || context.homedir || osHomedir() };
}

export function joinHome(home: string, rest: string): string {
  return `${home.replace(/\/+$/, '')}/${rest}`;
}

/** duplicity's expand_fn: os.path.expanduser(os.path.expandvars(path)). */
export function expandPath(p: string, env: Env): string {
  return expandUser(expandVars(p, env.vars), env.home);
}

function expandVars(p: string, vars: NodeJS.ProcessEnv): string {
  if (!p.includes('$')) return p;
  return p.replace(/\$([A-Za-z0-9_]+|\{[^}]*\})/g, (whole, name: string) => {
    const key = name.startsWith('{') ? name.slice(1, -1) : name;
    const value = vars[key];
    return value === undefined ? whole : value;
  });
}

function expandUser(p: string, home: string): string {
  if (!p.startsWith('~')) return p;
  const slash = p.indexOf('/', 1);
  const end = slash < 0 ? p.length : slash;
  let userHome: string;
  if (end === 1) userHome = home;
  else {
    // Only the current user can be looked up without a passwd binding; others stay unexpanded.
    let me: { username: string; homedir: string };
    try {
      me = userInfo();
    } catch {
      return p;
    }
    if (p.slice(1, end) !== me.username) return p;
    userHome = me.homedir;
  }
  return userHome.replace(/\/+$/, '') + p.slice(end) || '/';
}
