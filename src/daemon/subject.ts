/**
 * EMAIL_SUBJECT is a Python `str.format` template in docker-duplicity: `{name}` fields, `{{` and
 * `}}` for literal braces. The same templates give the same subjects here.
 */
export function formatSubject(template: string, fields: Readonly<Record<string, string>>): string {
  return template.replace(/\{\{|\}\}|\{([^{}]*)\}|[{}]/g, (match, name: string | undefined) => {
    if (match === '{{') return '{';
    if (match === '}}') return '}';
    if (name === undefined)
      throw new Error(`single "${match}" in ${JSON.stringify(template)} (write "${match}${match}" for a literal brace)`);
    const value = fields[name];
    if (value === undefined)
      throw new Error(
        `unknown field {${name}} in ${JSON.stringify(template)} (known: ${Object.keys(fields)
          .map((k) => `{${k}}`)
          .join(', ')})`,
      );
    return value;
  });
}
