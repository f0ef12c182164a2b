/**
 * Packing a frozen snapshot: the build set, re-validation, divergence, determinism, the incremental
 * cache and cancellation. Every `assets.pa` produced here goes through the independent reader.
 */
import { createHash } from 'node:crypto';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ASSET_TYPES } from '../../server/src/domain/asset-types.js';
import { writeBuildOutputs } from '../../server/src/pack/build-output.js';
import { FORMATS, formatNamed } from '../../server/src/pack/formats/registry.js';
import { cacheKey, folderCache } from '../../server/src/pack/pack-cache.js';
import { PACK_CACHE_PATH, packSnapshot, type PackOptions, type PackOutcome } from '../../server/src/pack/pack.js';
import type { Snapshot } from '../../server/src/domain/snapshot.js';
import { readAssetsPa } from '../support/pa-reader.js';
import { useTempDirs, writeProject, type AssetSpec } from '../support/workspace-builder.js';
import {
  blockedLines,
  makePng,
  makeWav,
  opaque,
  packNow,
  paletteFile,
  readSucceeded,
  snapshotOf,
} from './pack-fixtures.js';

const tempDir = useTempDirs('pack-');

function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A project with one asset of each format, an excluded one and an unregistered broken one; ids do not follow root order. */
function mixedAssets(): AssetSpec[] {
  return [
    {
      root: 'zz/blob',
      registered: 1,
      name: 'level-data',
      inputs: { data: ['level.bin'] },
      files: { 'level.bin': Uint8Array.of(1, 2, 3, 4, 5) },
      preload: true,
    },
    {
      root: 'graphics/hud',
      registered: 3,
      name: 'hud',
      type: 'glyph_bank',
      inputs: { tiles: ['heart.png'], palettes: ['hud.json'] },
      output: {
        format: 'GLYPH/indexed_v1',
        codec: 'NONE',
        metadata: { tile_size: 8, tiles: [{ index: 0, source: 'heart.png', palette: 0 }] },
      },
      files: {
        'heart.png': makePng(8, 8, (x, y) => opaque((x + y) % 2 === 0 ? '#ff0000' : '#000000')),
        'hud.json': paletteFile(['#000000', '#ff0000']),
      },
      preload: true,
    },
    {
      root: 'audio/sfx',
      registered: 2,
      name: 'sfx',
      type: 'sound_bank',
      inputs: { samples: ['a.wav', 'b.wav'] },
      files: { 'a.wav': makeWav({ samples: [1, 2, 3] }), 'b.wav': makeWav({ samples: [4, 5] }) },
    },
    { root: 'old/excluded', registered: 4, included: false, inputs: { data: ['gone.bin'] }, files: {} },
    { root: 'wip/draft', registered: false, declaration: '{ not json' },
  ];
}

/** The lead's flow in miniature: pack, and write build/ only when the pack succeeded. */
async function packAndWrite(projectRoot: string, options: PackOptions): Promise<PackOutcome> {
  const outcome = await packSnapshot(snapshotOf(join(projectRoot, 'assets')), join(projectRoot, 'assets'), options);
  if (outcome.status === 'succeeded') await writeBuildOutputs(projectRoot, outcome.artifacts);
  return outcome;
}

