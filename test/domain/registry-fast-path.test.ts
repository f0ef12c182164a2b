/**
 * The registry check without the schema (`plainlyValidRegistry`) against the schema itself: on every file it
 * accepts, the schema accepts it too and gives the very same registry (keys in the same order), over generated
 * registries and random and hostile changes of them; and `parseRegistry` says what it said before the fast path.
 */
import { describe, expect, it } from 'vitest';
import { RegistryFile } from '@prometeu/packer-protocol';
import { parseRegistry, plainlyValidRegistry, serializeRegistry } from '../../server/src/domain/registry.js';
import { seededRandom } from '../lane/support.js';
import { sameValue } from '../support/same-value.js';

function uuidOf(index: number): string {
  return `3f2b8c1e-6d0a-4c1b-9a57-${index.toString(16).padStart(12, '0')}`;
}

function validRegistry(size: number, withSchema: boolean): Record<string, unknown> {
  const assets = Array.from({ length: size }, (_, index) => ({
    asset_id: index + 1,
    asset_uuid: uuidOf(index),
    included_in_build: index % 3 !== 0,
    root: `characters/hero-${index}`,
  }));
  return {
    ...(withSchema ? { $schema: '../../schemas/index.schema.json' } : {}),
    assets,
    next_asset_id: size + 1,
    schema_version: 1,
  };
}

/** Values a field may be replaced by: every JSON kind, numbers the schema refuses, odd strings and objects. */
const REPLACEMENTS: unknown[] = [
  null,
  true,
  false,
  0,
  -0,
  1,
  2,
  1.5,
  -1,
  1e21,
  Number.MAX_SAFE_INTEGER,
  Number.MAX_SAFE_INTEGER + 1,
  '',
  '1',
  'a/b',
  uuidOf(7),
  uuidOf(7).toUpperCase(),
  `${uuidOf(7)} `,
  [],
  [1],
  [{}],
  {},
  { a: 1 },
  { asset_id: 1 },
  { asset_id: 1, asset_uuid: uuidOf(1), included_in_build: true, root: 'x' },
  { asset_id: 1, asset_uuid: uuidOf(1), included_in_build: true, root: 'x', extra: 1 },
];

/** Keys to add, remove or replace: the schema's, unknown ones and the prototype's. */
const KEYS = [
  '$schema',
  'schema_version',
  'next_asset_id',
  'assets',
  'asset_id',
  'asset_uuid',
  'included_in_build',
  'root',
  'extra',
  'constructor',
  'toString',
  '__proto__',
];

/** `registry` with one random change: a key of the file or of one entry set to a random value, or removed. */
function mutated(random: ReturnType<typeof seededRandom>, registry: Record<string, unknown>): Record<string, unknown> {
  const copy = JSON.parse(JSON.stringify(registry)) as Record<string, unknown>;
  const assets = copy['assets'];
  const targets: unknown[] = [copy];
  if (Array.isArray(assets) && assets.length > 0) targets.push(random.pick(assets));
  const target = random.pick(targets);
  if (typeof target !== 'object' || target === null || Array.isArray(target)) return copy;
  const record = target as Record<string, unknown>;
  const key = random.next() < 0.7 ? random.pick([...Object.keys(record), ...KEYS]) : random.pick(KEYS);
  if (random.next() < 0.2) delete record[key];
  else Object.defineProperty(record, key, { value: random.pick(REPLACEMENTS), enumerable: true, writable: true });
  return copy;
}

/** Checks the fast path against the schema on `raw`; returns whether the fast path accepted it. */
function agrees(raw: unknown): boolean {
  const fast = plainlyValidRegistry(raw);
  if (fast === null) return false;
  const schema = RegistryFile.safeParse(raw);
  expect(schema.success, JSON.stringify(raw)).toBe(true);
  expect(sameValue(fast, schema.data), JSON.stringify(raw)).toBe(true);
  expect(JSON.stringify(fast)).toBe(JSON.stringify(schema.data));
  // Fresh objects, as the schema's, so the registry never aliases the parsed file's containers.
  expect(fast).not.toBe(raw);
  if (fast.assets.length > 0) expect(fast.assets[0]).not.toBe((raw as { assets: unknown[] }).assets[0]);
  return true;
}

describe('the registry check without the schema', () => {
  it('accepts every generated registry, with or without $schema, and gives what the schema gives', () => {
    for (const size of [0, 1, 2, 50])
      for (const withSchema of [false, true]) expect(agrees(validRegistry(size, withSchema))).toBe(true);
  });

  it('never accepts what the schema refuses, and gives the same registry, over random changes of valid ones', () => {
    const random = seededRandom(29);
    let accepted = 0;
    let refused = 0;
    for (let round = 0; round < 4000; round++) {
      let registry = validRegistry(1 + random.int(4), random.next() < 0.3);
      const changes = 1 + random.int(3);
      for (let change = 0; change < changes; change++) registry = mutated(random, registry);
      if (agrees(JSON.parse(JSON.stringify(registry)))) accepted++;
      else refused++;
    }
    // Both ways are exercised.
    expect(accepted).toBeGreaterThan(200);
    expect(refused).toBeGreaterThan(200);
  });

  it('leaves to the schema a file with a "__proto__" key, and the parse is the schema\'s', () => {
    const entry = `{"asset_id":1,"asset_uuid":"${uuidOf(1)}","included_in_build":true,"root":"a"}`;
    for (const text of [
      `{"__proto__":{},"assets":[${entry}],"next_asset_id":2,"schema_version":1}`,
      `{"assets":[{"__proto__":1,"asset_id":1,"asset_uuid":"${uuidOf(1)}","included_in_build":true,"root":"a"}],"next_asset_id":2,"schema_version":1}`,
    ]) {
      const raw: unknown = JSON.parse(text);
      expect(plainlyValidRegistry(raw)).toBeNull();
      expect(parseRegistry(text).registry === null).toBe(!RegistryFile.safeParse(raw).success);
    }
  });
});

describe('parseRegistry with the fast path', () => {
  it("trusts a canonical file with no diagnostic, and its registry is the schema's", () => {
    const registry = RegistryFile.parse(validRegistry(20, true));
    const text = serializeRegistry(registry);
    const parsed = parseRegistry(text);
    expect(parsed.diagnostics).toEqual([]);
    expect(sameValue(parsed.registry, RegistryFile.parse(JSON.parse(text)))).toBe(true);
  });

  it('still refuses a file nested past the depth limit, valid JSON or not, before any other check', () => {
    const deep = `${'['.repeat(70)}${']'.repeat(70)}`;
    const deepInEntry = `{"assets":[{"asset_id":1,"asset_uuid":"${uuidOf(1)}","included_in_build":true,"root":${deep}}],"next_asset_id":2,"schema_version":7}`;
    for (const text of [deep, deepInEntry, `${deep.slice(0, -1)}`, `{"schema_version":2,"x":${deep}}`])
      expect(parseRegistry(text).diagnostics.map((diagnostic) => diagnostic.code)).toEqual(['json-too-deep']);
  });

  it('says what it said before for files the fast path leaves to the schema', () => {
    expect(parseRegistry('{"schema_version":2}').diagnostics.map((diagnostic) => diagnostic.code)).toEqual([
      'registry-unsupported-version',
    ]);
    expect(parseRegistry('{"schema_version":1,"assets":[],"next_asset_id":0}').diagnostics[0]?.code).toBe(
      'registry-invalid',
    );
    expect(parseRegistry('{"schema_version":1,').diagnostics[0]?.code).toBe('registry-unreadable');
  });
});
