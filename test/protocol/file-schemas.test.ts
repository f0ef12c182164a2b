/**
 * The published JSON Schemas of `asset.json` and `index.json` agree with the server: every fixture of the
 * repository (the example project, the transcript fixtures) and a table of invalid files is validated with
 * a real JSON Schema validator (Ajv, draft 2020-12), and the verdict must be the server's: valid exactly
 * when the server finds no blocking problem in the file itself.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { parseDeclaration } from '../../server/src/domain/declaration.js';
import { parseRegistry } from '../../server/src/domain/registry.js';
import { repositoryRoot } from '../../tools/src/generate-docs.js';

const root = repositoryRoot();
// ajv-formats is CommonJS: its default export arrives as the module object under some loaders.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as unknown as (
  ajv: Ajv2020,
) => Ajv2020;
const ajv = addFormats(new Ajv2020({ allErrors: true, strict: true }));
const validateDeclaration = ajv.compile(
  JSON.parse(readFileSync(join(root, 'protocol/schemas/asset.schema.json'), 'utf8')) as object,
);
const validateRegistry = ajv.compile(
  JSON.parse(readFileSync(join(root, 'protocol/schemas/index.schema.json'), 'utf8')) as object,
);

/**
 * Registry codes that state a rule across entries (two entries with one id, root or uuid; an id not below
 * `next_asset_id`). JSON Schema cannot express them, so they are outside the agreement.
 */
const ACROSS_ENTRIES = new Set([
  'identity-duplicate-id',
  'identity-duplicate-root',
  'identity-duplicate-uuid',
  'identity-id-not-allocated',
]);

/** The schema's verdict on a file's text: not JSON is invalid. */
function schemaAccepts(validate: (value: unknown) => boolean, text: string): boolean {
  let value: unknown;
  try {
    value = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch {
    return false;
  }
  return validate(value);
}

/** The server's verdict on an `asset.json`: every problem it finds in the file blocks the asset in the build set. */
function serverAcceptsDeclaration(text: string): { valid: boolean; codes: string[] } {
  const codes = parseDeclaration('root', text).diagnostics.map((diagnostic) => diagnostic.code);
  return { valid: codes.length === 0, codes };
}

/** The server's verdict on an `index.json`: no blocking diagnostic about the file's own content. */
function serverAcceptsRegistry(text: string): { valid: boolean; codes: string[] } {
  const codes = parseRegistry(text)
    .diagnostics.filter((diagnostic) => diagnostic.blocking && !ACROSS_ENTRIES.has(diagnostic.code))
    .map((diagnostic) => diagnostic.code);
  return { valid: codes.length === 0, codes };
}

/** Every `asset.json` and `index.json` below `folder`, relative to the repository. */
function filesBelow(folder: string): string[] {
  const found: string[] = [];
  const pending = [join(root, folder)];
  while (pending.length > 0) {
    const current = pending.pop()!;
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) pending.push(path);
      else if (entry.name === 'asset.json' || entry.name === 'index.json') found.push(relative(root, path));
    }
  }
  return found.sort();
}

const FIXTURES = [...filesBelow('examples/demo-game/assets'), ...filesBelow('test/transcripts/fixtures')];

const DECLARATION = {
  schema_version: 1,
  asset_uuid: '3f2b8c1e-6d0a-4c1b-9a57-2e4f1d9c8b70',
  name: 'hero',
  type: 'glyph_bank',
  inputs: { tiles: ['tiles/hero.png'], palettes: ['palettes/hero.json'] },
  output: { format: 'GLYPH/indexed_v1', codec: 'NONE', metadata: { tile_size: 16 } },
  preload: { enabled: true },
};

const ENTRY = { asset_id: 1, asset_uuid: DECLARATION.asset_uuid, root: 'characters/hero', included_in_build: true };
const REGISTRY = { schema_version: 1, next_asset_id: 2, assets: [ENTRY] };

