/**
 * The layering, checked rather than reviewed. The package manager's view first: every workspace
 * package.json may depend only downwards (protocol ← server, protocol ← client ← cli, server ← cli,
 * protocol ← studio), and
 * every package's sources may import only what its package.json declares. Then the import view: the
 * protocol knows no Node, the client never reaches the server (not even through `require.resolve`), JSON-RPC
 * stays in the server's transport, and server folders import only from their own layer or the ones below.
 */
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  PACKAGE_FOLDERS,
  importsOf,
  packageOf,
  repositoryRoot as root,
  sourceFiles,
  specifiersIn,
} from './source-imports.js';

interface Manifest {
  readonly name: string;
  readonly dependencies?: Record<string, string>;
  readonly devDependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
  readonly optionalDependencies?: Record<string, string>;
}

function manifestOf(folder: string): Manifest {
  return JSON.parse(readFileSync(join(root, folder, 'package.json'), 'utf8')) as Manifest;
}

/** Every package a manifest names, in any dependency list. */
function dependenciesOf(manifest: Manifest): string[] {
  return [
    ...Object.keys(manifest.dependencies ?? {}),
    ...Object.keys(manifest.devDependencies ?? {}),
    ...Object.keys(manifest.peerDependencies ?? {}),
    ...Object.keys(manifest.optionalDependencies ?? {}),
  ];
}

const PROTOCOL = '@prometeu/packer-protocol';
const SERVER = '@prometeu/packer-server';
const CLIENT = '@prometeu/packer-client';
const CLI = '@prometeu/packer-cli';
const STUDIO = '@prometeu/packer-studio-adapter';

/** Which of our packages each of our packages may depend on. Nothing but the CLI (and tests) depends on the server. */
const ALLOWED: Record<string, readonly string[]> = {
  [PROTOCOL]: [],
  [SERVER]: [PROTOCOL],
  [CLIENT]: [PROTOCOL],
  [CLI]: [CLIENT, SERVER, PROTOCOL, STUDIO],
  [STUDIO]: [PROTOCOL],
};

/** The workspaces of the root package.json, by folder. */
function workspaceFolders(): string[] {
  return (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { workspaces: string[] }).workspaces;
}

/** Our package names as the manifests spell them. */
const ours = (name: string): boolean => name.startsWith('@prometeu/');

/** A Node builtin, with or without the `node:` prefix. */
const isBuiltin = (specifier: string): boolean =>
  specifier.startsWith('node:') || builtinModules.includes(specifier.split('/')[0]!);

describe('package dependencies', () => {
  it('the workspaces are exactly the protocol, server, client, cli and studio adapter packages', () => {
    expect([...workspaceFolders()].sort()).toEqual([...PACKAGE_FOLDERS].sort());
    expect(PACKAGE_FOLDERS.map((folder) => manifestOf(folder).name).sort()).toEqual(Object.keys(ALLOWED).sort());
  });

  it('every workspace package depends on our packages only downwards', () => {
    for (const folder of workspaceFolders()) {
      const manifest = manifestOf(folder);
      const allowed = ALLOWED[manifest.name];
      expect(allowed, `${folder}/package.json names an unknown package ${manifest.name}`).toBeDefined();
      for (const dependency of dependenciesOf(manifest).filter(ours))
        expect(allowed, `${manifest.name} depends on ${dependency}`).toContain(dependency);
    }
  });

  it('nothing but the CLI depends on the server, and the protocol depends on nothing of ours', () => {
    for (const folder of workspaceFolders()) {
      const manifest = manifestOf(folder);
      const dependencies = dependenciesOf(manifest);
      if (manifest.name !== CLI) expect(dependencies, `${manifest.name} depends on the server`).not.toContain(SERVER);
      if (manifest.name === PROTOCOL) expect(dependencies.filter(ours)).toEqual([]);
    }
  });

  it('every package source imports only Node builtins, its own files and the packages its package.json declares', () => {
    for (const folder of workspaceFolders()) {
      const manifest = manifestOf(folder);
      const declared = new Set(dependenciesOf(manifest));
      for (const file of sourceFiles(`${folder}/src`)) {
        const path = relative(root, file);
        for (const specifier of specifiersIn(readFileSync(file, 'utf8'))) {
          const name = packageOf(specifier);
          if (name === undefined) {
            const target = relative(root, join(dirname(file), specifier));
            expect(target.startsWith(`${folder}/`), `${path} reaches outside its package: ${specifier}`).toBe(true);
          } else if (name !== manifest.name && !isBuiltin(specifier)) {
            expect(
              declared.has(name),
              `${path} imports ${specifier}, which ${folder}/package.json does not declare`,
            ).toBe(true);
          }
        }
      }
    }
  });
});