describe('the build set', () => {
  it('holds the registered, included assets in asset_id order, and preload lists the ids that ask for it', async () => {
    const project = writeProject(tempDir(), { assets: mixedAssets() });
    const { outcome, pa } = readSucceeded(await packNow(project.assetsDir));
    expect(pa.entries.map((entry) => [entry.assetId, entry.assetName, entry.bankType])).toEqual([
      [1, 'level-data', 'BLOB'],
      [2, 'sfx', 'SOUNDS'],
      [3, 'hud', 'GLYPH'],
    ]);
    expect(pa.preload).toEqual([1, 3]);
    expect(outcome.entries.map((entry) => [entry.assetId, entry.root, entry.format, entry.fromCache])).toEqual([
      [1, 'zz/blob', 'BLOB/raw_v1', false],
      [2, 'audio/sfx', 'SOUNDS/pcm16le_v1', false],
      [3, 'graphics/hud', 'GLYPH/indexed_v1', false],
    ]);
    expect(pa.entries[0]!.bytes).toEqual(Uint8Array.of(1, 2, 3, 4, 5));
  });

  it('writes asset_table_metadata.json with identities, roots, input hashes and the hash of assets.pa', async () => {
    const project = writeProject(tempDir(), { assets: mixedAssets() });
    const { outcome, pa } = readSucceeded(await packNow(project.assetsDir));
    const text = outcome.artifacts['asset_table_metadata.json'];
    expect(text.endsWith('}\n')).toBe(true);
    const tools = JSON.parse(text) as {
      schema_version: number;
      assets_pa: Record<string, unknown>;
      assets: Record<string, unknown>[];
    };
    expect(tools.schema_version).toBe(1);
    expect(tools.assets_pa).toEqual({
      schema_version: 1,
      header_len: pa.headerLen,
      payload_offset: pa.payloadOffset,
      size: outcome.artifacts['assets.pa'].length,
      sha256: sha256(outcome.artifacts['assets.pa']),
    });
    const sfx = tools.assets[1]!;
    expect(sfx).toMatchObject({
      asset_id: 2,
      asset_uuid: project.uuids['audio/sfx'],
      root: 'audio/sfx',
      type: 'sound_bank',
      format: 'SOUNDS/pcm16le_v1',
      format_version: 1,
      preload: false,
      payload_sha256: sha256(pa.entries[1]!.bytes),
      declaration_sha256: sha256(readFileSync(join(project.assetsDir, 'audio/sfx/asset.json'))),
      inputs: [
        {
          role: 'samples',
          path: 'a.wav',
          size: readFileSync(join(project.assetsDir, 'audio/sfx/a.wav')).length,
          sha256: sha256(readFileSync(join(project.assetsDir, 'audio/sfx/a.wav'))),
        },
        {
          role: 'samples',
          path: 'b.wav',
          size: readFileSync(join(project.assetsDir, 'audio/sfx/b.wav')).length,
          sha256: sha256(readFileSync(join(project.assetsDir, 'audio/sfx/b.wav'))),
        },
      ],
    });
  });

  it('packs an empty build set into a file that ends at payload_offset', async () => {
    const project = writeProject(tempDir(), { assets: [{ root: 'a', included: false }] });
    const { pa, outcome } = readSucceeded(await packNow(project.assetsDir));
    expect(pa.entries).toEqual([]);
    expect(outcome.artifacts['asset_table.json']).toBe('[]\n');
    expect(outcome.artifacts['preload.json']).toBe('[]\n');
  });

  it('has a format for every asset type, with the type and bank type of the type table', () => {
    for (const [type, contract] of Object.entries(ASSET_TYPES)) {
      const format = formatNamed(contract.format);
      expect(format, type).toBeDefined();
      expect(format!.type).toBe(type);
    }
    expect(FORMATS.size).toBe(Object.keys(ASSET_TYPES).length);
  });
});

