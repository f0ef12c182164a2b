#!/usr/bin/env node
// Launches the compiled packer server; run `npm run build` (or `npm ci`) first.
import '../dist/main.js';
