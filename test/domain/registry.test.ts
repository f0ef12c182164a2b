/**
 * Unit tests of the registry (`assets/.prometeu/index.json`): every integrity check, and the canonical
 * serialisation that keeps it diffable.
 */
import type { RegistryFile } from '@prometeu/packer-protocol';
import { describe, expect, it } from 'vitest';
import {
  emptyRegistry,
  parseRegistry,
  REGISTRY_PATH,
  serializeRegistry,
  serializeRegistryPieces,
  sortKeys,
} from '../../server/src/domain/registry.js';
import { uuidFor } from '../support/workspace-builder.js';

type Entry = RegistryFile['assets'][number];

function entry(id: number, root: string, fields: Partial<Entry> = {}): Entry {
  return { asset_id: id, asset_uuid: uuidFor(root), root, included_in_build: true, ...fields };
}

/** The registry's text, laid out canonically (as the packer writes it) unless the entries are out of order. */
function registryText(assets: unknown[], next = 100, extra: Record<string, unknown> = {}): string {
  return `${JSON.stringify(sortKeys({ schema_version: 1, next_asset_id: next, assets, ...extra }), null, 2)}\n`;
}

function codes(parsed: ReturnType<typeof parseRegistry>): string[] {
  return parsed.diagnostics.map((diagnostic) => diagnostic.code);
}

