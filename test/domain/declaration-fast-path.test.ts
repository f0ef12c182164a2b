/**
 * The declaration check without the schema (`plainlyValidDeclaration`) against the schema itself: on every
 * input it accepts, the schema accepts it too and gives the very same declaration (keys in the same order,
 * the same values shared), over the repository's fixtures and random and hostile inputs.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AssetDeclarationFile } from '@prometeu/packer-protocol';
import { parseDeclaration, plainlyValidDeclaration } from '../../server/src/domain/declaration.js';
import { sameValue } from '../support/same-value.js';

const REPOSITORY = join(import.meta.dirname, '..', '..');
const UUID = '3f2b8c1e-6d0a-4c1b-9a57-2e4f1d9c8b70';

/** Every `asset.json` below `folder`, skipping dependencies and build output. */
function declarationFiles(folder: string, found: string[] = []): string[] {
  for (const name of readdirSync(folder)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.git')) continue;
    const path = join(folder, name);
    const stats = statSync(path, { throwIfNoEntry: false });
    if (stats?.isDirectory()) declarationFiles(path, found);
    else if (name === 'asset.json') found.push(path);
  }
  return found;
}

/** The values below `output.metadata` and `build`, which the schema passes on as they are (not copied). */
function passedOn(declaration: Record<string, unknown>): unknown[] {
  const output = declaration['output'] as Record<string, unknown>;
  const records = [output['metadata'], declaration['build']].filter((record) => record !== undefined);
  return records.flatMap((record) => Object.values(record as Record<string, unknown>));
}

/** Checks the fast path against the schema on the text `text`; returns whether the fast path accepted it. */
function agrees(text: string): boolean {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return false;
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return false;
  const fast = plainlyValidDeclaration(raw as Record<string, unknown>);
  const schema = AssetDeclarationFile.safeParse(raw);
  if (fast === null) return false;
  expect(schema.success, text).toBe(true);
  expect(sameValue(fast, schema.data), text).toBe(true);
  expect(JSON.stringify(fast)).toBe(JSON.stringify(schema.data));
  // Fresh objects, as the schema's, so the parse never aliases the raw value's containers.
  expect(fast).not.toBe(raw);
  expect(passedOn(fast as Record<string, unknown>)).toEqual(passedOn(schema.data as Record<string, unknown>));
  passedOn(fast as Record<string, unknown>).forEach((value, index) =>
    expect(value).toBe(passedOn(schema.data as Record<string, unknown>)[index]),
  );
  return true;
}

function valid(): Record<string, unknown> {
  return {
    schema_version: 1,
    asset_uuid: UUID,
    name: 'hero',
    type: 'glyph_bank',
    inputs: { sprites: ['a.png', 'b/c.png'], palettes: ['p.pal'] },
    output: { format: 'GLYPH/indexed_v1', codec: 'NONE', metadata: { tile_size: 16, nested: { a: [1, 2] } } },
    preload: { enabled: true },
    build: { hint: 'x', deep: { list: [null, true] } },
  };
}

/** A small deterministic generator (mulberry32), so a failure can be run again. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Values a field may be replaced by: every JSON kind, empty and odd strings, the keys a prototype has. */
const REPLACEMENTS: unknown[] = [
  null,
  true,
  false,
  0,
  1,
  1.5,
  -1,
  '',
  '1',
  'x',
  UUID.toUpperCase(),
  `${UUID} `,
  UUID,
  [],
  [''],
  ['a'],
  [1],
  [['a']],
  {},
  { a: 1 },
  { enabled: true },
  { enabled: 'true' },
  { format: 'f', codec: 'c' },
  { format: '', codec: 'c' },
  { format: 'f', codec: 'c', metadata: [] },
  { format: 'f', codec: 'c', metadata: null },
  { format: 'f', codec: 'c', extra: 1 },
  { data: ['a'], '': ['b'] },
  { data: 'a' },
  { data: [null] },
  { constructor: ['a'] },
  { toString: ['a'], 2: ['b'], 1: ['c'] },
];

/** Keys to add, remove or replace: the schema's, unknown ones and the prototype's. */
const KEYS = [
  '$schema',
  'schema_version',
  'asset_uuid',
  'name',
  'type',
  'inputs',
  'output',
  'preload',
  'build',
  'extra',
  'constructor',
  'toString',
  'hasOwnProperty',
  '__proto__',
];

