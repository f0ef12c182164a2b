/**
 * Packs a copy of `examples/demo-game`: as shipped it packs (its one deliberate typo sits in an asset
 * excluded from the build); once that asset is included the typo blocks; the glyph and sound banks read
 * back exactly. The example itself is never written to.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readGlyphPayload, readSoundSamples } from '../support/pa-reader.js';
import { useTempDirs } from '../support/workspace-builder.js';
import { packNow, readSucceeded } from './pack-fixtures.js';

const example = join(dirname(fileURLToPath(import.meta.url)), '../../examples/demo-game');
const tempDir = useTempDirs('pack-demo-');

function copyOfExample(): string {
  const assetsDir = join(tempDir(), 'demo-game', 'assets');
  const cache = join(example, 'assets', '.prometeu', 'cache');
  cpSync(join(example, 'assets'), assetsDir, { recursive: true, filter: (source) => source !== cache });
  return assetsDir;
}

describe('the demo-game example', () => {
  it('is blocked by its deliberate typo, and nothing else, once the broken asset is included in the build', async () => {
    const assetsDir = copyOfExample();
    const registry = join(assetsDir, '.prometeu/index.json');
    writeFileSync(
      registry,
      readFileSync(registry, 'utf8').replace(
        /("included_in_build": )false(,\n\s*"root": "levels\/cave\/map")/,
        '$1true$2',
      ),
    );
    const outcome = await packNow(assetsDir);
    expect(
      outcome.status === 'blocked' && outcome.diagnostics.map((diagnostic) => `${diagnostic.code} ${diagnostic.root}`),
    ).toEqual(['declaration-invalid levels/cave/map']);
  });

  it('packs as shipped, glyph banks and sound bank included, and reads back exactly', async () => {
    const assetsDir = copyOfExample();
    const { pa } = readSucceeded(await packNow(assetsDir));
    const byName = new Map(pa.entries.map((entry) => [entry.assetName, entry]));
    const hud = byName.get('hud_glyphs')!;
    expect(hud.metadata).toEqual({ tile_size: 8, width: 256, height: 256, palette_count: 2, tile_count: 6 });
    // The heart's outline pixel (1, 1) is index 1; its transparent corner (0, 0) is index 0.
    expect([readGlyphPayload(hud.bytes).indexAt(0, 0), readGlyphPayload(hud.bytes).indexAt(1, 1)]).toEqual([0, 1]);
    expect(byName.get('forest_terrain')!.metadata).toMatchObject({ tile_size: 16, tile_count: 6 });
    const sfx = byName.get('sfx_bank')!;
    expect(readSoundSamples(sfx).map((sample) => sample.name)).toEqual(['jump', 'coin', 'hit']);
    const jump = readFileSync(join(assetsDir, 'audio/sfx-bank/jump.wav'));
    expect(readSoundSamples(sfx)[0]!.bytes).toEqual(new Uint8Array(jump.subarray(44)));
    expect(pa.preload).toEqual([1, 4, 5, 9, 13, 15]);
  });
});
