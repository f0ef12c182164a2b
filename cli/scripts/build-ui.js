// Builds the packer panel's static files into cli/dist/ui/static: app.js bundled by esbuild, index.html and app.css copied.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const cli = join(dirname(fileURLToPath(import.meta.url)), '..');
const page = join(cli, 'src/ui/page');
const out = join(cli, 'dist/ui/static');
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [join(page, 'app.ts')],
  outfile: join(out, 'app.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  sourcemap: false,
  legalComments: 'none',
  logLevel: 'warning',
});
for (const name of ['index.html', 'app.css']) copyFileSync(join(page, name), join(out, name));
