/**
 * A validation round publishes its results in batches: each batch patched into the snapshot current at that
 * moment and published as a revision of its own, with turns of the event loop between two batches, so the open's
 * round (every asset at once) never holds the main thread for a join of the whole project. Where the patch cannot
 * take the snapshot, the results left are joined whole in one revision; a pack that comes between two batches
 * publishes the rest itself.
 */
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { PackerEvent } from '@prometeu/packer-protocol';
import { PackerHost } from '../../server/src/index.js';
import { packOperation } from '../../server/src/writes/pack-project.js';
import { RESULT_BATCH, resultBatchSize } from '../../server/src/validation/project-validation.js';
import { useTempDirs, writeProject, type AssetSpec } from '../support/workspace-builder.js';

const tempDir = useTempDirs('packer-validation-batches-');

function assets(count: number): AssetSpec[] {
  return Array.from({ length: count }, (_, index) => ({
    root: `misc/a${String(index).padStart(4, '0')}`,
    files: { 'data.bin': `asset ${index}` },
  }));
}

type Published = Extract<PackerEvent, { kind: 'snapshot.published' }>;

/** The `snapshot.published` events of validation rounds, in order. */
function validationPublishes(events: readonly PackerEvent[]): Published[] {
  return events.filter(
    (event): event is Published => event.kind === 'snapshot.published' && event.body.cause === 'validation',
  );
}

describe('the batches of a validation round', () => {
  it('are one revision each, of at most a batch of results, and reads between two batches see the revision between', async () => {
    const count = 2 * RESULT_BATCH + 50;
    const written = writeProject(tempDir(), { assets: assets(count) });
    const host = new PackerHost({ watcher: null });
    const events: PackerEvent[] = [];
    const unsubscribe = host.subscribe((event) => events.push(event));
    try {
      const project = await host.open(pathToFileURL(written.root).href);
      // A turn of the event loop, as a read arriving meanwhile would get it: how many assets it finds validated.
      const validatedSeen = new Set<number>();
      let ticking = true;
      const tick = (): void => {
        if (!ticking) return;
        const snapshot = project.snapshot();
        validatedSeen.add(snapshot.counts.roots - snapshot.counts.validationPending);
        setImmediate(tick);
      };
      setImmediate(tick);
      await project.validationSettled();
      ticking = false;

      const publishes = validationPublishes(events);
      const size = resultBatchSize(count);
      expect(publishes).toHaveLength(Math.ceil(count / size));
      // Consecutive revisions, each naming the assets its batch validated, every asset once.
      expect(publishes.map((event) => event.body.revision)).toEqual(publishes.map((_, index) => 2 + index));
      const changed = publishes.flatMap((event) => event.body.assets!.changed.map((entry) => entry.root));
      expect(publishes.every((event) => event.body.assets!.changed.length <= size)).toBe(true);
      expect(changed.sort()).toEqual(assets(count).map((asset) => asset.root));
      expect(project.snapshot().counts.validationPending).toBe(0);
      // Every revision in between was seen by a turn of the loop: the batches did not run in one piece.
      for (let batch = 1; batch < publishes.length; batch++) expect(validatedSeen.has(batch * size)).toBe(true);
    } finally {
      unsubscribe();
      host.dispose();
    }
  });

  it('end in one whole join when the patch cannot take the snapshot (a registered root without its anchor)', async () => {
    const count = 2 * RESULT_BATCH + 50;
    const written = writeProject(tempDir(), {
      assets: [...assets(count), { root: 'gone/missing', declaration: null, files: {} }],
    });
    const host = new PackerHost({ watcher: null });
    const events: PackerEvent[] = [];
    const unsubscribe = host.subscribe((event) => events.push(event));
    try {
      const project = await host.open(pathToFileURL(written.root).href);
      await project.validationSettled();
      expect(project.snapshot().counts.missing).toBe(1);
      expect(project.snapshot().counts.validationPending).toBe(0);
      const publishes = validationPublishes(events);
      expect(publishes).toHaveLength(1);
      expect(publishes[0]!.body.assets!.changed).toHaveLength(count);
    } finally {
      unsubscribe();
      host.dispose();
    }
  });
  it('a pack that comes between two batches publishes the rest itself, and packs every asset validated', async () => {
    const count = 2 * RESULT_BATCH + 50;
    const written = writeProject(tempDir(), { assets: assets(count) });
    const host = new PackerHost({ watcher: null });
    const events: PackerEvent[] = [];
    const unsubscribe = host.subscribe((event) => events.push(event));
    try {
      const project = await host.open(pathToFileURL(written.root).href);
      // Queued as the first batch is published: the lane runs it before the round's second batch.
      let packing: ReturnType<typeof project.lane.enqueue> | undefined;
      const queueOnFirstBatch = host.subscribe((event) => {
        if (packing !== undefined || event.kind !== 'snapshot.published' || event.body.cause !== 'validation') return;
        packing = project.lane.enqueue(packOperation(project, 'pack-1', { projectId: project.id }));
      });
      await project.validationSettled();
      expect(packing).toBeDefined();
      const outcome = await packing!;
      queueOnFirstBatch();
      expect(outcome.status).toBe('succeeded');
      // Every batch after the first was published by the pack's operation, none validated twice.
      const publishes = validationPublishes(events);
      expect(publishes[0]!.operationId).toBeUndefined();
      expect(publishes.slice(1).every((event) => event.operationId === 'pack-1')).toBe(true);
      const changed = publishes.flatMap((event) => event.body.assets!.changed.map((entry) => entry.root));
      expect(changed.sort()).toEqual(assets(count).map((asset) => asset.root));
      expect(project.snapshot().counts.validationPending).toBe(0);
    } finally {
      unsubscribe();
      host.dispose();
    }
  });
});
