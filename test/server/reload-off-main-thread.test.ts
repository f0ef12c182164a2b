/**
 * A reload (reconcile, initWorkspace, recovery) crawls the workspace off the main thread (in the watch's worker;
 * here, from TypeScript sources, inline), then carries format results, compares the crawl with the previous one
 * and patches the snapshot in chunks that yield to the event loop. Reads are answered from the current snapshot
 * meanwhile, and the reload still carries the format results of the declarations it did not see change.
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PackerHost } from '../../server/src/index.js';
import { reconcileOperation } from '../../server/src/writes/reconcile.js';
import { useTempDirs, writeProject, type AssetSpec } from '../support/workspace-builder.js';

const tempDir = useTempDirs('packer-reload-');

describe('a reconcile reloads without holding the main thread', () => {
  it('lets the event loop turn while it reads 1,600 declarations, and serves the previous revision meanwhile', async () => {
    const assets: AssetSpec[] = Array.from({ length: 1_600 }, (_, index) => ({
      root: `misc/a${String(index).padStart(4, '0')}`,
      files: { 'data.bin': `asset ${index}` },
    }));
    const written = writeProject(tempDir(), { assets });
    const host = new PackerHost({ watcher: null });
    try {
      const project = await host.open(pathToFileURL(written.root).href);
      await project.validationSettled();
      const before = project.snapshot();
      // One declaration edited behind the packer's back (still valid): the reconcile must find it.
      appendFileSync(join(written.assetsDir, 'misc/a0007/asset.json'), '\n');

      let reloading = false;
      let published = false;
      const revisionsSeen: number[] = [];
      const unsubscribe = host.subscribe((event) => {
        if (event.kind === 'operation.started' && event.body.operation === 'reconcile') reloading = true;
        if (event.kind === 'snapshot.published' && event.body.cause === 'reconcile') published = true;
      });
      // A turn of the event loop as a read arriving meanwhile would get it: what it would be answered from.
      let ticking = true;
      const tick = (): void => {
        if (!ticking) return;
        if (reloading && !published) revisionsSeen.push(project.snapshot().revision);
        setImmediate(tick);
      };
      setImmediate(tick);
      await project.lane.enqueue(reconcileOperation(project, 'reconcile-1'));
      ticking = false;
      unsubscribe();

      // Loaded in one piece (the old synchronous reload), no turn of the loop would fall in between.
      expect(revisionsSeen.length).toBeGreaterThanOrEqual(3);
      expect(new Set(revisionsSeen)).toEqual(new Set([before.revision]));
      const after = project.snapshot();
      expect(after.revision).toBeGreaterThan(before.revision);
      // Only the edited declaration lost its format result: the others kept the very parse they had.
      const pending = after.assets.filter((record) => record.validation === 'pending').map((record) => record.root);
      expect(pending).toEqual(['misc/a0007']);
      expect(after.parsedAnchors.get('misc/a0008')!.parsed).toBe(before.parsedAnchors.get('misc/a0008')!.parsed);
    } finally {
      host.dispose();
    }
  });
});
