/**
 * The import layering, checked rather than reviewed: each folder may import only from the layers below
 * it, JSON-RPC stays in the transport, and the protocol and the client never reach into the server.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');

function sources(folder: string): string[] {
  const found: string[] = [];
  const walk = (current: string): void => {
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) found.push(path);
    }
  };
  walk(join(root, folder));
  return found;
}

/** Every import of a file: package names as written, relative ones resolved to repository paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)].map((match) => {
    const specifier = match[1]!;
    return specifier.startsWith('.') ? relative(root, normalize(join(dirname(file), specifier))) : specifier;
  });
}

/** Server layers, lowest first; a layer may import itself and anything listed before it. */
const SERVER_LAYERS = [
  ['server/src/domain', 'server/src/io', 'server/src/errors.ts', 'server/src/wire/errors.ts'],
  ['server/src/pack', 'server/src/mutations'],
  ['server/src/watch', 'server/src/project'],
  ['server/src/wire'],
  ['server/src/dispatch/context.ts', 'server/src/reads', 'server/src/writes', 'server/src/host.ts'],
  ['server/src/dispatch'],
  ['server/src/transport'],
  ['server/src/main.ts', 'server/src/index.ts'],
];

function layerOf(path: string): number {
  const bare = path.replace(/\.(ts|js)$/, '');
  return SERVER_LAYERS.findIndex((layer) =>
    layer.some((prefix) => bare === prefix.replace(/\.ts$/, '') || bare.startsWith(`${prefix}/`)),
  );
}

describe('import layering', () => {
  it('the protocol imports nothing but zod and vscode-jsonrpc (no Node, no server, no client)', () => {
    for (const file of sources('protocol/src')) {
      for (const imported of importsOf(file)) {
        expect(
          imported === 'zod' || imported === 'vscode-jsonrpc' || imported.startsWith('protocol/src/'),
          `${relative(root, file)} imports ${imported}`,
        ).toBe(true);
      }
    }
  });

  it('the client never imports the server', () => {
    for (const file of sources('client/src')) {
      for (const imported of importsOf(file))
        expect(
          imported.startsWith('server/') || imported.startsWith('@prometeu/packer-server'),
          `${relative(root, file)} imports ${imported}`,
        ).toBe(false);
    }
  });

  it('only the transport knows JSON-RPC', () => {
    for (const file of sources('server/src')) {
      const path = relative(root, file);
      if (path.startsWith('server/src/transport/')) continue;
      for (const imported of importsOf(file))
        expect(imported.startsWith('vscode-jsonrpc'), `${path} imports ${imported}`).toBe(false);
    }
  });

  it('server folders import only from their own layer or the layers below', () => {
    for (const file of sources('server/src')) {
      const path = relative(root, file);
      const own = layerOf(path);
      expect(own, `${path} belongs to no layer`).toBeGreaterThanOrEqual(0);
      for (const imported of importsOf(file)) {
        if (!imported.startsWith('server/src/')) continue;
        expect(layerOf(imported), `${path} (layer ${own}) imports ${imported}`).toBeLessThanOrEqual(own);
      }
    }
  });
});
