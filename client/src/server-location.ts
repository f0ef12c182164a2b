/**
 * Where the packer server that ships with this package lives, for callers that run the bundled server
 * rather than one they locate themselves. It resolves a path; it never loads server code.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * The entry script of the installed `@prometeu/packer-server` (its `bin/packer-server.js`), found through
 * the package's exported `package.json`. Pass it as `serverCommand`. Throws when the package is not installed.
 */
export function bundledServerScript(): string {
  const manifest = createRequire(import.meta.url).resolve('@prometeu/packer-server/package.json');
  return join(dirname(manifest), 'bin', 'packer-server.js');
}