describe('parseRegistry', () => {
  it('accepts a valid registry and exposes its entries', () => {
    const assets = [entry(1, 'characters/hero'), entry(2, 'ui/icons', { included_in_build: false })];
    const parsed = parseRegistry(registryText(assets, 3));
    expect(parsed).toEqual({
      exists: true,
      registry: { schema_version: 1, next_asset_id: 3, assets },
      entries: assets,
      diagnostics: [],
    });
  });

  it('accepts an empty registry', () => {
    expect(parseRegistry(serializeRegistry(emptyRegistry()))).toMatchObject({
      exists: true,
      entries: [],
      diagnostics: [],
    });
  });

  it('reports an absent registry as registry-missing: the workspace is not initialised', () => {
    const parsed = parseRegistry(null);
    expect(parsed).toMatchObject({ exists: false, registry: null, entries: [] });
    expect(parsed.diagnostics).toHaveLength(1);
    expect(parsed.diagnostics[0]).toMatchObject({
      code: 'registry-missing',
      blocking: true,
      path: REGISTRY_PATH,
      family: 'structural',
    });
    expect(parsed.diagnostics[0]!.message).toContain('init');
  });

  it('reports an unreadable registry as registry-unreadable and trusts nothing', () => {
    const parsed = parseRegistry(null, 'EACCES');
    expect(parsed).toMatchObject({ exists: true, registry: null, entries: [] });
    expect(codes(parsed)).toEqual(['registry-unreadable']);
    expect(parsed.diagnostics[0]!.message).toContain('EACCES');
    expect(parsed.diagnostics[0]!.message).toContain(REGISTRY_PATH);
  });

  it('reports text that is not JSON as registry-unreadable', () => {
    const parsed = parseRegistry('{"schema_version": 1, ');
    expect(parsed).toMatchObject({ exists: true, registry: null, entries: [] });
    expect(codes(parsed)).toEqual(['registry-unreadable']);
    expect(parsed.diagnostics[0]!.message).toMatch(/not valid JSON/);
  });

  it.each([2, 0, '1'])('reports schema_version %j as registry-unsupported-version', (version) => {
    const parsed = parseRegistry(registryText([entry(1, 'a')], 2, { schema_version: version }));
    expect(parsed).toMatchObject({ exists: true, registry: null, entries: [] });
    expect(codes(parsed)).toEqual(['registry-unsupported-version']);
    expect(parsed.diagnostics[0]!.message).toContain(JSON.stringify(version));
  });

  it.each([
    ['an array', '[]', '(top level)'],
    ['null', 'null', '(top level)'],
    ['a missing next_asset_id', JSON.stringify({ schema_version: 1, assets: [] }), 'next_asset_id'],
    ['a missing schema_version', JSON.stringify({ next_asset_id: 1, assets: [] }), 'schema_version'],
    ['an extra top-level field', registryText([], 1, { comment: 'hi' }), 'comment'],
    ['an extra entry field', registryText([{ ...entry(1, 'a'), name: 'a' }], 2), 'assets[0]'],
    ['a zero asset_id', registryText([entry(0, 'a')], 2), 'assets[0].asset_id'],
    ['a fractional asset_id', registryText([entry(1.5, 'a')], 2), 'assets[0].asset_id'],
    ['a string asset_id', registryText([{ ...entry(1, 'a'), asset_id: '1' }], 2), 'assets[0].asset_id'],
    ['a bad uuid', registryText([entry(1, 'a', { asset_uuid: 'A-B' })], 2), 'assets[0].asset_uuid'],
    ['an empty root', registryText([entry(1, '')], 2), 'assets[0].root'],
    [
      'a string included_in_build',
      registryText([{ ...entry(1, 'a'), included_in_build: 'yes' }], 2),
      'assets[0].included_in_build',
    ],
    ['assets that is not a list', registryText([], 1, { assets: {} }), 'assets'],
    ['a zero next_asset_id', registryText([], 0), 'next_asset_id'],
  ])('reports %s as registry-invalid naming the field', (_described, text, field) => {
    const parsed = parseRegistry(text);
    expect(parsed).toMatchObject({ exists: true, registry: null, entries: [] });
    expect(codes(parsed)).toEqual(['registry-invalid']);
    expect(parsed.diagnostics[0]).toMatchObject({ blocking: true, path: REGISTRY_PATH });
    expect(parsed.diagnostics[0]!.message).toContain(field);
  });

  it('trusts entries that are only out of asset_id order, sorted, and offers to rewrite the file canonically', () => {
    const parsed = parseRegistry(registryText([entry(1, 'a'), entry(3, 'c'), entry(2, 'b')], 4));
    expect(parsed.registry!.assets.map((each) => each.asset_id)).toEqual([1, 2, 3]);
    expect(parsed.entries.map((each) => each.root)).toEqual(['a', 'b', 'c']);
    expect(codes(parsed)).toEqual(['registry-not-canonical']);
    expect(parsed.diagnostics[0]).toMatchObject({
      severity: 'warning',
      blocking: false,
      path: REGISTRY_PATH,
      safeFix: { fixId: 'registry-not-canonical', mutation: { kind: 'normalizeRegistry' } },
    });
    expect(parsed.diagnostics[0]!.message).toContain('entry 2 has asset_id 2 after 3');
  });

  it.each([
    ['four-space indentation', (text: string) => text.replace(/^( +)/gm, '$1$1'), 'line 2'],
    ['compact JSON', (text: string) => JSON.stringify(JSON.parse(text)), 'no trailing newline'],
    ['Windows line endings', (text: string) => text.replace(/\n/g, '\r\n'), 'Windows line endings'],
    [
      'keys out of order',
      (text: string) => `${JSON.stringify({ schema_version: 1, ...JSON.parse(text) }, null, 2)}\n`,
      'line 2',
    ],
  ])('trusts a registry laid out with %s and reports its layout with the rewrite fix', (_name, relayout, named) => {
    const canonical = registryText([entry(1, 'a'), entry(2, 'b')], 3);
    const parsed = parseRegistry(relayout(canonical));
    expect(parsed.entries.map((each) => each.root)).toEqual(['a', 'b']);
    expect(codes(parsed)).toEqual(['registry-not-canonical']);
    expect(parsed.diagnostics[0]!.message).toContain(named);
    // The fix writes exactly the canonical text.
    expect(serializeRegistry(parsed.registry!)).toBe(canonical);
  });

  it('serialises a registry edited entry by entry exactly as JSON.stringify would, whichever cached runs it reuses', () => {
    let registry: RegistryFile = {
      schema_version: 1,
      next_asset_id: 400,
      assets: Array.from({ length: 300 }, (_, index) => entry(index + 1, `r${index + 1}`)),
    };
    const expected = (value: RegistryFile): string => `${JSON.stringify(sortKeys(value), null, 2)}\n`;
    expect(serializeRegistry(registry)).toBe(expected(registry));
    // Change one entry, add one at the end, remove one from the middle: each edit keeps the other entries' objects.
    const edits: ((assets: Entry[]) => Entry[])[] = [
      (assets) => assets.map((candidate) => (candidate.asset_id === 70 ? { ...candidate, root: 'moved' } : candidate)),
      (assets) => [...assets, entry(350, 'added')],
      (assets) => assets.filter((candidate) => candidate.asset_id !== 128),
      (assets) => assets.filter((candidate) => candidate.asset_id < 64 || candidate.asset_id >= 128),
    ];
    for (const edit of edits) {
      registry = { ...registry, assets: edit([...registry.assets]) };
      expect(serializeRegistry(registry)).toBe(expected(registry));
    }
  });

  it('writes as pieces exactly the UTF-8 of its text, empty, with a $schema key, non-ASCII roots and after edits that reuse cached runs', async () => {
    const expected = (value: RegistryFile): string => `${JSON.stringify(sortKeys(value), null, 2)}\n`;
    let pauses = 0;
    // Slices of 0 ms: a pause before every run encoded, so slicing cannot change the bytes either.
    const bytesOf = async (value: RegistryFile): Promise<string> =>
      Buffer.concat(await serializeRegistryPieces(value, async () => void pauses++, 0)).toString('utf8');
    const empty: RegistryFile = { schema_version: 1, next_asset_id: 1, assets: [] };
    expect(await bytesOf(empty)).toBe(expected(empty));
    let registry: RegistryFile = {
      $schema: './index.schema.json',
      schema_version: 1,
      next_asset_id: 400,
      assets: Array.from({ length: 300 }, (_, index) =>
        entry(index + 1, index % 7 === 0 ? `héros/ø${index}` : `r${index + 1}`),
      ),
    };
    expect(await bytesOf(registry)).toBe(expected(registry));
    const edits: ((assets: Entry[]) => Entry[])[] = [
      (assets) =>
        assets.map((candidate) => (candidate.asset_id === 70 ? { ...candidate, root: 'déplacé' } : candidate)),
      (assets) => [...assets, entry(350, 'added')],
      (assets) => assets.filter((candidate) => candidate.asset_id !== 128),
      (assets) => assets.filter((candidate) => candidate.asset_id < 64 || candidate.asset_id >= 128),
    ];
    for (const edit of edits) {
      registry = { ...registry, assets: edit([...registry.assets]) };
      // The bytes and the text share no cache that could let one go stale for the other.
      expect(await bytesOf(registry)).toBe(expected(registry));
      expect(serializeRegistry(registry)).toBe(expected(registry));
      expect(await bytesOf(registry)).toBe(expected(registry));
    }
    expect(pauses).toBeGreaterThan(0);
  });

  it('finds nothing to rewrite in a registry the packer wrote', () => {
    const canonical = serializeRegistry({
      schema_version: 1,
      next_asset_id: 3,
      assets: [entry(1, 'a'), entry(2, 'b')],
    });
    expect(codes(parseRegistry(canonical))).toEqual([]);
  });

  it('reports merge-conflict markers with their lines and trusts nothing until they are resolved', () => {
    const text = [
      '{',
      '  "assets": [',
      '<<<<<<< HEAD',
      '    { "asset_id": 1 }',
      '||||||| base',
      '=======',
      '    { "asset_id": 2 }',
      '>>>>>>> feature/sounds',
      '  ],',
      '  "next_asset_id": 2,',
      '  "schema_version": 1',
      '}',
      '',
    ].join('\n');
    const parsed = parseRegistry(text);
    expect(parsed).toMatchObject({ exists: true, registry: null, entries: [] });
    expect(codes(parsed)).toEqual(['registry-merge-conflict']);
    expect(parsed.diagnostics[0]).toMatchObject({ blocking: true, path: REGISTRY_PATH });
    expect(parsed.diagnostics[0]!.message).toContain('lines 3, 5, 6, 8');
    expect(parsed.diagnostics[0]!.related).toEqual([
      { path: REGISTRY_PATH, message: 'line 3: <<<<<<< HEAD' },
      { path: REGISTRY_PATH, message: 'line 5: ||||||| base' },
      { path: REGISTRY_PATH, message: 'line 6: =======' },
      { path: REGISTRY_PATH, message: 'line 8: >>>>>>> feature/sounds' },
    ]);
  });

  it('accepts and keeps a top-level "$schema" key, as editors add it', () => {
    const text = serializeRegistry({
      $schema: '../../node_modules/@prometeu/packer-protocol/schemas/index.schema.json',
      schema_version: 1,
      next_asset_id: 2,
      assets: [entry(1, 'a')],
    });
    expect(text.split('\n')[1]).toBe(
      '  "$schema": "../../node_modules/@prometeu/packer-protocol/schemas/index.schema.json",',
    );
    const parsed = parseRegistry(text);
    expect(codes(parsed)).toEqual([]);
    expect(parsed.entries).toHaveLength(1);
  });

  it('offers each entry that shares an asset_id a fix that gives it a new id', () => {
    const parsed = parseRegistry(registryText([entry(1, 'a'), entry(2, 'b'), entry(2, 'c')], 3));
    expect(parsed.diagnostics.map((diagnostic) => [diagnostic.root, diagnostic.safeFix])).toEqual([
      [
        'b',
        {
          fixId: `duplicate-id:2:${uuidFor('b')}`,
          title: 'Give b a new asset_id (3) and keep #2 for the other entry',
          mutation: { kind: 'reassignAssetId', asset: { assetUuid: uuidFor('b') } },
        },
      ],
      [
        'c',
        {
          fixId: `duplicate-id:2:${uuidFor('c')}`,
          title: 'Give c a new asset_id (3) and keep #2 for the other entry',
          mutation: { kind: 'reassignAssetId', asset: { assetUuid: uuidFor('c') } },
        },
      ],
    ]);
  });

  it('reports duplicate ids on every entry involved, each naming the others as related', () => {
    const parsed = parseRegistry(registryText([entry(1, 'a'), entry(2, 'b'), entry(2, 'c'), entry(2, 'd')], 3));
    expect(codes(parsed)).toEqual(['identity-duplicate-id', 'identity-duplicate-id', 'identity-duplicate-id']);
    expect(parsed.entries).toHaveLength(4);
    const byRoot = new Map(parsed.diagnostics.map((diagnostic) => [diagnostic.root, diagnostic]));
    expect(byRoot.get('b')).toMatchObject({ blocking: true, assetId: 2, assetUuid: uuidFor('b'), path: REGISTRY_PATH });
    expect(byRoot.get('b')!.related).toEqual([
      { path: 'c', message: 'entry #2' },
      { path: 'd', message: 'entry #2' },
    ]);
    expect(byRoot.get('d')!.related!.map((related) => related.path)).toEqual(['b', 'c']);
    expect(byRoot.get('c')!.message).toContain('asset_id 2');
  });

  it('reports two entries for one root on both, each naming the other', () => {
    const parsed = parseRegistry(
      registryText([entry(1, 'hero'), entry(2, 'hero', { asset_uuid: uuidFor('other') })], 3),
    );
    expect(codes(parsed)).toEqual(['identity-duplicate-root', 'identity-duplicate-root']);
    expect(parsed.diagnostics.map((diagnostic) => diagnostic.assetId)).toEqual([1, 2]);
    expect(parsed.diagnostics[0]!.related).toEqual([{ path: 'hero', message: 'entry #2' }]);
    expect(parsed.diagnostics[1]!.related).toEqual([{ path: 'hero', message: 'entry #1' }]);
  });

  it('detects a duplicate root written in two spellings of the same canonical path', () => {
    const parsed = parseRegistry(
      registryText([entry(1, 'ui/icons'), entry(2, './ui/icons/', { asset_uuid: uuidFor('x') })], 3),
    );
    expect(codes(parsed)).toEqual(['identity-duplicate-root', 'identity-duplicate-root']);
    expect(parsed.entries.map((each) => each.root)).toEqual(['ui/icons', 'ui/icons']);
  });

  it('reports two entries with one uuid on both, each naming the other', () => {
    const uuid = uuidFor('shared');
    const parsed = parseRegistry(
      registryText([entry(1, 'a', { asset_uuid: uuid }), entry(2, 'b', { asset_uuid: uuid })], 3),
    );
    expect(codes(parsed)).toEqual(['identity-duplicate-uuid', 'identity-duplicate-uuid']);
    expect(parsed.diagnostics[0]).toMatchObject({
      root: 'a',
      assetUuid: uuid,
      related: [{ path: 'b', message: 'entry #2' }],
    });
    expect(parsed.diagnostics[1]).toMatchObject({
      root: 'b',
      assetUuid: uuid,
      related: [{ path: 'a', message: 'entry #1' }],
    });
  });

  it.each([
    [5, 5],
    [7, 5],
  ])('reports asset_id %i with next_asset_id %i as identity-id-not-allocated', (id, next) => {
    const parsed = parseRegistry(registryText([entry(1, 'a'), entry(id, 'b')], next));
    expect(codes(parsed)).toEqual(['identity-id-not-allocated']);
    expect(parsed.diagnostics[0]).toMatchObject({ assetId: id, root: 'b', blocking: true });
    expect(parsed.diagnostics[0]!.message).toContain(`next_asset_id ${next}`);
    expect(parsed.entries).toHaveLength(2);
  });

  it.each([
    ['/abs/hero', 'absolute'],
    ['../outside', 'parent-segment'],
    ['a/../../outside', 'parent-segment'],
    ['.prometeu', 'control-data'],
    ['.prometeu/quarantine/hero', 'control-data'],
    ['a\\b', 'invalid-character'],
  ])('reports root %j as root-path-invalid (%s) and leaves the entry out of the join', (root, reason) => {
    const parsed = parseRegistry(registryText([entry(1, 'ok'), entry(2, root)], 3));
    expect(codes(parsed)).toEqual(['root-path-invalid']);
    expect(parsed.diagnostics[0]).toMatchObject({ assetId: 2, blocking: true, path: REGISTRY_PATH });
    expect(parsed.diagnostics[0]!.message).toContain(JSON.stringify(root));
    expect(parsed.diagnostics[0]!.message).toContain(reason);
    expect(parsed.entries.map((each) => each.root)).toEqual(['ok']);
    expect(parsed.registry).not.toBeNull();
  });

  it('canonicalises roots of the entries it trusts', () => {
    const parsed = parseRegistry(registryText([entry(1, './characters/hero'), entry(2, 'ui/icons/')], 3));
    expect(parsed.diagnostics).toEqual([]);
    expect(parsed.entries.map((each) => each.root)).toEqual(['characters/hero', 'ui/icons']);
  });
});

