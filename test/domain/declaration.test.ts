/**
 * Unit tests of `asset.json` parsing: every way a declaration can be wrong becomes a diagnostic that
 * names the file and the field, and nothing throws.
 */
import { describe, expect, it } from 'vitest';
import { parseDeclaration } from '../../server/src/domain/declaration.js';

const UUID = '3f2b8c1e-6d0a-4c1b-9a57-2e4f1d9c8b70';
const ROOT = 'characters/hero';
const FILE = 'characters/hero/asset.json';

function valid(): Record<string, unknown> {
  return {
    schema_version: 1,
    asset_uuid: UUID,
    name: 'hero',
    type: 'blob',
    inputs: { data: ['hero.bin'] },
    output: { format: 'BLOB/raw_v1', codec: 'NONE' },
    preload: { enabled: true },
  };
}

function withField(path: string, value: unknown): Record<string, unknown> {
  const declaration = valid();
  const keys = path.split('.');
  let target = declaration;
  for (const key of keys.slice(0, -1)) target = target[key] as Record<string, unknown>;
  if (value === undefined) delete target[keys.at(-1)!];
  else target[keys.at(-1)!] = value;
  return declaration;
}

function parse(value: unknown) {
  return parseDeclaration(ROOT, typeof value === 'string' ? value : JSON.stringify(value));
}

/** The one diagnostic of a parse, with the checks every declaration diagnostic shares. */
function only(value: unknown) {
  const parsed = parse(value);
  expect(parsed.diagnostics).toHaveLength(1);
  const diagnostic = parsed.diagnostics[0]!;
  expect(diagnostic).toMatchObject({ family: 'structural', severity: 'error', root: ROOT, path: FILE });
  expect(diagnostic.message).toContain(FILE);
  return { parsed, diagnostic };
}

