// Bundles the compiled server (dist/) into dist/bundle/: one script for the process (with a V8 code cache) and one per worker thread, so start-up loads a few files instead of hundreds of modules.
import { spawn } from 'node:child_process';
import { build } from 'esbuild';
import { existsSync, readFileSync, rmSync } from 'node:fs';
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

/**
 * Defers evaluating a bundled CommonJS package to the first read of one of its exports. esbuild evaluates
 * every CommonJS module a bundle imports when the bundle starts, whether or not anything uses it; these are
 * imported through a stand-in whose exports are getters that require the package, still bundled, the first
 * time one is read. pngjs (with `node:zlib` and `node:assert`) decodes glyph tiles, which start-up never
 * does; vscode-jsonrpc is imported by the protocol's declarations, which the worker threads do not use.
 */
function lazyPackagesPlugin(packages) {
  const filter = new RegExp(`^(${packages.map((name) => name.replace(/[/.]/g, '\\$&')).join('|')})$`);
  return {
    name: 'lazy-packages',
    setup(builder) {
      builder.onResolve({ filter }, (args) =>
        // The stand-in's own require is resolved as usual, which bundles the package itself.
        args.namespace === 'lazy-package' ? undefined : { path: args.path, namespace: 'lazy-package' },
      );
      builder.onLoad({ filter: /.*/, namespace: 'lazy-package' }, async (args) => {
        const { createRequire } = await import('node:module');
        const names = Object.keys(createRequire(join(server, 'package.json'))(args.path)).filter(
          (name) => name !== 'default' && name !== '__esModule',
        );
        const getters = names.map(
          (name) => `get ${JSON.stringify(name)}() { return load()[${JSON.stringify(name)}]; }`,
        );
        return {
          contents: `let loaded;\nfunction load() { return (loaded ??= require(${JSON.stringify(args.path)})); }\nmodule.exports = { ${getters.join(', ')} };`,
          loader: 'js',
          resolveDir: server,
        };
      });
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
  plugins: [lazyPackagesPlugin(['pngjs', 'vscode-jsonrpc'])],
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
  // zod too, in the process only: every schema is built at its first use, and `initialize` is checked by hand
  // (dispatch/fast-params.ts), so start-up evaluates none of zod. Through the stand-in the whole package is
  // bundled (about 120 KB more) where the workers keep only what they use, and evaluate it at once.
  plugins: [lazyPackagesPlugin(['pngjs', 'vscode-jsonrpc', 'zod']), requireExternalsPlugin()],
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

// The code cache: the launcher serves one client session (initialize, initialized, shutdown, exit) with the
// whole bundle evaluated, then writes what V8 compiled by then, which includes the functions that answer
// `initialize` (a cache made before any request would leave them to be compiled at every start). A Node with
// another V8 or other V8 flags rejects it and compiles as usual.
const codeCache = join(out, 'main.cjs.cache');
await writeCodeCache();
if (!existsSync(codeCache)) throw new Error(`The launcher wrote no code cache at ${codeCache}.`);

/** Runs the launcher with PACKER_WRITE_CODE_CACHE=1 through one client session; resolves once it exited. */
function writeCodeCache() {
  const frame = (message) => {
    const body = JSON.stringify({ jsonrpc: '2.0', ...message });
    return `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  };
  const child = spawn(process.execPath, [join(server, 'bin/packer-server.js'), '--stdio'], {
    env: { ...process.env, PACKER_WRITE_CODE_CACHE: '1' },
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => (stderr += chunk));
  // stdin stays open until the server exits on its own, after `exit`: closing it would end the session early.
  child.stdin.write(
    frame({ id: 1, method: 'initialize', params: { processId: null, capabilities: {}, rootUri: null } }) +
      frame({ method: 'initialized', params: {} }) +
      frame({ id: 2, method: 'shutdown' }) +
      frame({ method: 'exit' }),
  );
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`The code cache session exited with ${code}:\n${stderr}`)),
    );
  });
}