/** `declaration` with one random change: a key set to a random value, a key removed, or a nested key changed. */
function mutated(next: () => number, declaration: Record<string, unknown>): Record<string, unknown> {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)]!;
  const copy = JSON.parse(JSON.stringify(declaration)) as Record<string, unknown>;
  const targets: Record<string, unknown>[] = [copy];
  for (const key of ['inputs', 'output', 'preload', 'build'])
    if (typeof copy[key] === 'object' && copy[key] !== null && !Array.isArray(copy[key]))
      targets.push(copy[key] as Record<string, unknown>);
  const metadata = (copy['output'] as Record<string, unknown> | undefined)?.['metadata'];
  if (typeof metadata === 'object' && metadata !== null && !Array.isArray(metadata))
    targets.push(metadata as Record<string, unknown>);
  const target = pick(targets);
  const key = next() < 0.7 ? pick([...Object.keys(target), ...KEYS]) : pick(KEYS);
  if (next() < 0.2) delete target[key];
  else Object.defineProperty(target, key, { value: pick(REPLACEMENTS), enumerable: true, writable: true });
  return copy;
}

describe('the declaration check without the schema', () => {
  it('accepts every valid declaration of the repository and gives what the schema gives', () => {
    const files = declarationFiles(REPOSITORY);
    expect(files.length).toBeGreaterThan(20);
    let accepted = 0;
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      const raw = ((): unknown => {
        try {
          return JSON.parse(text);
        } catch {
          return undefined;
        }
      })();
      const schemaAccepts = AssetDeclarationFile.safeParse(raw).success;
      const fastAccepts = agrees(text);
      // Every declaration the schema accepts is accepted here too (none holds a `__proto__` key).
      expect(fastAccepts, file).toBe(schemaAccepts);
      if (fastAccepts) accepted++;
    }
    expect(accepted).toBeGreaterThan(10);
  });

  it('never accepts what the schema refuses, and gives the same declaration, over random changes of valid ones', () => {
    const next = random(13);
    let accepted = 0;
    let refused = 0;
    for (let round = 0; round < 4000; round++) {
      let declaration = valid();
      if (next() < 0.3) delete declaration['build'];
      if (next() < 0.3) delete (declaration['output'] as Record<string, unknown>)['metadata'];
      if (next() < 0.2) declaration = { $schema: 'schema.json', ...declaration };
      const changes = 1 + Math.floor(next() * 3);
      for (let change = 0; change < changes; change++) declaration = mutated(next, declaration);
      if (agrees(JSON.stringify(declaration))) accepted++;
      else refused++;
    }
    // Both ways are exercised.
    expect(accepted).toBeGreaterThan(200);
    expect(refused).toBeGreaterThan(200);
  });

  it('leaves to the schema a declaration with a "__proto__" key in a record, and the parse is the schema\'s', () => {
    for (const text of [
      `{"schema_version":1,"asset_uuid":"${UUID}","name":"n","type":"blob","inputs":{"__proto__":["a"]},"output":{"format":"BLOB/raw_v1","codec":"NONE"},"preload":{"enabled":false}}`,
      `{"schema_version":1,"asset_uuid":"${UUID}","name":"n","type":"blob","inputs":{},"output":{"format":"BLOB/raw_v1","codec":"NONE","metadata":{"__proto__":{"a":1}}},"preload":{"enabled":false}}`,
      `{"schema_version":1,"asset_uuid":"${UUID}","name":"n","type":"blob","inputs":{},"output":{"format":"BLOB/raw_v1","codec":"NONE"},"preload":{"enabled":false},"build":{"__proto__":1}}`,
      `{"__proto__":{},"schema_version":1,"asset_uuid":"${UUID}","name":"n","type":"blob","inputs":{},"output":{"format":"BLOB/raw_v1","codec":"NONE"},"preload":{"enabled":false}}`,
    ]) {
      const raw = JSON.parse(text) as Record<string, unknown>;
      expect(plainlyValidDeclaration(raw)).toBeNull();
      const parsed = parseDeclaration('hero', text);
      const schema = AssetDeclarationFile.safeParse(raw);
      expect(parsed.declaration === null).toBe(!schema.success);
      if (schema.success) expect(sameValue(parsed.declaration, schema.data)).toBe(true);
    }
  });

  it("gives a parse whose declaration is the schema's, for a declaration with every optional field", () => {
    const text = JSON.stringify({ $schema: 's.json', ...valid() });
    const parsed = parseDeclaration('hero', text);
    expect(parsed.diagnostics).toEqual([]);
    expect(sameValue(parsed.declaration, AssetDeclarationFile.parse(JSON.parse(text)))).toBe(true);
  });
});
