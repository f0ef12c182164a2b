/** `GLYPH/indexed_v1`: tiles mapped through palettes onto one sheet, and every rule that blocks it. */
import { describe, expect, it } from 'vitest';
import { PNG } from 'pngjs';
import type { AssetSpec } from '../support/workspace-builder.js';
import { useTempDirs, writeProject } from '../support/workspace-builder.js';
import { readGlyphPayload } from '../support/pa-reader.js';
import { blockedLines, makePng, opaque, packNow, paletteFile, readSucceeded, type Rgba } from './pack-fixtures.js';

const tempDir = useTempDirs('pack-glyph-');

// Palette 0 lists #ff0000 twice: a pixel of that colour takes the lower index, 1.
const PALETTE_0 = ['#000000', '#ff0000', '#00ff00', '#0000ff', '#ff0000'];
const PALETTE_1 = ['#ffffff', '#123456', '#ABCDEF'];

/** Tile "a" through palette 0: index (x + y) mod 4. */
function tileA(x: number, y: number): Rgba {
  return opaque(PALETTE_0[(x + y) % 4]!);
}
/** Tile "b" through palette 1: fully transparent (with a stray colour) at (0, 0), else index 1 + (x·y) mod 2. */
function tileB(x: number, y: number): Rgba {
  return x === 0 && y === 0 ? [255, 0, 255, 0] : opaque(PALETTE_1[1 + ((x * y) % 2)]!);
}

function rgb565(color: string): number {
  const value = Number.parseInt(color.slice(1), 16);
  const r = value >> 16;
  const g = (value >> 8) & 0xff;
  const b = value & 0xff;
  return ((r >> 3) << 11) | ((g >> 2) << 5) | (b >> 3);
}

describe('GLYPH/indexed_v1 materialisation', () => {
  it.each([8, 16, 32])(
    'places %i-pixel tiles by index, row-major, wrapping rows, low nibble first, with RGB565 palettes',
    async (tileSize) => {
      const perRow = 256 / tileSize;
      const count = perRow + 2; // wraps onto the second row of tiles
      const tiles = Array.from({ length: count }, (_, index) =>
        index % 2 === 0 ? { index, source: 'tiles/a.png', palette: 0 } : { index, source: 'tiles/b.png', palette: 1 },
      );
      // Tile b written as RGB without alpha would lose its transparent pixel, so only tile a uses colour type 2.
      const rgbOnly = new PNG({ width: tileSize, height: tileSize });
      for (let y = 0; y < tileSize; y++)
        for (let x = 0; x < tileSize; x++) rgbOnly.data.set(tileA(x, y), (y * tileSize + x) * 4);
      const project = writeProject(tempDir(), {
        assets: [
          {
            root: 'graphics/field',
            type: 'glyph_bank',
            inputs: { tiles: ['tiles/a.png', 'tiles/b.png'], palettes: ['palettes/day.json', 'palettes/night.json'] },
            output: { format: 'GLYPH/indexed_v1', codec: 'NONE', metadata: { tile_size: tileSize, tiles } },
            files: {
              'tiles/a.png': new Uint8Array(PNG.sync.write(rgbOnly, { colorType: 2 })),
              'tiles/b.png': makePng(tileSize, tileSize, tileB),
              'palettes/day.json': paletteFile(PALETTE_0),
              'palettes/night.json': paletteFile(PALETTE_1),
            },
          },
        ],
      });
      const { pa } = readSucceeded(await packNow(project.assetsDir));
      const entry = pa.entries[0]!;
      expect([entry.bankType, entry.codec, entry.size, entry.decodedSize]).toEqual([
        'GLYPH',
        'NONE',
        (256 * 256) / 2 + 2048,
        256 * 256 + 2048,
      ]);
      expect(entry.metadata).toEqual({
        tile_size: tileSize,
        width: 256,
        height: 256,
        palette_count: 2,
        tile_count: count,
      });

      const glyph = readGlyphPayload(entry.bytes);
      let mismatches = 0;
      for (let y = 0; y < 256; y++) {
        for (let x = 0; x < 256; x++) {
          const tile = Math.floor(y / tileSize) * perRow + Math.floor(x / tileSize);
          const [tx, ty] = [x % tileSize, y % tileSize];
          const expected =
            tile >= count ? 0 : tile % 2 === 0 ? (tx + ty) % 4 : tx === 0 && ty === 0 ? 0 : 1 + ((tx * ty) % 2);
          if (glyph.indexAt(x, y) !== expected) mismatches++;
        }
      }
      expect(mismatches).toBe(0);
      for (let p = 0; p < 64; p++) {
        for (let c = 0; c < 16; c++) {
          const declared = p === 0 ? PALETTE_0[c] : p === 1 ? PALETTE_1[c] : undefined;
          expect(glyph.color(p, c), `palette ${p} colour ${c}`).toBe(declared === undefined ? 0 : rgb565(declared));
        }
      }
    },
  );
});

