/**
 * The operation class an apply announces on arrival without planning (`fixedOperationClass`) is the class
 * the plan computes, for every kind it answers for, on a project where plans are blocked, no-ops or changes.
 */
import { realpathSync } from 'node:fs';
import type { MutationIntent } from '@prometeu/packer-protocol';
import { describe, expect, it } from 'vitest';
import { ProjectFs } from '../../server/src/io/project-fs.js';
import { fixedOperationClass, planMutation } from '../../server/src/mutations/plan.js';
import { loadSnapshot } from '../../server/src/project/loader.js';
import { declarationFor, useTempDirs, uuidFor, writeProject, type AssetSpec } from '../support/workspace-builder.js';

const ASSETS: AssetSpec[] = [
  { root: 'chars/hero', registered: true },
  { root: 'chars/slime', registered: true, included: false },
  { root: 'props/crate', registered: false },
  { root: 'sfx/broken', registered: true, declaration: null },
  { root: 'props/copy', uuid: uuidFor('chars/hero'), registered: false },
  {
    root: 'ui/swapped',
    registered: true,
    declaration: { ...declarationFor({ root: 'ui/swapped' }), asset_uuid: '22222222-3333-4444-8555-666666666666' },
  },
];

describe('the operation class announced without planning', () => {
  const tempDir = useTempDirs('packer-fixed-class-');

  it('equals the planned class of every setBuildInclusion, forget, reassignAssetId and rename, blocked or not', () => {
    const dir = realpathSync(tempDir());
    writeProject(dir, { assets: ASSETS });
    const snapshot = loadSnapshot(ProjectFs.openRoot(dir), 1);
    const references = [
      ...ASSETS.map((asset) => ({ root: asset.root })),
      { root: 'missing/root' },
      { assetId: 1 },
      { assetId: 2 },
      { assetId: 99 },
      { assetUuid: uuidFor('chars/hero') },
    ];
    const intents: MutationIntent[] = references.flatMap((asset): MutationIntent[] => [
      { kind: 'setBuildInclusion', asset, included: true },
      { kind: 'setBuildInclusion', asset, included: false },
      { kind: 'forget', asset },
      { kind: 'reassignAssetId', asset },
      { kind: 'rename', asset, name: 'renamed' },
      { kind: 'rename', asset, name: 'hero' },
    ]);
    let checked = 0;
    for (const intent of intents) {
      const fixed = fixedOperationClass(intent.kind);
      expect(fixed).toBeDefined();
      expect(planMutation(snapshot, intent, { uuid: uuidFor('fresh') }).operationClass).toBe(fixed);
      checked++;
    }
    expect(checked).toBe(intents.length);
  });

  it('is left to the plan for kinds whose class depends on the project', () => {
    for (const kind of ['register', 'adopt', 'relocate', 'remove', 'createAsset', 'quarantine', 'restore'] as const)
      expect(fixedOperationClass(kind)).toBeUndefined();
  });
});
