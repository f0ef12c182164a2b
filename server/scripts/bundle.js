// Bundles the compiled server (dist/) into dist/bundle/: one script for the process (with a V8 code cache) and one per worker thread, so start-up loads a few files instead of hundreds of modules.
import { execFileSync } from 'node:child_process';
import { build } from 'esbuild';
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const server = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(server, 'dist');
const out = join(dist, 'bundle');
rmSync(out, { recursive: true, force: true });

/**
 * Turns `import('@parcel/watcher')` into a `require` (through a stub module) in the CommonJS bundle: the
 * launcher runs that bundle as a `vm.Script`, where a dynamic `import()` fails without a loader callback
 * (and Node 20's one is experimental and warns on stderr).
 */
function requireExternalsPlugin() {
  return {
    name: 'require-externals',
    setup(builder) {
      builder.onResolve({ filter: /^@parcel\/watcher$/ }, (args) =>
        args.kind === 'dynamic-import'
          ? { path: args.path, namespace: 'require-external' }
          : { path: args.path, external: true },
      );
      builder.onLoad({ filter: /.*/, namespace: 'require-external' }, (args) => ({
        contents: `module.exports = require(${JSON.stringify(args.path)});`,
        loader: 'js',
        resolveDir: server,
      }));
    },
  };
}

/** What both builds share. */
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20.19',
  // jsonc-parser's `main` is a UMD build whose requires esbuild cannot follow; its `module` build is ESM.
  mainFields: ['module', 'main'],
  // @parcel/watcher is a native module: it stays in node_modules and is loaded at first use.
  external: ['@parcel/watcher'],
  minify: true,
  keepNames: true,
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
};

// The process: CommonJS, so that bin/packer-server.js can compile it with a V8 code cache (Node 20 has no
// code cache for ES modules). `import.meta.url` becomes this file's URL. The bundle sits two folders below
// the package root like dist/lsp/, so every `new URL('…', import.meta.url)` resolves as it does in dist/.
await build({
  ...common,
  entryPoints: [join(dist, 'main.js')],
  outfile: join(out, 'main.cjs'),
  format: 'cjs',
  define: { 'import.meta.url': '__packerModuleUrl' },
  plugins: [requireExternalsPlugin()],
  banner: { js: "var __packerModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
});

// A dynamic import() left in the process bundle would fail when it runs (see requireExternalsPlugin).
if (readFileSync(join(out, 'main.cjs'), 'utf8').includes('import(')) {
  throw new Error("server/dist/bundle/main.cjs holds a dynamic import(), which fails inside the launcher's vm.Script.");
}

// The workers: each has an entry of its own, since a worker started from `new URL(import.meta.url)` inside
// the bundle would load the whole server. They keep their base names, so the URL a worker is started from
// (`./crawl-worker-entry.js` beside the module that starts it) resolves in dist/ and here alike.
await build({
  ...common,
  entryPoints: [
    join(dist, 'watch/crawl-worker-entry.js'),
    join(dist, 'validation/validation-worker-entry.js'),
    // The load thread's script is worker-only already (project/load-worker.ts starts it by this name).
    join(dist, 'project/crawl-thread.js'),
    join(dist, 'pack/pack-hasher-entry.js'),
  ],
  outdir: out,
  entryNames: '[name]',
  format: 'esm',
  // The CommonJS dependencies bundled in (pngjs) call `require` for Node's built-ins.
  banner: {
    js: "import { createRequire as __packerCreateRequire } from 'node:module';\nconst require = __packerCreateRequire(import.meta.url);",
  },
});

// The code cache: the launcher run once with `--version` compiles and evaluates the whole bundle, then
// writes what V8 compiled. A Node with another V8 or other V8 flags rejects it and compiles as usual.
execFileSync(process.execPath, [join(server, 'bin/packer-server.js'), '--version'], {
  env: { ...process.env, PACKER_WRITE_CODE_CACHE: '1' },
  stdio: ['ignore', 'ignore', 'pipe'],
});
