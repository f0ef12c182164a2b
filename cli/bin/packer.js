#!/usr/bin/env node
// Launches the compiled packer CLI; run `npm run build` (or `npm ci`) first.
import '../dist/main.js';