/** Declarations, valid and not, by what they show; each is checked by both sides. */
const DECLARATIONS: readonly [string, unknown][] = [
  ['a valid glyph bank', DECLARATION],
  ['a top-level "$schema" string', { $schema: './asset.schema.json', ...DECLARATION }],
  ['a "$schema" that is not a string', { $schema: 7, ...DECLARATION }],
  [
    'a valid blob',
    { ...DECLARATION, type: 'blob', inputs: { data: ['a.bin'] }, output: { format: 'BLOB/raw_v1', codec: 'NONE' } },
  ],
  [
    'a valid sound bank',
    {
      ...DECLARATION,
      type: 'sound_bank',
      inputs: { samples: ['a.wav'] },
      output: { format: 'SOUNDS/pcm16le_v1', codec: 'NONE' },
    },
  ],
  ['an unknown type', { ...DECLARATION, type: 'tile_map' }],
  ['a format of another type', { ...DECLARATION, output: { format: 'BLOB/raw_v1', codec: 'NONE' } }],
  ['an unknown format', { ...DECLARATION, output: { format: 'GLYPH/indexed_v9', codec: 'NONE' } }],
  ['an unknown codec', { ...DECLARATION, output: { format: 'GLYPH/indexed_v1', codec: 'LZ4' } }],
  ['an input that climbs out with ..', { ...DECLARATION, inputs: { tiles: ['../other/hero.png'] } }],
  ['an input that climbs out in the middle', { ...DECLARATION, inputs: { tiles: ['tiles/../../hero.png'] } }],
  ['an absolute input', { ...DECLARATION, inputs: { tiles: ['/etc/passwd'] } }],
  ['a drive-letter input', { ...DECLARATION, inputs: { tiles: ['C:/hero.png'] } }],
  ['an input with a backslash', { ...DECLARATION, inputs: { tiles: ['tiles\\hero.png'] } }],
  ['an input with a control character', { ...DECLARATION, inputs: { tiles: ['tiles/he\u0001ro.png'] } }],
  ['an input with an empty segment', { ...DECLARATION, inputs: { tiles: ['tiles//hero.png'] } }],
  ['an input that is only "."', { ...DECLARATION, inputs: { tiles: ['.'] } }],
  [
    'an input with "." segments and a trailing slash',
    { ...DECLARATION, inputs: { tiles: ['./tiles/hero.png'], more: ['tiles/'] } },
  ],
  ['an input named "..hero.png"', { ...DECLARATION, inputs: { tiles: ['..hero.png'] } }],
  ['an input component of 256 characters', { ...DECLARATION, inputs: { tiles: [`${'x'.repeat(256)}.png`] } }],
  ['an input component of 255 characters', { ...DECLARATION, inputs: { tiles: ['x'.repeat(255)] } }],
  ['an input path of 1025 characters', { ...DECLARATION, inputs: { tiles: [`${'abcdefgh/'.repeat(113)}abcdefgh`] } }],
  ['an empty input path', { ...DECLARATION, inputs: { tiles: [''] } }],
  ['an unsupported schema_version', { ...DECLARATION, schema_version: 2 }],
  ['an upper-case uuid', { ...DECLARATION, asset_uuid: DECLARATION.asset_uuid.toUpperCase() }],
  ['an empty name', { ...DECLARATION, name: '' }],
  ['an unknown key', { ...DECLARATION, colour: 'red' }],
  ['no preload', { ...DECLARATION, preload: undefined }],
  ['an array', [DECLARATION]],
];

