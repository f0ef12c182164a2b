#!/usr/bin/env node
// Launches the packer server: the bundle in dist/bundle/ (one script, built by `npm ci`, `npm run build` and
// `npm pack`), or the compiled modules in dist/ where there is no bundle or, in a source checkout, where
// `tsc -b` compiled the server or its protocol package after the bundle was made (so a stale bundle never runs).
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';

const bundle = fileURLToPath(new URL('../dist/bundle/main.cjs', import.meta.url));
const codeCache = `${bundle}.cache`;
const bundleTime = statSync(bundle, { throwIfNoEntry: false })?.mtimeMs;
// tsc rewrites a project's build info whenever it emits; installed packages have none of these files.
const compiledAfterBundle =
  bundleTime === undefined ||
  ['../tsconfig.tsbuildinfo', '../../protocol/tsconfig.tsbuildinfo'].some(
    (path) => (statSync(new URL(path, import.meta.url), { throwIfNoEntry: false })?.mtimeMs ?? 0) > bundleTime,
  );

if (compiledAfterBundle) {
  await import('../dist/main.js');
} else {
  // The bundle is compiled as CommonJS with the V8 code cache the build wrote beside it (server/scripts/bundle.js):
  // what V8 would otherwise parse and compile at every start. V8 rejects a cache made by another version or
  // with other flags, and then compiles the source as usual.
  let cachedData;
  try {
    cachedData = process.env.PACKER_WRITE_CODE_CACHE === '1' ? undefined : readFileSync(codeCache);
  } catch {
    cachedData = undefined;
  }
  const source = `(function (exports, require, module, __filename, __dirname) {${readFileSync(bundle, 'utf8')}\n})`;
  const script = new Script(source, {
    filename: bundle,
    ...(cachedData !== undefined ? { cachedData } : {}),
  });
  if (process.env.PACKER_WRITE_CODE_CACHE === '1') {
    // The build serves one client session through here (server/scripts/bundle.js): at its exit the cache holds
    // the whole bundle's top level and every function that start-up and `initialize` ran.
    const exit = process.exit.bind(process);
    process.exit = (code) => {
      writeFileSync(codeCache, script.createCachedData());
      exit(code);
    };
  }
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(bundle), module, bundle, dirname(bundle));
}
