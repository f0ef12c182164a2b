/**
 * Reads the import specifiers of the packages' TypeScript sources, for the layering and cycle tests: static
 * imports and re-exports, dynamic `import()`, `require(...)`, `require.resolve(...)` and
 * `createRequire(...).resolve(...)`, in single or double quotes.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const repositoryRoot = join(dirname(fileURLToPath(import.meta.url)), '../..');

/** The workspace packages whose `src/` the tests read. */
export const PACKAGE_FOLDERS = ['protocol', 'server', 'client', 'cli', 'studio'] as const;

/** Every `.ts` file under `folder` (relative to the repository root), as absolute paths; none when it is absent. */
export function sourceFiles(folder: string): string[] {
  const found: string[] = [];
  const start = join(repositoryRoot, folder);
  if (!existsSync(start)) return found;
  const walk = (current: string): void => {
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) found.push(path);
    }
  };
  walk(start);
  return found.sort();
}

const QUOTED = String.raw`(['"])([^'"\n]+)\1`;
/** `from '...'`, `import '...'`, `import('...')`, `require('...')`, `require.resolve('...')`, `x.resolve('...')`. */
const SPECIFIER_PATTERNS = [
  new RegExp(String.raw`\bfrom\s*` + QUOTED, 'g'),
  new RegExp(String.raw`\bimport\s*` + QUOTED, 'g'),
  new RegExp(String.raw`\bimport\s*\(\s*` + QUOTED, 'g'),
  new RegExp(String.raw`\brequire\s*\(\s*` + QUOTED, 'g'),
  new RegExp(String.raw`\.resolve\s*\(\s*` + QUOTED, 'g'),
];

/** The specifiers `text` imports or resolves, as written, in order of appearance. */
export function specifiersIn(text: string): string[] {
  const found: { index: number; specifier: string }[] = [];
  for (const pattern of SPECIFIER_PATTERNS)
    for (const match of text.matchAll(pattern)) found.push({ index: match.index, specifier: match[2]! });
  return found.sort((a, b) => a.index - b.index).map((entry) => entry.specifier);
}

/**
 * Every import of a file: package names as written, relative ones resolved to repository-relative paths
 * (with `.js` replaced by `.ts`, the way TypeScript's NodeNext resolution maps them).
 */
export function importsOf(file: string): string[] {
  return specifiersIn(readFileSync(file, 'utf8')).map((specifier) =>
    specifier.startsWith('.')
      ? relative(repositoryRoot, normalize(join(dirname(file), specifier))).replace(/\.js$/, '.ts')
      : specifier,
  );
}

/** The package name of a bare specifier (`@scope/name/sub` gives `@scope/name`), or undefined for a relative one. */
export function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/')) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}
