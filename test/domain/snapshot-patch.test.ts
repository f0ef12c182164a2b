/**
 * Property test of the snapshot a commit publishes: over seeded random sequences of mutations committed to
 * a real project on disk, the snapshot patched from its predecessor (`snapshotAfterCommit`) equals one built
 * from scratch on the same crawl and registry, records, indexes, counts and diagnostics included, and the
 * published diff taken from the patch equals the diff walked over every asset.
 */
import { realpathSync } from 'node:fs';
import fc from 'fast-check';
import type { MutationIntent } from '@prometeu/packer-protocol';
import { describe, expect, it } from 'vitest';
import { ProjectFs } from '../../server/src/io/project-fs.js';
import { loadSnapshot, readRegistryText, snapshotAfterCommit } from '../../server/src/project/loader.js';
import { executeEffect } from '../../server/src/mutations/execute.js';
import { planMutation, touchedFolders } from '../../server/src/mutations/plan.js';
import { checkRegistry, serializeRegistry } from '../../server/src/domain/registry.js';
import {
  buildSnapshot,
  patchedRoots,
  pendingRecordsOf,
  type AssetRecord,
  type Snapshot,
} from '../../server/src/domain/snapshot.js';
import { diffDiagnostics, diffPublishedAssets, diffSnapshots } from '../../server/src/domain/snapshot-diff.js';
import { snapshotShape } from '../support/snapshot-shape.js';
import { declarationFor, useTempDirs, uuidFor, writeProject, type AssetSpec } from '../support/workspace-builder.js';

const SEED = 1313;
const RUNS = 30;

/**
 * The project every run starts from: registered and unregistered roots, one registered root excluded from
 * the build, one whose input is missing, one whose asset.json and entry disagree on its asset_uuid, a copy
 * sharing another's asset_uuid and a root nested in another,
 * so that commits meet both what a patch handles and what it leaves to a whole build.
 */
const ROOTS = [
  'chars/hero',
  'chars/slime',
  'chars/bat',
  'props/crate',
  'props/barrel',
  'props/door',
  'ui/icons',
  'ui/font',
  'music/theme',
  'music/battle',
  'sfx/jump',
  'sfx/hit',
];
const ASSETS: AssetSpec[] = [
  ...ROOTS.map((root, index) => ({ root, registered: index < 7, included: index !== 3 })),
  { root: 'sfx/broken', registered: true, files: {} },
  { root: 'props/copy', uuid: uuidFor('props/crate'), registered: false },
  { root: 'ui/icons/small', registered: false },
  {
    root: 'ui/swapped',
    registered: true,
    declaration: { ...declarationFor({ root: 'ui/swapped' }), asset_uuid: '22222222-3333-4444-8555-666666666666' },
  },
];
const ROOT_POOL = [
  ...ROOTS,
  'sfx/broken',
  'props/copy',
  'ui/icons/small',
  'ui/swapped',
  'moved/a',
  'moved/b',
  'fresh/x',
  'fresh/y',
  'chars/hero/inner',
];
const UUID_POOL = [...ROOTS.map((root) => uuidFor(root)), '11111111-2222-4333-8444-555555555555'];

const root = fc.constantFrom(...ROOT_POOL);
const reference = fc.oneof(
  fc.integer({ min: 1, max: 10 }).map((assetId) => ({ assetId })),
  root.map((path) => ({ root: path })),
  fc.constantFrom(...UUID_POOL).map((assetUuid) => ({ assetUuid })),
);
const intent: fc.Arbitrary<MutationIntent> = fc.oneof(
  { arbitrary: root.map((path): MutationIntent => ({ kind: 'register', root: path })), weight: 3 },
  {
    arbitrary: fc.tuple(reference, root).map(([asset, to]): MutationIntent => ({ kind: 'relocate', asset, to })),
    weight: 3,
  },
  { arbitrary: reference.map((asset): MutationIntent => ({ kind: 'forget', asset })), weight: 1 },
  {
    arbitrary: fc
      .tuple(reference, fc.constantFrom('alpha', 'beta'))
      .map(([asset, name]): MutationIntent => ({ kind: 'rename', asset, name })),
    weight: 2,
  },
  {
    arbitrary: fc
      .tuple(reference, fc.boolean())
      .map(([asset, included]): MutationIntent => ({ kind: 'setBuildInclusion', asset, included })),
    weight: 2,
  },
  { arbitrary: reference.map((asset): MutationIntent => ({ kind: 'quarantine', asset })), weight: 1 },
  {
    arbitrary: fc
      .tuple(fc.constantFrom(...UUID_POOL), fc.option(root, { nil: undefined }))
      .map(([assetUuid, to]): MutationIntent => ({
        kind: 'restore',
        asset: { assetUuid },
        ...(to !== undefined ? { to } : {}),
      })),
    weight: 1,
  },
  {
    arbitrary: fc.tuple(root, fc.boolean()).map(([path, register]): MutationIntent => ({
      kind: 'createAsset',
      root: path,
      declaration: {
        name: 'made',
        type: 'blob',
        inputs: { data: ['data.bin'] },
        output: { format: 'BLOB/raw_v1', codec: 'NONE' },
        preload: { enabled: false },
      },
      register,
    })),
    weight: 1,
  },
  { arbitrary: reference.map((asset): MutationIntent => ({ kind: 'remove', asset })), weight: 1 },
  { arbitrary: root.map((path): MutationIntent => ({ kind: 'adopt', root: path })), weight: 1 },
);