describe('parseDeclaration', () => {
  it('reports merge-conflict markers with their lines and keeps the identity both sides agree on', () => {
    const lines = JSON.stringify(valid(), null, 2).split('\n');
    const at = lines.findIndex((line) => line.includes('"name"'));
    lines.splice(at, 1, '<<<<<<< HEAD', '  "name": "hero",', '=======', '  "name": "main_hero",', '>>>>>>> rename');
    const { parsed, diagnostic } = only(lines.join('\n'));
    expect(diagnostic.code).toBe('declaration-merge-conflict');
    expect(diagnostic.message).toContain(`lines ${at + 1}, ${at + 3}, ${at + 5}`);
    expect(diagnostic.related).toEqual([
      { path: FILE, message: `line ${at + 1}: <<<<<<< HEAD` },
      { path: FILE, message: `line ${at + 3}: =======` },
      { path: FILE, message: `line ${at + 5}: >>>>>>> rename` },
    ]);
    expect(parsed).toMatchObject({ declaration: null, assetUuid: UUID });
  });

  it('accepts and ignores a top-level "$schema" string, as editors add it', () => {
    const parsed = parse({
      $schema: '../../node_modules/@prometeu/packer-protocol/schemas/asset.schema.json',
      ...valid(),
    });
    expect(parsed.diagnostics).toEqual([]);
    expect(parsed).toMatchObject({ assetUuid: UUID, name: 'hero' });
  });

  it('accepts a valid declaration and resolves its inputs against the root', () => {
    const parsed = parse(valid());
    expect(parsed.diagnostics).toEqual([]);
    expect(parsed.declaration).toEqual(valid());
    expect(parsed).toMatchObject({ assetUuid: UUID, name: 'hero', type: 'blob' });
    expect(parsed.inputs).toEqual([{ role: 'data', path: 'hero.bin', assetsPath: 'characters/hero/hero.bin' }]);
  });

  it('accepts the optional output.metadata and build blocks', () => {
    const parsed = parse({ ...withField('output.metadata', { tile_size: 16 }), build: { hint: 'fast' } });
    expect(parsed.diagnostics).toEqual([]);
    expect(parsed.declaration?.output.metadata).toEqual({ tile_size: 16 });
  });

  it('lists inputs by role in sorted order and canonicalises their paths', () => {
    const parsed = parse(withField('inputs', { sprites: ['./b.png', 'sub/a.png'], palettes: ['p.json'] }));
    expect(parsed.diagnostics).toEqual([]);
    expect(parsed.inputs).toEqual([
      { role: 'palettes', path: 'p.json', assetsPath: 'characters/hero/p.json' },
      { role: 'sprites', path: './b.png', assetsPath: 'characters/hero/b.png' },
      { role: 'sprites', path: 'sub/a.png', assetsPath: 'characters/hero/sub/a.png' },
    ]);
  });

  it('accepts a file that starts with a UTF-8 byte order mark', () => {
    const parsed = parseDeclaration(ROOT, `\uFEFF${JSON.stringify(valid())}`);
    expect(parsed.diagnostics).toEqual([]);
    expect(parsed.assetUuid).toBe(UUID);
  });

  it('reports a file the crawl could not read as declaration-unreadable with the error code', () => {
    const parsed = parseDeclaration(ROOT, null, 'EACCES');
    expect(parsed.declaration).toBeNull();
    expect(parsed.diagnostics).toHaveLength(1);
    expect(parsed.diagnostics[0]).toMatchObject({ code: 'declaration-unreadable', path: FILE, root: ROOT });
    expect(parsed.diagnostics[0]!.message).toContain(FILE);
    expect(parsed.diagnostics[0]!.message).toContain('EACCES');
  });

  it('reports text that is not JSON as declaration-unreadable', () => {
    const { parsed, diagnostic } = only('{ "schema_version": 1,');
    expect(diagnostic.code).toBe('declaration-unreadable');
    expect(diagnostic.message).toMatch(/not valid JSON/);
    expect(parsed).toMatchObject({ declaration: null, assetUuid: null, name: null, type: null, inputs: [] });
  });

  it.each([
    ['an array', '[]', 'array'],
    ['null', 'null', 'null'],
    ['a number', '42', 'number'],
    ['a string', '"hero"', 'string'],
  ])('reports a JSON document that is %s instead of an object as declaration-invalid', (_described, text, kind) => {
    const { diagnostic } = only(text);
    expect(diagnostic.code).toBe('declaration-invalid');
    expect(diagnostic.message).toContain('must hold a JSON object');
    expect(diagnostic.message).toContain(kind);
  });

  it.each([2, 0, '1'])(
    'reports schema_version %j as declaration-unsupported-version and still reads the identity fields',
    (version) => {
      const { parsed, diagnostic } = only(withField('schema_version', version));
      expect(diagnostic.code).toBe('declaration-unsupported-version');
      expect(diagnostic.message).toContain('schema_version');
      expect(diagnostic.message).toContain(JSON.stringify(version));
      expect(parsed).toMatchObject({ declaration: null, assetUuid: UUID, name: 'hero', type: 'blob' });
    },
  );

  it.each([
    ['a missing field', withField('name', undefined), 'name'],
    ['a missing schema_version', withField('schema_version', undefined), 'schema_version'],
    ['an extra top-level field', { ...valid(), colour: 'red' }, 'colour'],
    ['an extra field in output', withField('output.compression', 'zip'), 'compression'],
    ['a typo in preload', withField('preload', { enabeld: true }), 'preload.enabled'],
    ['a wrong type', withField('preload.enabled', 'yes'), 'preload.enabled'],
    ['a bad uuid', withField('asset_uuid', 'not-a-uuid'), 'asset_uuid'],
    ['an upper-case uuid', withField('asset_uuid', UUID.toUpperCase()), 'asset_uuid'],
    ['an empty name', withField('name', ''), 'name'],
    ['an empty type', withField('type', ''), 'type'],
    ['inputs that are not arrays', withField('inputs', { data: 'hero.bin' }), 'inputs.data'],
    ['inputs that are not an object', withField('inputs', ['hero.bin']), 'inputs'],
    ['an input that is not a string', withField('inputs', { data: [7] }), 'inputs.data[0]'],
    ['an empty input path', withField('inputs', { data: [''] }), 'inputs.data[0]'],
    ['an empty output.format', withField('output.format', ''), 'output.format'],
  ])('reports %s as declaration-invalid naming the field', (_described, declaration, field) => {
    const { parsed, diagnostic } = only(declaration);
    expect(diagnostic.code).toBe('declaration-invalid');
    expect(diagnostic.message).toContain(field);
    expect(parsed.declaration).toBeNull();
  });

  it('keeps well-formed identity fields of an invalid declaration and drops malformed ones', () => {
    expect(parse(withField('preload', {}))).toMatchObject({ assetUuid: UUID, name: 'hero', type: 'blob' });
    expect(parse(withField('asset_uuid', 'nope'))).toMatchObject({ assetUuid: null, name: 'hero' });
    expect(parse({ ...withField('asset_uuid', 12), name: 3 })).toMatchObject({ assetUuid: null, name: null });
  });

  it.each([
    ['/etc/passwd', 'absolute'],
    ['../other/hero.bin', 'parent-segment'],
    ['sub/../../hero.bin', 'parent-segment'],
    ['sub\\hero.bin', 'invalid-character'],
    ['a//b.bin', 'empty-segment'],
  ])('reports input %j as input-outside-root (%s) and keeps the rest of the declaration', (input, reason) => {
    const { parsed, diagnostic } = only(withField('inputs', { data: [input] }));
    expect(diagnostic.code).toBe('input-outside-root');
    expect(diagnostic.message).toContain(JSON.stringify(input));
    expect(diagnostic.message).toContain('role data');
    expect(diagnostic.message).toContain(reason);
    expect(parsed.declaration).not.toBeNull();
    expect(parsed.inputs).toEqual([{ role: 'data', path: input, assetsPath: null }]);
  });

  it('reports an unknown type, naming it and the known ones', () => {
    const { parsed, diagnostic } = only(withField('type', 'tilemap'));
    expect(diagnostic.code).toBe('unknown-asset-type');
    expect(diagnostic.message).toContain('"tilemap"');
    expect(diagnostic.message).toContain('blob');
    expect(parsed.declaration).not.toBeNull();
  });

  it('does not mistake inherited object properties for known types', () => {
    expect(only(withField('type', 'toString')).diagnostic.code).toBe('unknown-asset-type');
  });

  it('reports an output.format that does not belong to the type as output-contract-mismatch', () => {
    const { diagnostic } = only(withField('output.format', 'GLYPH/indexed_v1'));
    expect(diagnostic.code).toBe('output-contract-mismatch');
    expect(diagnostic.message).toContain('output.format');
    expect(diagnostic.message).toContain('BLOB/raw_v1');
  });

  it('reports an output.codec the type does not allow as output-contract-mismatch', () => {
    const { diagnostic } = only(withField('output.codec', 'LZ4'));
    expect(diagnostic.code).toBe('output-contract-mismatch');
    expect(diagnostic.message).toContain('output.codec');
    expect(diagnostic.message).toContain('"LZ4"');
  });

  it('reports a wrong format and a wrong codec as two diagnostics', () => {
    const parsed = parse({ ...withField('output', { format: 'SOUNDS/pcm16le_v1', codec: 'ZSTD' }) });
    expect(parsed.diagnostics.map((diagnostic) => diagnostic.code)).toEqual([
      'output-contract-mismatch',
      'output-contract-mismatch',
    ]);
  });

  it('accepts the contracts of the other known types', () => {
    expect(
      parse({ ...withField('type', 'glyph_bank'), output: { format: 'GLYPH/indexed_v1', codec: 'NONE' } }).diagnostics,
    ).toEqual([]);
    expect(
      parse({ ...withField('type', 'sound_bank'), output: { format: 'SOUNDS/pcm16le_v1', codec: 'NONE' } }).diagnostics,
    ).toEqual([]);
  });

  it('leaves the blocking decision to the snapshot: every declaration diagnostic is non-blocking here', () => {
    const all = [
      parse('nope'),
      parse(withField('type', 'x')),
      parse(withField('inputs', { data: ['/x'] })),
      parse(withField('name', '')),
    ];
    for (const parsed of all) for (const diagnostic of parsed.diagnostics) expect(diagnostic.blocking).toBe(false);
  });
});