describe('re-validation', () => {
  it('blocks with every blocking diagnostic of every asset at once', async () => {
    const assets = mixedAssets();
    assets.push({ root: 'broken/two-files', registered: 5, inputs: { data: ['a.bin', 'b.bin'] } });
    assets.push({ root: 'broken/missing-input', registered: 6, inputs: { data: ['absent.bin'] }, files: {} });
    const project = writeProject(tempDir(), { assets });
    const lines = blockedLines(await packNow(project.assetsDir));
    expect(lines).toEqual([
      'input-missing broken/missing-input/absent.bin: Input absent.bin (role data) of missing-input does not exist at broken/missing-input/absent.bin.',
      'format-declaration-invalid broken/two-files/asset.json: two-files (BLOB/raw_v1): inputs.data lists 2 files; at most 1 is allowed.',
    ]);
  });

  it('blocks when the workspace has no registry', async () => {
    const project = writeProject(tempDir(), { assets: mixedAssets(), registry: false });
    const outcome = await packNow(project.assetsDir);
    expect(outcome.status === 'blocked' && outcome.diagnostics.map((diagnostic) => diagnostic.code)).toEqual([
      'registry-missing',
    ]);
  });

  it('never takes a cached payload for an asset that does not validate', async () => {
    const project = writeProject(tempDir(), {
      assets: [
        {
          root: 'sfx',
          type: 'sound_bank',
          inputs: { samples: ['bad.wav'] },
          files: { 'bad.wav': makeWav({ bitsPerSample: 8, data: Uint8Array.of(1, 2) }) },
        },
      ],
    });
    // Plant a well-formed cache entry under the exact key of the invalid asset.
    const snapshot = snapshotOf(project.assetsDir);
    const declaration = snapshot.byRoot.get('sfx')!.anchor!.declaration!;
    const key = cacheKey(
      formatNamed('SOUNDS/pcm16le_v1')!,
      declaration,
      new Map([['bad.wav', sha256(readFileSync(join(project.assetsDir, 'sfx/bad.wav')))]]),
    );
    const cacheDir = join(project.assetsDir, PACK_CACHE_PATH);
    await folderCache(cacheDir).write(key, {
      payload: Uint8Array.of(1, 2),
      decodedSize: 2,
      bankType: 'SOUNDS',
      codec: 'NONE',
      metadata: {},
    });
    expect(existsSync(join(cacheDir, `${key}.bin`))).toBe(true);
    expect(blockedLines(await packSnapshot(snapshot, project.assetsDir, { cacheDir }))).toEqual([
      'format-input-invalid sfx/bad.wav: sfx (SOUNDS/pcm16le_v1): sfx/bad.wav has 8 bits per sample; only 16-bit PCM is accepted.',
    ]);
  });
});

describe('divergence', () => {
  it('reports an asset.json edited after the snapshot', async () => {
    const project = writeProject(tempDir(), { assets: mixedAssets() });
    const snapshot = snapshotOf(project.assetsDir);
    const anchor = join(project.assetsDir, 'audio/sfx/asset.json');
    writeFileSync(anchor, readFileSync(anchor, 'utf8').replace('"sfx"', '"sfx2"'));
    expect(await packSnapshot(snapshot, project.assetsDir, { cacheDir: null })).toEqual({
      status: 'diverged',
      paths: ['audio/sfx/asset.json'],
    });
  });

  it('reports an input deleted after the snapshot, and one created that the snapshot saw missing', async () => {
    const assets = mixedAssets();
    assets.push({ root: 'late', registered: 7, inputs: { data: ['late.bin'] }, files: {} });
    const project = writeProject(tempDir(), { assets });
    const snapshot = snapshotOf(project.assetsDir);
    unlinkSync(join(project.assetsDir, 'audio/sfx/b.wav'));
    writeFileSync(join(project.assetsDir, 'late/late.bin'), 'now here');
    expect(await packSnapshot(snapshot, project.assetsDir, { cacheDir: null })).toEqual({
      status: 'diverged',
      paths: ['audio/sfx/b.wav', 'late/late.bin'],
    });
  });

  it('reports a registry changed after the snapshot', async () => {
    const project = writeProject(tempDir(), { assets: mixedAssets() });
    const snapshot = snapshotOf(project.assetsDir);
    const registry = join(project.assetsDir, '.prometeu/index.json');
    writeFileSync(
      registry,
      readFileSync(registry, 'utf8').replace('"included_in_build": false', '"included_in_build": true'),
    );
    expect(await packSnapshot(snapshot, project.assetsDir, { cacheDir: null })).toEqual({
      status: 'diverged',
      paths: ['.prometeu/index.json'],
    });
  });
});

describe('determinism', () => {
  it('gives identical artifacts for two packs of the same workspace', async () => {
    const project = writeProject(tempDir(), { assets: mixedAssets() });
    const first = readSucceeded(await packNow(project.assetsDir)).outcome.artifacts;
    const second = readSucceeded(await packNow(project.assetsDir)).outcome.artifacts;
    expect(second).toEqual(first);
  });

  it('gives identical artifacts for the same workspace copied to another path', async () => {
    const project = writeProject(tempDir(), { assets: mixedAssets() });
    const copy = join(tempDir(), 'elsewhere', 'deeper');
    cpSync(project.root, copy, { recursive: true });
    const here = readSucceeded(await packNow(project.assetsDir)).outcome.artifacts;
    const there = readSucceeded(await packNow(join(copy, 'assets'))).outcome.artifacts;
    expect(there).toEqual(here);
  });
});

