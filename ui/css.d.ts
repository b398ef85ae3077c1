// esbuild bundles the style sheets that modules import into app.css
declare module '*.css';
