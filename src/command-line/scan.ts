/** optparse's scan of the arguments: options anywhere, unique prefixes, clusters, `--`. */
import type { OptionDef, State } from './option-kinds.ts';
import { LONG, LONG_NAMES, SHORT } from './option-table.ts';
import { UsageError } from './usage-error.ts';

function matchLong(given: string): OptionDef & { canonical: string } {
  const exact = LONG.get(given);
  if (exact) return { ...exact, canonical: given };
  const candidates = LONG_NAMES.filter((n) => n.startsWith(given));
  if (candidates.length === 1) return { ...LONG.get(candidates[0]!)!, canonical: candidates[0]! };
  if (candidates.length === 0) throw new UsageError(`no such option: ${given}`);
  throw new UsageError(`ambiguous option: ${given} (${candidates.join(', ')}?)`);
}

function takeValues(rest: string[], arity: number, name: string): string[] {
  if (rest.length < arity) {
    throw new UsageError(`${name} option requires ${arity} argument${arity === 1 ? '' : 's'}`);
  }
  return rest.splice(0, arity);
}

function run(s: State, def: OptionDef, values: readonly string[], name: string): void {
  def.apply(s, values, name);
  if (def.ignored) s.ignored.add(def.names[0]!);
}

/** optparse's _process_args with interspersed arguments. */
export function scan(argv: readonly string[], s: State): string[] {
  const rest = [...argv];
  const positionals: string[] = [];
  while (rest.length > 0 && !s.stop) {
    const arg = rest[0]!;
    if (arg === '--') {
      rest.shift();
      positionals.push(...rest);
      break;
    }
    if (arg.startsWith('--')) {
      rest.shift();
      const eq = arg.indexOf('=');
      const given = eq < 0 ? arg : arg.slice(0, eq);
      if (eq >= 0) rest.unshift(arg.slice(eq + 1));
      const def = matchLong(given);
      if (def.arity === 0 && eq >= 0) throw new UsageError(`${def.canonical} option does not take a value`);
      run(s, def, takeValues(rest, def.arity, def.canonical), def.canonical);
    } else if (arg.startsWith('-') && arg.length > 1) {
      rest.shift();
      for (let i = 1; i < arg.length && !s.stop; i++) {
        const name = `-${arg[i]}`;
        const def = SHORT.get(name);
        if (!def) throw new UsageError(`no such option: ${name}`);
        if (def.arity > 0) {
          if (i + 1 < arg.length) rest.unshift(arg.slice(i + 1));
          run(s, def, takeValues(rest, def.arity, name), name);
          break;
        }
        run(s, def, [], name);
      }
    } else {
      positionals.push(arg);
      rest.shift();
    }
  }
  return positionals;
}