describe('the rebuilt structure', () => {
  it('packs the rebuilt records, whole, when the records of the snapshot disagree with them', async () => {
    const project = writeProject(tempDir(), { assets: mixedAssets() });
    const clean = readSucceeded(await packNow(project.assetsDir)).outcome.artifacts;
    const snapshot = snapshotOf(project.assetsDir);
    const blob = snapshot.byRoot.get('zz/blob')!;
    // One record missing from the build set; one whose declaration is not the parse of its anchor's text.
    const tampered: Snapshot[] = [
      { ...snapshot, assets: snapshot.assets.filter((record) => record !== blob) },
      {
        ...snapshot,
        assets: snapshot.assets.map((record) =>
          record === blob
            ? {
                ...record,
                anchor: {
                  ...record.anchor!,
                  declaration: { ...record.anchor!.declaration!, name: 'not-what-it-says' },
                },
              }
            : record,
        ),
      },
    ];
    for (const wrong of tampered) {
      const { outcome } = readSucceeded(await packSnapshot(wrong, project.assetsDir, { cacheDir: null }));
      expect(outcome.entries.map((entry) => entry.assetId)).toEqual([1, 2, 3]);
      expect(outcome.artifacts).toEqual(clean);
    }
  });

  it('reports the progress of a pack started again on the rebuilt records once, never that of the records it refuted', async () => {
    const project = writeProject(tempDir(), { assets: mixedAssets() });
    const snapshot = snapshotOf(project.assetsDir);
    const blob = snapshot.byRoot.get('zz/blob')!;
    // The registry on disk names one asset fewer than the snapshot packed: the rebuilt structure refutes it.
    const wrong: Snapshot = { ...snapshot, assets: snapshot.assets.filter((record) => record !== blob) };
    const seen: [number, number, string][] = [];
    readSucceeded(
      await packSnapshot(wrong, project.assetsDir, {
        cacheDir: null,
        onProgress: (done, total, name) => seen.push([done, total, name]),
      }),
    );
    expect(seen).toEqual([
      [1, 3, 'sfx'],
      [2, 3, 'hud'],
      [3, 3, 'level-data'],
    ]);
  });
});

describe('the incremental cache', () => {
  it('gives exactly the bytes of a clean pack, and re-materialises only the asset whose input changed (and every blob, whose payload is its input and is never cached)', async () => {
    const project = writeProject(tempDir(), { assets: mixedAssets() });
    const cached: PackOptions = {};
    const clean = readSucceeded(await packNow(project.assetsDir)).outcome;

    const cold = readSucceeded(await packNow(project.assetsDir, cached)).outcome;
    expect([cold.materialized, cold.fromCache]).toEqual([[1, 2, 3], []]);
    expect(readdirSync(join(project.assetsDir, PACK_CACHE_PATH)).filter((name) => name.endsWith('.bin'))).toHaveLength(
      2,
    );
    expect(cold.artifacts).toEqual(clean.artifacts);

    const warm = readSucceeded(await packNow(project.assetsDir, cached)).outcome;
    expect([warm.materialized, warm.fromCache]).toEqual([[1], [2, 3]]);
    expect(warm.artifacts).toEqual(clean.artifacts);

    writeFileSync(join(project.assetsDir, 'audio/sfx/b.wav'), makeWav({ samples: [4, 5, 6, 7] }));
    const changed = readSucceeded(await packNow(project.assetsDir, cached)).outcome;
    expect([changed.materialized, changed.fromCache]).toEqual([[1, 2], [3]]);
    expect(changed.artifacts).toEqual(readSucceeded(await packNow(project.assetsDir)).outcome.artifacts);
  });

  it('ignores and rebuilds corrupt or truncated cache entries', async () => {
    const project = writeProject(tempDir(), { assets: mixedAssets() });
    const clean = readSucceeded(await packNow(project.assetsDir)).outcome;
    readSucceeded(await packNow(project.assetsDir, {}));
    const cacheDir = join(project.assetsDir, PACK_CACHE_PATH);
    const entries = readdirSync(cacheDir).sort();
    expect(entries).toHaveLength(2);
    const [first, second] = entries.map((name) => join(cacheDir, name));
    writeFileSync(first!, readFileSync(first!).subarray(0, 20));
    const flipped = readFileSync(second!);
    flipped[flipped.length - 1] = flipped[flipped.length - 1]! ^ 0xff;
    writeFileSync(second!, flipped);

    const rebuilt = readSucceeded(await packNow(project.assetsDir, {})).outcome;
    expect([rebuilt.materialized, rebuilt.fromCache]).toEqual([[1, 2, 3], []]);
    expect(rebuilt.artifacts).toEqual(clean.artifacts);
    writeFileSync(first!, 'junk');
    const junk = readSucceeded(await packNow(project.assetsDir, {})).outcome;
    expect(junk.artifacts).toEqual(clean.artifacts);
    const again = readSucceeded(await packNow(project.assetsDir, {})).outcome;
    expect(again.fromCache).toEqual([2, 3]);
  });
});

