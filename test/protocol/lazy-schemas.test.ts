/**
 * The protocol's schemas are built at their first use, not at import (protocol/src/lazy.ts): importing the
 * package builds no zod schema, and a schema built late is the same object, with the same behaviour, metadata
 * and JSON Schema, as one built at once.
 */
import { execFileSync } from 'node:child_process';
import { AssetSummary, MutationIntent, ProjectId, packerRequests } from '@prometeu/packer-protocol';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { lazy } from '../../protocol/src/lazy.js';
import { repositoryRoot } from './source-imports.js';

/** How many zod schemas a fresh process builds while it imports the protocol package, then after one parse. */
function schemasBuiltByImport(): { atImport: number; afterOneParse: number } {
  // zod calls `postProcessor` once for every schema it constructs.
  const script = `
    let built = 0;
    globalThis.__zod_globalConfig = { postProcessor: () => { built++; } };
    const protocol = await import('@prometeu/packer-protocol');
    const atImport = built;
    protocol.InitializeParams.parse({ processId: null, capabilities: {} });
    console.log(JSON.stringify({ atImport, afterOneParse: built }));`;
  const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: `${repositoryRoot}/server`,
    encoding: 'utf8',
  });
  return JSON.parse(output) as { atImport: number; afterOneParse: number };
}

describe('lazy protocol schemas', () => {
  it('importing the protocol builds no schema, and a parse builds only the schemas it reaches', () => {
    const { atImport, afterOneParse } = schemasBuiltByImport();
    expect(atImport).toBe(0);
    expect(afterOneParse).toBeGreaterThan(0);
    // The protocol holds well over a thousand schema instances; `initialize` params reach a few dozen.
    expect(afterOneParse).toBeLessThan(100);
  });

  it('a schema built late is the very object other schemas and clients already hold', () => {
    const Late = lazy(() => z.string().min(2).describe('A late string.'));
    const holder = z.strictObject({ value: Late });
    expect(holder.shape.value).toBe(Late);
    expect(holder.parse({ value: 'ab' })).toEqual({ value: 'ab' });
    expect(holder.safeParse({ value: 'a' }).success).toBe(false);
    expect(Late).toBeInstanceOf(z.ZodString);
    expect(Object.getPrototypeOf(Late)).toBe(Object.getPrototypeOf(z.string()));
    expect(Late.description).toBe('A late string.');
    expect(z.globalRegistry.get(Late)).toEqual({ description: 'A late string.' });
    expect(Late.optional().unwrap()).toBe(Late);
  });

  it('a schema built late has the JSON Schema of the same schema built at once', () => {
    const eager = () =>
      z
        .strictObject({ id: z.number().int().positive().describe('An id.'), tags: z.array(z.string()).optional() })
        .describe('A thing.');
    const Late = lazy(eager);
    const Shared = lazy(() => z.string().describe('Shared.'));
    const twice = z.strictObject({ a: Shared, b: Shared, late: Late });
    const SharedNow = z.string().describe('Shared.');
    const twiceNow = z.strictObject({ a: SharedNow, b: SharedNow, late: eager() });
    for (const reused of ['ref', 'inline'] as const)
      expect(z.toJSONSchema(twice, { reused })).toEqual(z.toJSONSchema(twiceNow, { reused }));
  });

  it('answers `in`, instanceof and writes before anything was read from it', () => {
    const ForIn = lazy(() => z.strictObject({ a: z.string() }));
    expect('shape' in ForIn).toBe(true);
    const ForInstanceof = lazy(() => z.number());
    expect(ForInstanceof instanceof z.ZodNumber).toBe(true);
    expect(ForInstanceof instanceof z.ZodString).toBe(false);
    const ForWrite = lazy(() => z.boolean()) as z.ZodBoolean & { note?: string };
    ForWrite.note = 'kept';
    expect(ForWrite.note).toBe('kept');
    expect(ForWrite.parse(true)).toBe(true);
  });

  it("the protocol's exported schemas behave as zod schemas of their kind", () => {
    expect(ProjectId.parse('p1')).toBe('p1');
    expect(ProjectId.safeParse('').success).toBe(false);
    expect(MutationIntent.parse({ kind: 'register', root: 'a/b' })).toEqual({ kind: 'register', root: 'a/b' });
    expect(Object.keys(AssetSummary.shape)).toContain('assetUuid');
    expect(packerRequests.openProject.params).toBeInstanceOf(z.ZodObject);
  });

  it('a schema whose construction reads itself is reported as a cycle, not built twice', () => {
    const holder: { self?: z.ZodType } = {};
    const Cyclic = lazy(() => z.array(holder.self!.optional()));
    holder.self = Cyclic;
    expect(() => Cyclic.parse([])).toThrow(/cycle/);
  });
});