/** A valid glyph bank: two 8×8 tiles through one palette. Each blocking case bends one thing. */
function validGlyph(): {
  root: string;
  type: string;
  inputs: Record<string, string[]>;
  metadata: Record<string, unknown>;
  files: Record<string, Uint8Array | string>;
} {
  return {
    root: 'graphics/ui',
    type: 'glyph_bank',
    inputs: { tiles: ['tiles/a.png', 'tiles/b.png'], palettes: ['pal/p0.json'] },
    metadata: {
      tile_size: 8,
      tiles: [
        { index: 0, source: 'tiles/a.png', palette: 0 },
        { index: 1, source: 'tiles/b.png', palette: 0 },
      ],
    },
    files: {
      'tiles/a.png': makePng(8, 8, tileA),
      'tiles/b.png': makePng(8, 8, (x, y) => opaque(PALETTE_0[(x * y) % 4]!)),
      'pal/p0.json': paletteFile(PALETTE_0),
    },
  };
}

type Glyph = ReturnType<typeof validGlyph>;

const BLOCKING_CASES: [string, (glyph: Glyph) => void, string][] = [
  [
    'a tile_size other than 8, 16 or 32',
    (g) => (g.metadata['tile_size'] = 12),
    'format-declaration-invalid graphics/ui/asset.json: ui (GLYPH/indexed_v1): output.metadata.tile_size is 12; it must be 8, 16 or 32.',
  ],
  [
    'a missing tile_size',
    (g) => delete g.metadata['tile_size'],
    'output.metadata.tile_size is missing; it must be 8, 16 or 32.',
  ],
  [
    'a duplicate index',
    (g) =>
      (g.metadata['tiles'] = [
        { index: 0, source: 'tiles/a.png', palette: 0 },
        { index: 0, source: 'tiles/b.png', palette: 0 },
      ]),
    'output.metadata.tiles[1] and output.metadata.tiles[0] both have index 0; each index holds one tile.',
  ],
  [
    'a gap in the indices',
    (g) =>
      (g.metadata['tiles'] = [
        { index: 0, source: 'tiles/a.png', palette: 0 },
        { index: 3, source: 'tiles/b.png', palette: 0 },
      ]),
    'tile indices must run from 0 without gaps, but indices 1, 2 are not declared (highest is 3).',
  ],
  [
    'an index beyond the sheet (overflow)',
    (g) =>
      (g.metadata['tiles'] = [
        { index: 0, source: 'tiles/a.png', palette: 0 },
        { index: 1024, source: 'tiles/b.png', palette: 0 },
      ]),
    'output.metadata.tiles[1].index is 1024, but a sheet of 8×8 tiles holds 1024 (indices 0 to 1023).',
  ],
  [
    'a huge index in a bank whose tile_size is invalid (no gap list of billions)',
    (g) => {
      g.metadata['tile_size'] = 12;
      g.metadata['tiles'] = [
        { index: 0, source: 'tiles/a.png', palette: 0 },
        { index: 2_000_000_000, source: 'tiles/b.png', palette: 0 },
      ];
    },
    'output.metadata.tile_size is 12; it must be 8, 16 or 32.',
  ],
  [
    'a negative index',
    (g) => ((g.metadata['tiles'] as { index: number }[])[1]!.index = -1),
    'output.metadata.tiles[1].index is -1; it must be an integer from 0.',
  ],
  [
    'no palettes',
    (g) => (g.inputs['palettes'] = []),
    'inputs.palettes lists no palette files; at least 1 is required.',
  ],
  [
    'more than 64 palettes',
    (g) => {
      g.inputs['palettes'] = Array.from({ length: 65 }, (_, index) => `pal/p${index}.json`);
      for (let index = 1; index < 65; index++) g.files[`pal/p${index}.json`] = paletteFile(['#000000']);
    },
    'inputs.palettes lists 65 palette files; at most 64 are allowed.',
  ],
  [
    'a palette that is not JSON',
    (g) => (g.files['pal/p0.json'] = '{ colors: [}'),
    'format-input-invalid graphics/ui/pal/p0.json: ui (GLYPH/indexed_v1): graphics/ui/pal/p0.json is not valid JSON',
  ],
  [
    'a palette with 17 colours',
    (g) => (g.files['pal/p0.json'] = paletteFile(Array.from({ length: 17 }, () => '#000000'))),
    'graphics/ui/pal/p0.json lists 17 colours; a palette holds at most 16.',
  ],
  [
    'a palette with no colours',
    (g) => (g.files['pal/p0.json'] = paletteFile([])),
    'graphics/ui/pal/p0.json lists no colours; a palette holds 1 to 16.',
  ],
  [
    'a malformed colour',
    (g) => (g.files['pal/p0.json'] = paletteFile(['#000000', 'red', '#12345'])),
    'graphics/ui/pal/p0.json has malformed colours: colors[1] is "red", colors[2] is "#12345"; each colour is written "#rrggbb".',
  ],
  [
    'a palette with another key',
    (g) => (g.files['pal/p0.json'] = JSON.stringify({ colors: ['#000000'], name: 'x' })),
    'graphics/ui/pal/p0.json has key "name"; a palette holds only "colors".',
  ],
  [
    'a palette that is a list',
    (g) => (g.files['pal/p0.json'] = '["#000000"]'),
    'graphics/ui/pal/p0.json must hold a JSON object { "colors": ["#rrggbb", ...] }.',
  ],
  [
    'a tile of the wrong size',
    (g) => (g.files['tiles/b.png'] = makePng(16, 8, () => opaque('#000000'))),
    'format-input-invalid graphics/ui/tiles/b.png: ui (GLYPH/indexed_v1): graphics/ui/tiles/b.png is 16×8 pixels; tiles of this bank are 8×8.',
  ],
  [
    'a tile whose header announces a huge image (refused before decoding)',
    (g) => {
      const patched = makePng(8, 8, () => opaque('#000000'));
      new DataView(patched.buffer, patched.byteOffset).setUint32(16, 100000);
      g.files['tiles/b.png'] = patched;
    },
    'graphics/ui/tiles/b.png is 100000×8 pixels; tiles of this bank are 8×8.',
  ],
  [
    'a tile that is not a PNG',
    (g) => (g.files['tiles/b.png'] = 'not a png'),
    'graphics/ui/tiles/b.png is not a PNG image that decodes (',
  ],
  [
    'a pixel colour not in its palette',
    (g) =>
      (g.files['tiles/b.png'] = makePng(8, 8, (x, y) => (x === 3 && y === 2 ? opaque('#ff00ff') : opaque('#000000')))),
    'graphics/ui/tiles/b.png (output.metadata.tiles[1], tile 1): pixel (3, 2) has colour #ff00ff, which palette 0 (pal/p0.json) does not hold; 1 pixel has a colour outside the palette.',
  ],
  [
    'a partly transparent pixel',
    (g) => (g.files['tiles/a.png'] = makePng(8, 8, (_x, y) => (y === 7 ? [0, 0, 0, 128] : opaque('#000000')))),
    'graphics/ui/tiles/a.png (output.metadata.tiles[0], tile 0): pixel (0, 7) has alpha 128; 8 pixels are partly transparent.',
  ],
  [
    'a source not listed in inputs.tiles',
    (g) => ((g.metadata['tiles'] as { source: string }[])[1]!.source = 'tiles/c.png'),
    'output.metadata.tiles[1].source is "tiles/c.png"; it must be one of the paths listed in inputs.tiles.',
  ],
  [
    'a tile image no entry uses',
    (g) => (g.metadata['tiles'] = [{ index: 0, source: 'tiles/a.png', palette: 0 }]),
    'inputs.tiles lists tiles/b.png, but no entry of output.metadata.tiles uses it.',
  ],
  [
    'a palette position out of range',
    (g) => ((g.metadata['tiles'] as { palette: number }[])[1]!.palette = 1),
    'output.metadata.tiles[1].palette is 1; it must be the position of a file in inputs.palettes (0 to 0).',
  ],
  [
    'an empty tile list',
    (g) => (g.metadata['tiles'] = []),
    'output.metadata.tiles lists no tiles; a glyph bank holds at least one.',
  ],
  [
    'a tile entry with an unknown key',
    (g) => ((g.metadata['tiles'] as Record<string, unknown>[])[0]!['flip'] = true),
    'output.metadata.tiles[0] has key "flip"; a tile entry has only "index", "source" and "palette".',
  ],
  [
    'an unknown metadata key',
    (g) => (g.metadata['tile_sizes'] = 8),
    'output.metadata has key "tile_sizes", which this format does not know; its keys are "tile_size", "tiles".',
  ],
  [
    'an unknown input role',
    (g) => (g.inputs['sprites'] = ['tiles/a.png']),
    'inputs has role "sprites", which this format does not use; its roles are "tiles", "palettes".',
  ],
];

describe('GLYPH/indexed_v1 blocking rules', () => {
  it('packs the unbent fixture the blocking cases start from', async () => {
    const glyph = validGlyph();
    const project = writeProject(tempDir(), {
      assets: [{ ...glyph, output: { format: 'GLYPH/indexed_v1', codec: 'NONE', metadata: glyph.metadata } }],
    });
    readSucceeded(await packNow(project.assetsDir));
  });

  it.each(BLOCKING_CASES)('blocks on %s', async (_name, bend, expected) => {
    const glyph = validGlyph();
    bend(glyph);
    const spec: AssetSpec = {
      ...glyph,
      output: { format: 'GLYPH/indexed_v1', codec: 'NONE', metadata: glyph.metadata },
    };
    const project = writeProject(tempDir(), { assets: [spec] });
    const lines = blockedLines(await packNow(project.assetsDir));
    expect(
      lines.some((line) => line.includes(expected)),
      `expected a line containing:\n  ${expected}\ngot:\n  ${lines.join('\n  ')}`,
    ).toBe(true);
  });
});