describe('serializeRegistry', () => {
  const registry: RegistryFile = {
    schema_version: 1,
    next_asset_id: 12,
    assets: [entry(10, 'z'), entry(2, 'b', { included_in_build: false }), entry(7, 'a/b')],
  };

  it('writes sorted keys, two-space indentation, entries by asset_id and a trailing newline', () => {
    const text = serializeRegistry(registry);
    expect(text.endsWith('}\n')).toBe(true);
    expect(text.endsWith('\n\n')).toBe(false);
    const lines = text.split('\n');
    expect(lines.slice(0, 3)).toEqual(['{', '  "assets": [', '    {']);
    expect(lines.slice(3, 7)).toEqual([
      '      "asset_id": 2,',
      `      "asset_uuid": "${uuidFor('b')}",`,
      '      "included_in_build": false,',
      '      "root": "b"',
    ]);
    expect(lines.slice(-4)).toEqual(['  "next_asset_id": 12,', '  "schema_version": 1', '}', '']);
    const parsed = JSON.parse(text) as RegistryFile;
    expect(parsed.assets.map((each) => each.asset_id)).toEqual([2, 7, 10]);
    expect(Object.keys(parsed)).toEqual(['assets', 'next_asset_id', 'schema_version']);
  });

  it('gives the same bytes whatever the key and entry order of the input', () => {
    const shuffled = {
      assets: [...registry.assets].reverse().map((each) => ({
        root: each.root,
        included_in_build: each.included_in_build,
        asset_uuid: each.asset_uuid,
        asset_id: each.asset_id,
      })),
      next_asset_id: 12,
      schema_version: 1,
    } as RegistryFile;
    expect(serializeRegistry(shuffled)).toBe(serializeRegistry(registry));
  });

  it("does not reorder the caller's registry", () => {
    serializeRegistry(registry);
    expect(registry.assets.map((each) => each.asset_id)).toEqual([10, 2, 7]);
  });

  it('round-trips: parsing the text gives the registry back, and serialising that gives the same text', () => {
    const text = serializeRegistry(registry);
    const parsed = parseRegistry(text);
    expect(parsed.diagnostics).toEqual([]);
    expect(parsed.registry).toEqual({
      ...registry,
      assets: [...registry.assets].sort((a, b) => a.asset_id - b.asset_id),
    });
    expect(serializeRegistry(parsed.registry!)).toBe(text);
  });

  it('sortKeys sorts nested object keys and keeps array order', () => {
    expect(JSON.stringify(sortKeys({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } }))).toBe(
      '{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}',
    );
  });
});
