/**
 * Where the packer server's entry script is, found in a way that works inside this CommonJS bundle: the
 * user's setting when there is one, else the `@prometeu/packer-server` package shipped beside the bundle
 * (its `serverScriptPath()` resolves from the bundle's own `__filename`, since esbuild empties `import.meta`).
 */
import { serverScriptPath } from '@prometeu/packer-server/server-script';

/** The server script to run: `configured` when it is a non-empty path, else the shipped server's. */
export function locateServer(configured?: string): string {
  return configured !== undefined && configured.trim() !== '' ? configured : serverScriptPath();
}
