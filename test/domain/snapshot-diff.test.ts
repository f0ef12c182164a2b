/**
 * What a published snapshot says changed: every root that appeared, vanished or changed (anchored or not),
 * moves by `asset_uuid`, and the assets whose diagnostics differ with their worst severity before and after.
 * A snapshot built from the previous one reuses unchanged records, and the diff reports none of them.
 */
import { mkdirSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { diffDiagnostics, diffPublishedAssets } from '../../server/src/domain/snapshot-diff.js';
import { loadSnapshot } from '../../server/src/project/loader.js';
import { useTempDirs, uuidFor, writeProject } from '../support/workspace-builder.js';

describe('the diff a published snapshot carries', () => {
  const tempDir = useTempDirs('packer-snapshot-diff-');

  it('a reload of an unchanged workspace reports nothing, and no diagnostics change', () => {
    const dir = realpathSync(tempDir());
    writeProject(dir, { assets: [{ root: 'chars/hero' }, { root: 'loose', registered: false }] });
    const before = loadSnapshot(dir, 1);
    const after = loadSnapshot(dir, 2, before);
    expect(diffPublishedAssets(before, after)).toEqual({ added: [], removed: [], changed: [], moved: [] });
    expect(diffDiagnostics(before, after)).toBeNull();
  });

  it('a registered root whose anchor vanished is changed, a new root is added, and their diagnostics are named', () => {
    const dir = realpathSync(tempDir());
    writeProject(dir, { assets: [{ root: 'chars/hero' }, { root: 'chars/slime' }] });
    const before = loadSnapshot(dir, 1);
    rmSync(join(dir, 'assets', 'chars', 'slime', 'asset.json'));
    writeProject(dir, { assets: [{ root: 'props/lamp', registered: false }] });
    // writeProject rewrote the registry with the lamp only: put the first two entries back.
    writeFileSync(
      join(dir, 'assets', '.prometeu', 'index.json'),
      `${JSON.stringify({
        schema_version: 1,
        next_asset_id: 3,
        assets: [
          { asset_id: 1, asset_uuid: uuidFor('chars/hero'), root: 'chars/hero', included_in_build: true },
          { asset_id: 2, asset_uuid: uuidFor('chars/slime'), root: 'chars/slime', included_in_build: true },
        ],
      })}\n`,
    );
    const after = loadSnapshot(dir, 2, before);
    const diff = diffPublishedAssets(before, after);
    expect(diff.added).toEqual([{ root: 'props/lamp', assetUuid: uuidFor('props/lamp') }]);
    expect(diff.changed).toEqual([{ root: 'chars/slime', assetUuid: uuidFor('chars/slime'), assetId: 2 }]);
    expect(diff.removed).toEqual([]);
    const diagnostics = diffDiagnostics(before, after);
    expect(diagnostics?.assets.map((asset) => [asset.root, asset.previousWorstSeverity, asset.worstSeverity])).toEqual([
      ['chars/slime', null, 'error'],
      ['props/lamp', null, 'info'],
    ]);
    expect(diagnostics?.assets[0]).toMatchObject({ assetId: 2, assetUuid: uuidFor('chars/slime') });
  });

  it('a root moved elsewhere with its asset_uuid is a move, not an addition and a removal', () => {
    const dir = realpathSync(tempDir());
    writeProject(dir, { assets: [{ root: 'loose', registered: false }] });
    const before = loadSnapshot(dir, 1);
    mkdirSync(join(dir, 'assets', 'moved'));
    renameSync(join(dir, 'assets', 'loose'), join(dir, 'assets', 'moved', 'loose'));
    const after = loadSnapshot(dir, 2, before);
    expect(diffPublishedAssets(before, after)).toEqual({
      added: [],
      removed: [],
      changed: [],
      moved: [{ from: 'loose', to: 'moved/loose', assetUuid: uuidFor('loose') }],
    });
  });
});
