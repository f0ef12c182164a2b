/**
 * Where the packer server's entry script is installed, for programs that spawn it (the CLI, Studio, editor
 * extensions). It only resolves a path and imports nothing of the server, so it is cheap to import through
 * the `@prometeu/packer-server/server-script` subpath, and it works from ESM, from CommonJS and from inside
 * a bundle: nothing reads `import.meta` at module scope.
 */
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join } from 'node:path';

/**
 * The absolute path of the installed `@prometeu/packer-server`'s entry script (its `bin/packer-server.js`),
 * to pass as a client's `serverCommand`. The package is resolved through its exported `package.json` from
 * a location chosen at call time: `import.meta.url` when the module runtime gives one (ESM, an ESM bundle),
 * else `__filename` where CommonJS (or a CommonJS bundle, which empties `import.meta`) defines it as a
 * path, else the current directory. Throws when the package cannot be found from there.
 */
export function serverScriptPath(): string {
  const manifest = createRequire(resolutionBase()).resolve('@prometeu/packer-server/package.json');
  return join(dirname(manifest), 'bin', 'packer-server.js');
}

/** The file the package is resolved from: this module's file however it was loaded, or the current directory. */
function resolutionBase(): string {
  const url = moduleUrl();
  if (url !== undefined) return url;
  // `node -e` defines a global `__filename` of `[eval]`, so only an absolute path counts.
  if (typeof __filename === 'string' && isAbsolute(__filename)) return __filename;
  // No module location at all (an unusual bundler): resolve from the current directory's node_modules.
  return join(process.cwd(), 'package.json');
}

/** `import.meta.url` when the runtime provides it; esbuild's CommonJS output replaces `import.meta` with `{}`. */
function moduleUrl(): string | undefined {
  try {
    const url: unknown = import.meta.url;
    return typeof url === 'string' && url.startsWith('file:') ? url : undefined;
  } catch {
    return undefined;
  }
}