describe('import layering', () => {
  it('the import scanner sees double quotes, dynamic import(), require.resolve and createRequire().resolve', () => {
    const text = [
      `import { a } from "double-quoted";`,
      `export * from './re-exported.js';`,
      `const lazy = await import('dynamic');`,
      `const path = require.resolve("resolved/package.json");`,
      `const manifest = createRequire(import.meta.url).resolve('@prometeu/packer-server/package.json');`,
      `import 'side-effect';`,
    ].join('\n');
    expect(specifiersIn(text)).toEqual([
      'double-quoted',
      './re-exported.js',
      'dynamic',
      'resolved/package.json',
      '@prometeu/packer-server/package.json',
      'side-effect',
    ]);
  });

  it('the protocol imports nothing but zod and vscode-jsonrpc (no Node, no server, no client)', () => {
    for (const file of sourceFiles('protocol/src')) {
      for (const imported of importsOf(file)) {
        expect(
          imported === 'zod' || imported === 'vscode-jsonrpc' || imported.startsWith('protocol/src/'),
          `${relative(root, file)} imports ${imported}`,
        ).toBe(true);
      }
    }
  });

  it('the studio adapter imports nothing but the protocol (no Node, no DOM, no client, no server)', () => {
    for (const file of sourceFiles('studio/src')) {
      for (const imported of importsOf(file))
        expect(
          imported === PROTOCOL || imported.startsWith('studio/src/'),
          `${relative(root, file)} imports ${imported}`,
        ).toBe(true);
    }
  });

  it('the studio adapter is compiled without Node types and without the DOM library', () => {
    const config = JSON.parse(readFileSync(join(root, 'studio/tsconfig.json'), 'utf8')) as {
      compilerOptions: { types?: string[]; lib?: string[] };
    };
    expect(config.compilerOptions.types).toEqual([]);
    expect(config.compilerOptions.lib).toEqual(['ES2023']);
    expect(manifestOf('studio').dependencies).toEqual({ [PROTOCOL]: '0.1.0' });
  });

  it('the client never imports or resolves the server', () => {
    for (const file of sourceFiles('client/src')) {
      for (const imported of importsOf(file))
        expect(
          imported.startsWith('server/') || imported.startsWith(SERVER) || imported.startsWith('cli/'),
          `${relative(root, file)} imports ${imported}`,
        ).toBe(false);
    }
  });

  it('only the transport knows JSON-RPC', () => {
    for (const file of sourceFiles('server/src')) {
      const path = relative(root, file);
      if (path.startsWith('server/src/transport/')) continue;
      for (const imported of importsOf(file))
        expect(imported.startsWith('vscode-jsonrpc'), `${path} imports ${imported}`).toBe(false);
    }
  });

  it('server folders import only from their own layer or the layers below', () => {
    for (const file of sourceFiles('server/src')) {
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

/** Server layers, lowest first; a layer may import itself and anything listed before it. */
const SERVER_LAYERS = [
  [
    'server/src/domain',
    'server/src/io',
    'server/src/errors.ts',
    'server/src/wire/errors.ts',
    'server/src/server-script.ts',
  ],
  ['server/src/pack', 'server/src/mutations'],
  ['server/src/watch', 'server/src/validation', 'server/src/project'],
  ['server/src/wire'],
  ['server/src/dispatch/context.ts', 'server/src/reads', 'server/src/writes', 'server/src/host.ts'],
  ['server/src/dispatch'],
  // The standard LSP surface (language service): above the routes it plugs into, below the connection.
  ['server/src/lsp'],
  ['server/src/transport'],
  ['server/src/main.ts', 'server/src/index.ts'],
];

function layerOf(path: string): number {
  const bare = path.replace(/\.(ts|js)$/, '');
  return SERVER_LAYERS.findIndex((layer) =>
    layer.some((prefix) => bare === prefix.replace(/\.ts$/, '') || bare.startsWith(`${prefix}/`)),
  );
}
