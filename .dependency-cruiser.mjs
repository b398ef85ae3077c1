/**
 * The layering of README "Architecture", checked by `npm run lint:layers` (scripts/test.sh runs
 * it before the tests). Every folder of src/ is in exactly one layer; a module may import its own
 * folder and the layers below its own, never one above nor a sibling folder of its layer.
 *
 * TypeScript is read by swc (parser: 'swc'): dependency-cruiser's TypeScript reader needs the
 * compiler's JavaScript API, which TypeScript 7.0 does not ship. swc sees `import type` too.
 */

/** Top to bottom. */
const LAYERS = [
  ['cli'],
  ['dashboard'],
  ['daemon'],
  ['command-line'],
  ['ops'],
  ['archive'],
  ['backend', 'crypto', 'fs', 'pricing'],
  ['codec'],
  ['core'],
];

const ALL = LAYERS.flat();
const any = (folders) => `^src/(${folders.join('|')})/`;

const layerRules = LAYERS.flatMap((layer, i) => {
  const below = LAYERS.slice(i + 1).flat();
  return layer.map((folder) => ({
    name: `${folder}-imports-only-below`,
    severity: 'error',
    comment:
      below.length === 0
        ? `src/${folder}/ is the bottom layer: it imports nothing else from src/ (README "Architecture").`
        : `src/${folder}/ may import only ${below.map((f) => `${f}/`).join(', ')} (README "Architecture"): ` +
          'move what both sides need down into a layer below both.',
    from: { path: `^src/${folder}/` },
    to: { path: '^src/', pathNot: any([folder, ...below]) },
  }));
});

export default {
  forbidden: [
    ...layerRules,
    {
      name: 'folder-in-no-layer',
      severity: 'error',
      comment: 'Every folder of src/ belongs to a layer: add it to LAYERS in .dependency-cruiser.mjs and to README "Architecture".',
      from: { path: '^src/', pathNot: any(ALL) },
      to: {},
    },
    {
      name: 'no-import-cycles',
      severity: 'error',
      comment: 'Modules import each other in a circle: split out what both need.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that does not resolve to a file cannot be checked against the layers.',
      from: { path: '^src/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    parser: 'swc',
    doNotFollow: { path: 'node_modules' },
    moduleSystems: ['es6'],
    // package subpaths (hono/streaming, @hono/node-server/serve-static) resolve through "exports"
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'node', 'default'] },
  },
};