describe('cancellation and progress', () => {
  it('reports progress after each asset of the build set, visited in the order of their roots on disk', async () => {
    const project = writeProject(tempDir(), { assets: mixedAssets() });
    const seen: [number, number, string][] = [];
    readSucceeded(
      await packNow(project.assetsDir, {
        cacheDir: null,
        onProgress: (done, total, name) => seen.push([done, total, name]),
      }),
    );
    expect(seen).toEqual([
      [1, 3, 'sfx'],
      [2, 3, 'hud'],
      [3, 3, 'level-data'],
    ]);
  });

  it('returns cancelled when the signal is already aborted', async () => {
    const project = writeProject(tempDir(), { assets: mixedAssets() });
    expect(await packNow(project.assetsDir, { signal: AbortSignal.abort() })).toEqual({ status: 'cancelled' });
  });

  it('a pack cancelled mid-way returns cancelled and never reaches build/', async () => {
    const project = writeProject(tempDir(), { assets: mixedAssets() });
    const controller = new AbortController();
    const outcome = await packAndWrite(project.root, {
      cacheDir: null,
      signal: controller.signal,
      onProgress: (done) => {
        if (done === 1) controller.abort();
      },
    });
    expect(outcome).toEqual({ status: 'cancelled' });
    expect(existsSync(join(project.root, 'build'))).toBe(false);
  });

  it('a cancelled pack leaves an earlier build/ untouched', async () => {
    const project = writeProject(tempDir(), { assets: mixedAssets() });
    expect((await packAndWrite(project.root, { cacheDir: null })).status).toBe('succeeded');
    const before = readdirSync(join(project.root, 'build')).map((name) => [
      name,
      sha256(readFileSync(join(project.root, 'build', name))),
    ]);
    writeFileSync(join(project.assetsDir, 'zz/blob/level.bin'), 'changed');
    const controller = new AbortController();
    const outcome = await packAndWrite(project.root, {
      cacheDir: null,
      signal: controller.signal,
      onProgress: () => controller.abort(),
    });
    expect(outcome.status).toBe('cancelled');
    expect(
      readdirSync(join(project.root, 'build')).map((name) => [
        name,
        sha256(readFileSync(join(project.root, 'build', name))),
      ]),
    ).toEqual(before);
  });
});

describe('pack to build/', () => {
  it('writes artifacts that read back from disk exactly as packed', async () => {
    const project = writeProject(tempDir(), { assets: mixedAssets() });
    const outcome = await packAndWrite(project.root, { cacheDir: null });
    const { outcome: packed } = readSucceeded(outcome);
    const build = join(project.root, 'build');
    expect(readdirSync(build).sort()).toEqual([
      'asset_table.json',
      'asset_table_metadata.json',
      'assets.pa',
      'preload.json',
    ]);
    const pa = readAssetsPa(new Uint8Array(readFileSync(join(build, 'assets.pa'))));
    expect(pa.entries.map((entry) => entry.assetId)).toEqual([1, 2, 3]);
    expect(readFileSync(join(build, 'asset_table.json'), 'utf8')).toBe(packed.artifacts['asset_table.json']);
    rmSync(build, { recursive: true });
  });
});