/** Registries, valid and not. */
const REGISTRIES: readonly [string, unknown][] = [
  ['a valid registry', REGISTRY],
  ['an empty registry', { schema_version: 1, next_asset_id: 1, assets: [] }],
  ['a top-level "$schema" string', { $schema: './index.schema.json', ...REGISTRY }],
  ['entries out of asset_id order', { ...REGISTRY, next_asset_id: 3, assets: [{ ...ENTRY, asset_id: 2 }, ENTRY] }],
  ['an absolute root', { ...REGISTRY, assets: [{ ...ENTRY, root: '/characters/hero' }] }],
  ['a root that climbs out', { ...REGISTRY, assets: [{ ...ENTRY, root: '../characters/hero' }] }],
  ['a root inside .prometeu', { ...REGISTRY, assets: [{ ...ENTRY, root: '.prometeu/quarantine/x' }] }],
  ['a root inside .PROMETEU', { ...REGISTRY, assets: [{ ...ENTRY, root: './.PROMETEU' }] }],
  ['a root named .prometeus', { ...REGISTRY, assets: [{ ...ENTRY, root: '.prometeus/hero' }] }],
  ['a root with a backslash', { ...REGISTRY, assets: [{ ...ENTRY, root: 'characters\\hero' }] }],
  ['a root with a trailing slash', { ...REGISTRY, assets: [{ ...ENTRY, root: 'characters/hero/' }] }],
  ['asset_id 0', { ...REGISTRY, assets: [{ ...ENTRY, asset_id: 0 }] }],
  ['asset_id 1.5', { ...REGISTRY, assets: [{ ...ENTRY, asset_id: 1.5 }] }],
  ['next_asset_id past the safe integers', { ...REGISTRY, next_asset_id: Number.MAX_SAFE_INTEGER + 2 }],
  ['an unsupported schema_version', { ...REGISTRY, schema_version: 2 }],
  ['an entry without included_in_build', { ...REGISTRY, assets: [{ ...ENTRY, included_in_build: undefined }] }],
  ['an unknown key', { ...REGISTRY, generated_by: 'hand' }],
];

describe('the published file schemas agree with the server', () => {
  it('finds the fixtures it checks', () => {
    expect(FIXTURES.filter((path) => path.endsWith('asset.json')).length).toBeGreaterThan(20);
    expect(FIXTURES.filter((path) => path.endsWith('index.json')).length).toBeGreaterThanOrEqual(5);
  });

  it.each(FIXTURES)('%s: the schema accepts it exactly when the server does', (path) => {
    const text = readFileSync(join(root, path), 'utf8');
    const declaration = path.endsWith('asset.json');
    const server = declaration ? serverAcceptsDeclaration(text) : serverAcceptsRegistry(text);
    const schema = schemaAccepts(declaration ? validateDeclaration : validateRegistry, text);
    expect(schema, `schema ${schema ? 'accepts' : 'rejects'} it; the server says ${JSON.stringify(server.codes)}`).toBe(
      server.valid,
    );
  });

  it('the example project is valid on both sides but for its one deliberate mistake', () => {
    const rejected = filesBelow('examples/demo-game/assets').filter((path) => {
      const value = JSON.parse(readFileSync(join(root, path), 'utf8')) as unknown;
      return !(path.endsWith('asset.json') ? validateDeclaration(value) : validateRegistry(value));
    });
    // The README's "deliberate mistake": "enabeld" in preload.
    expect(rejected).toEqual(['examples/demo-game/assets/levels/cave/map/asset.json']);
  });

  it.each(DECLARATIONS)('asset.json with %s: the schema and the server agree', (_name, value) => {
    const text = `${JSON.stringify(value, null, 2)}\n`;
    const server = serverAcceptsDeclaration(text);
    const schema = schemaAccepts(validateDeclaration, text);
    expect(schema, `schema ${schema ? 'accepts' : 'rejects'} it; the server says ${JSON.stringify(server.codes)}`).toBe(
      server.valid,
    );
  });

  it.each(REGISTRIES)('index.json with %s: the schema and the server agree', (_name, value) => {
    const text = `${JSON.stringify(value, null, 2)}\n`;
    const server = serverAcceptsRegistry(text);
    const schema = schemaAccepts(validateRegistry, text);
    expect(schema, `schema ${schema ? 'accepts' : 'rejects'} it; the server says ${JSON.stringify(server.codes)}`).toBe(
      server.valid,
    );
  });

  it('both sides refuse what the table says is invalid, so the agreement is not that both accept everything', () => {
    const refused = DECLARATIONS.filter(([, value]) => !serverAcceptsDeclaration(JSON.stringify(value)).valid);
    expect(refused.length).toBeGreaterThan(15);
    const refusedRegistries = REGISTRIES.filter(([, value]) => !serverAcceptsRegistry(JSON.stringify(value)).valid);
    expect(refusedRegistries.length).toBeGreaterThan(8);
  });
});
