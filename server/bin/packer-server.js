#!/usr/bin/env node
// Launches the packer server: the bundle in dist/bundle/ (one file to load, built by `npm ci`, `npm run build`
// and `npm pack`), or the compiled modules in dist/ where there is no bundle or, in a source checkout, where
// `tsc -b` compiled the server or its protocol package after the bundle was made (so a stale bundle never runs).
import { statSync } from 'node:fs';

const bundle = new URL('../dist/bundle/main.js', import.meta.url);
const bundleTime = statSync(bundle, { throwIfNoEntry: false })?.mtimeMs;
// tsc rewrites a project's build info whenever it emits; installed packages have none of these files.
const compiledAfterBundle =
  bundleTime === undefined ||
  ['../tsconfig.tsbuildinfo', '../../protocol/tsconfig.tsbuildinfo'].some(
    (path) => (statSync(new URL(path, import.meta.url), { throwIfNoEntry: false })?.mtimeMs ?? 0) > bundleTime,
  );
await import(compiledAfterBundle ? '../dist/main.js' : '../dist/bundle/main.js');