/** The first pending record of each root, in the order of the record list. */
function walkedPending(snapshot: Snapshot): AssetRecord[] {
  const seen = new Set<string>();
  return snapshot.assets.filter(
    (record) => record.validation === 'pending' && !seen.has(record.root) && seen.add(record.root) !== undefined,
  );
}

describe('the snapshot a commit publishes', () => {
  const tempDir = useTempDirs('packer-snapshot-patch-');

  it('equals the snapshot built from scratch after every commit of random mutation sequences, and so does its published diff', async () => {
    let commits = 0;
    let patched = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(intent, { minLength: 4, maxLength: 14 }), async (intents) => {
        const dir = realpathSync(tempDir());
        writeProject(dir, { assets: ASSETS });
        const projectFs = ProjectFs.openRoot(dir);
        const assetsFs = projectFs.at('assets');
        let snapshot = loadSnapshot(projectFs, 1);
        for (const [step, mutation] of intents.entries()) {
          const plan = planMutation(snapshot, mutation, {
            uuid: `00000000-0000-4000-8000-${String(step).padStart(12, '0')}`,
            time: '2026-12-01T00:00:00.000Z',
          });
          if (plan.blockers.length > 0) continue;
          await executeEffect(
            assetsFs,
            `op-${step}`,
            plan.effect.actions,
            readRegistryText(assetsFs).text,
            plan.effect.registry !== null ? serializeRegistry(plan.effect.registry) : null,
          );
          const next = snapshotAfterCommit(
            snapshot,
            assetsFs,
            plan.effect.registry,
            touchedFolders(plan.effect.actions),
          );
          commits++;
          if (patchedRoots(snapshot, next) !== undefined) patched++;
          // A copy of the crawl, so that nothing the patch cached for its crawl is reused.
          const scratch = buildSnapshot(next.revision, { ...next.crawl }, next.parsedRegistry, {
            quarantine: next.quarantine,
            formatResults: snapshot.formatResults,
            ...(next.unrecoverableJournals.length > 0 ? { previous: snapshot } : {}),
          });
          const { crawl: _crawl, ...shownNext } = snapshotShape(next) as { crawl: unknown };
          const { crawl: _scratchCrawl, ...shownScratch } = snapshotShape(scratch) as { crawl: unknown };
          expect(shownNext, `after ${JSON.stringify(intents.slice(0, step + 1))}`).toEqual(shownScratch);
          expect(scratch.crawl).toEqual(next.crawl);
          // A later build on the same crawl (validation results arriving) uses the anchor analysis the patch left.
          const onPatchedAnalysis = buildSnapshot(next.revision, next.crawl, next.parsedRegistry, {
            quarantine: next.quarantine,
            formatResults: snapshot.formatResults,
            ...(next.unrecoverableJournals.length > 0 ? { previous: snapshot } : {}),
          });
          expect(snapshotShape(onPatchedAnalysis)).toEqual(snapshotShape(scratch));
          // The re-crawl of the written folders, spliced into the previous crawl, against a crawl of everything.
          // (Only a full crawl lists the set-aside journals, and after a commit that wrote nothing the crawl is the full one.)
          const { unrecoverableJournals: _journals, ...crawled } = loadSnapshot(projectFs, next.revision).crawl;
          const { unrecoverableJournals: _carried, ...spliced } = next.crawl;
          expect(spliced).toEqual(crawled);
          // The registry checked from its predecessor, against a check of the whole registry.
          if (next.registry !== null) expect(next.parsedRegistry).toEqual(checkRegistry(next.registry));
          // The diffs a publish sends, from the patch, against those walked over every asset.
          const whole = buildSnapshot(next.revision, { ...next.crawl }, next.parsedRegistry, {
            quarantine: next.quarantine,
            previous: snapshot,
          });
          expect(diffPublishedAssets(snapshot, next)).toEqual(diffPublishedAssets(snapshot, whole));
          expect(diffSnapshots(snapshot, next)).toEqual(diffSnapshots(snapshot, whole));
          expect(diffDiagnostics(snapshot, next)).toEqual(diffDiagnostics(snapshot, whole));
          // The pending records, derived from a predecessor's (asked after most commits, so chains of two occur
          // too), against a walk of every record.
          if (step % 3 !== 1) expect(pendingRecordsOf(next)).toEqual(walkedPending(next));
          snapshot = next;
        }
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    // Most commits take the patch; the rest meet conflicts across assets that a whole build decides.
    expect(patched).toBeGreaterThan(commits / 3);
  });
});
