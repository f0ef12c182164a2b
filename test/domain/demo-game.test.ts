/**
 * Keeps `examples/demo-game` true to its README: its registry is canonical, its identities agree, the
 * only blocking diagnostic is the deliberate one, and the documented mess is reported. Read-only: the
 * example is never written to.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { crawlAssets } from '../../server/src/domain/crawl.js';
import { workspaceHygiene } from '../../server/src/domain/hygiene.js';
import { parseRegistry, REGISTRY_PATH, serializeRegistry } from '../../server/src/domain/registry.js';
import { buildSnapshot, snapshotDiagnostics } from '../../server/src/domain/snapshot.js';

const assetsDir = join(dirname(fileURLToPath(import.meta.url)), '../../examples/demo-game/assets');

function load() {
  const registryText = readFileSync(join(assetsDir, REGISTRY_PATH), 'utf8');
  const registry = parseRegistry(registryText);
  return { registryText, registry, snapshot: buildSnapshot(1, crawlAssets(assetsDir), registry) };
}

describe('the demo-game example', () => {
  it('has a canonical registry whose every entry agrees with its asset.json', () => {
    const { registryText, registry, snapshot } = load();
    expect(registry.diagnostics).toEqual([]);
    expect(serializeRegistry(registry.registry!)).toBe(registryText);
    for (const entry of registry.entries) {
      const record = snapshot.byId.get(entry.asset_id)!;
      expect(record.anchor, entry.root).not.toBeNull();
      expect(record.anchor!.assetUuid, entry.root).toBe(entry.asset_uuid);
    }
  });

  it('shows the documented assets in the documented states', () => {
    const { snapshot } = load();
    const state = (root: string) => {
      const record = snapshot.byRoot.get(root);
      return record === undefined
        ? 'absent'
        : record.entry === null
          ? 'unregistered'
          : record.entry.included_in_build
            ? `#${record.entry.asset_id}`
            : `#${record.entry.asset_id} excluded`;
    };
    expect(
      Object.fromEntries(
        [
          'characters/hero',
          'characters/enemies/slime',
          'characters/enemies/bat',
          'ui/fonts/main-font',
          'ui/icons',
          'levels/forest/tileset',
          'levels/forest/music',
          'sfx/jump',
          'data/dialogue',
          'data/credits',
          'levels/cave/map',
          'sfx/coin',
          'levels/Boss Arena',
        ].map((root) => [root, state(root)]),
      ),
    ).toEqual({
      'characters/hero': '#1',
      'characters/enemies/slime': '#2',
      'characters/enemies/bat': '#3',
      'ui/fonts/main-font': '#4',
      'ui/icons': '#5',
      'levels/forest/tileset': '#6',
      'levels/forest/music': '#8',
      'sfx/jump': '#9',
      'data/dialogue': '#10',
      'data/credits': '#11 excluded',
      'levels/cave/map': '#12 excluded',
      'sfx/coin': 'unregistered',
      'levels/Boss Arena': 'unregistered',
    });
    expect(snapshot.byId.has(7)).toBe(false);
  });

  it('has exactly one error, the deliberate typo in levels/cave/map, which does not block because that asset is excluded from the build', async () => {
    const { snapshot } = load();
    const all = [...snapshotDiagnostics(snapshot), ...(await workspaceHygiene(snapshot, assetsDir))];
    const errors = all.filter((diagnostic) => diagnostic.severity === 'error');
    expect(errors).toEqual([
      expect.objectContaining({
        code: 'declaration-invalid',
        root: 'levels/cave/map',
        path: 'levels/cave/map/asset.json',
        blocking: false,
      }),
    ]);
    expect(errors[0]!.message).toContain('preload.enabled');
    expect(errors[0]!.message).toContain('enabeld');
    expect(all.filter((diagnostic) => diagnostic.blocking)).toEqual([]);
  });

  it('shows the documented workspace mess as hygiene diagnostics', async () => {
    const { snapshot } = load();
    const hygiene = [...snapshotDiagnostics(snapshot), ...(await workspaceHygiene(snapshot, assetsDir))].filter(
      (diagnostic) => diagnostic.family === 'hygiene',
    );
    const found = hygiene.map((diagnostic) => `${diagnostic.code} ${diagnostic.path ?? diagnostic.root}`);
    expect(found).toEqual(
      expect.arrayContaining([
        'unregistered-root sfx/coin/asset.json',
        'unregistered-root levels/Boss Arena/asset.json',
        'naming levels/Boss Arena',
        'stray-file TODO.txt',
        'stray-file levels/forest/forest-tiles-export.bin',
        'duplicate-content levels/forest/forest-tiles-export.bin',
        'duplicate-content levels/forest/tileset/forest-tiles.bin',
        'unreferenced-file characters/enemies/slime/slime-draft.json',
      ]),
    );
  });
});
