// Bundles the compiled server (dist/) into dist/bundle/: one ESM file for the process and one per worker thread, so start-up loads a few files instead of hundreds of modules.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const server = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(server, 'dist');
const out = join(dist, 'bundle');
rmSync(out, { recursive: true, force: true });
await build({
  // Each worker has an entry of its own: a worker started from `new URL(import.meta.url)` inside a bundle
  // would load the whole bundle. The entries keep their base names, and the bundle sits two folders below
  // the package root like dist/lsp/, so every `new URL('./…', import.meta.url)` resolves as it does in dist/.
  entryPoints: [
    join(dist, 'main.js'),
    join(dist, 'watch/crawl-worker-entry.js'),
    join(dist, 'validation/validation-worker-entry.js'),
  ],
  outdir: out,
  entryNames: '[name]',
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20.19',
  // jsonc-parser's `main` is a UMD build whose requires esbuild cannot follow; its `module` build is ESM.
  mainFields: ['module', 'main'],
  // @parcel/watcher is a native module; chokidar is only the fallback watcher. Both are loaded from
  // node_modules at first use, like any dependency of the package.
  external: ['@parcel/watcher', 'chokidar'],
  // The CommonJS dependencies bundled in (pngjs, vscode-jsonrpc) call `require` for Node's built-ins.
  banner: {
    js: "import { createRequire as __packerCreateRequire } from 'node:module';\nconst require = __packerCreateRequire(import.meta.url);",
  },
  minify: true,
  keepNames: true,
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
});
