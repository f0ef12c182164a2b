/**
 * A change the watcher reports while a reconcile runs, after its reload read the disk, is divergence from the
 * reconcile's own snapshot: accepting the disk must not swallow what was written after it was read.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useTempDirs, writeProject, type ProjectSpec } from '../support/workspace-builder.js';
import { fakeWatcher, useWatchedProjects } from './support.js';

const tempDir = useTempDirs('prometeu-watch-during-reconcile-');
const openWatched = useWatchedProjects();

const BASE: ProjectSpec = {
  assets: [
    { root: 'characters/hero', inputs: { data: ['hero.bin'] } },
    { root: 'props/crate', inputs: { data: ['crate.bin'] } },
  ],
};

describe('changes during a reconcile', () => {
  it('an asset.json rewritten after the reload read it, reported before the reconcile ends, is divergence afterwards', async () => {
    const dir = tempDir();
    writeProject(dir, BASE);
    const fake = fakeWatcher();
    const watched = await openWatched(dir, { watcher: fake.factory });
    const crate = join(dir, 'assets/props/crate/asset.json');
    // An input changed outside the packer: the reconcile below accepts it.
    writeFileSync(join(dir, 'assets/characters/hero/hero.bin'), 'CHANGED BEFORE THE RECONCILE');
    fake.listener().onChanges(['characters/hero/hero.bin']);
    await watched.untilDivergenceIs([{ path: 'characters/hero/hero.bin', change: 'changed' }]);

    // The moment the reconcile publishes, its reload has read the disk; the crate's declaration is rewritten
    // then and the watcher reports it before the reconcile has ended.
    let rewritten = false;
    const unsubscribe = watched.project.events.subscribe((event) => {
      if (rewritten || event.kind !== 'snapshot.published' || event.body.cause !== 'reconcile') return;
      rewritten = true;
      const declaration = JSON.parse(readFileSync(crate, 'utf8')) as Record<string, unknown>;
      writeFileSync(crate, JSON.stringify({ ...declaration, name: 'renamed-behind-the-reconcile' }));
      fake.listener().onChanges(['props/crate/asset.json']);
    });
    try {
      const response = await watched.reconcile();
      expect(rewritten).toBe(true);
      expect(response.accepted).toEqual([{ path: 'characters/hero/hero.bin', change: 'changed' }]);
    } finally {
      unsubscribe();
    }
    // The reconcile's snapshot holds the crate's old declaration; the disk holds the new one.
    await watched.untilDivergenceIs([{ path: 'props/crate/asset.json', change: 'changed' }]);
    expect(watched.status()).toMatchObject({ state: 'diverged' });
  });
});
