/**
 * No import cycle in any package: the module graph of every package's TypeScript sources (type-only
 * imports included, since a type cycle is a design cycle too) must be acyclic.
 */
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACKAGE_FOLDERS, importsOf, repositoryRoot, sourceFiles } from './source-imports.js';

/** The module graph of the packages: each source file to the source files it imports. */
function moduleGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const folder of PACKAGE_FOLDERS)
    for (const file of sourceFiles(`${folder}/src`)) {
      const path = relative(repositoryRoot, file);
      const targets = importsOf(file).filter((imported) => existsSync(join(repositoryRoot, imported)));
      graph.set(path, [...new Set(targets)]);
    }
  return graph;
}

/** Every cycle a depth-first search meets, each as the list of files from its first file back to it. */
function findCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): void => {
    state.set(node, 'visiting');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      const seen = state.get(next);
      if (seen === 'visiting') cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (seen === undefined) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) visit(node);
  return cycles;
}

describe('import cycles', () => {
  it('the cycle finder reports a cycle with every file on it', () => {
    const graph = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
      ['d.ts', ['a.ts']],
    ]);
    expect(findCycles(graph)).toEqual([['a.ts', 'b.ts', 'c.ts', 'a.ts']]);
    expect(findCycles(new Map([['a.ts', ['b.ts']]]))).toEqual([]);
  });

  it('the module graph of every package resolves relative .js specifiers to the .ts sources', () => {
    const graph = moduleGraph();
    expect(graph.get('protocol/src/index.ts')).toContain('protocol/src/method.ts');
  });

  it('no package source imports itself back through any chain of imports', () => {
    const cycles = findCycles(moduleGraph()).map((cycle) => cycle.join(' -> '));
    expect(cycles, `import cycles:\n${cycles.join('\n')}`).toEqual([]);
  });
});
