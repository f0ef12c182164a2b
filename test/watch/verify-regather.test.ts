/**
 * The verification's second gathering of candidates: it walks every file at once, so it is made only when a
 * commit changed the crawl while the candidates were gathered in slices, not when a snapshot on the same crawl
 * was published meanwhile (the open's validation round publishes its batches during the verification pass).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EventLog } from '../../server/src/project/event-log.js';
import { loadSnapshot } from '../../server/src/project/loader.js';
import { ProjectFs } from '../../server/src/io/project-fs.js';
import type { Snapshot } from '../../server/src/domain/snapshot.js';
import { ProjectWatch, type WatchedProject } from '../../server/src/watch/project-watch.js';
import { useTempDirs, writeProject } from '../support/workspace-builder.js';

const tempDir = useTempDirs('prometeu-verify-regather-');

/** A project whose snapshot is a new object at every look after the first, made by `next` from the loaded one. */
function projectPublishingOn(dir: string, next: (loaded: Snapshot) => Snapshot) {
  const loaded = loadSnapshot(dir, 1);
  let looks = 0;
  let idleWaits = 0;
  const assetsDir = join(dir, 'assets');
  const project: WatchedProject = {
    assetsDir,
    assetsFs: ProjectFs.ofFolder(assetsDir),
    events: new EventLog('p1', 'e1'),
    snapshot: () => (looks++ === 0 ? loaded : next(loaded)),
    registryText: () => null,
    whenLaneIdle: () => {
      idleWaits++;
      return Promise.resolve();
    },
    scheduleReconcile: () => undefined,
    canWriteControlData: () => false,
  };
  return { project, idleWaits: () => idleWaits };
}

const SPEC = {
  assets: [
    { root: 'characters/hero', inputs: { data: ['hero.bin'] } },
    { root: 'props/crate', inputs: { data: ['crate.bin'] } },
  ],
};

/**
 * One verification of a project of {@link SPEC} whose snapshot is `next(loaded)` at every look: how often it
 * gathered its candidates again and how often it waited for the lane to be idle.
 */
async function verifiedOnce(next: (loaded: Snapshot) => Snapshot): Promise<{ regathered: number; idleWaits: number }> {
  const dir = tempDir();
  writeProject(dir, SPEC);
  const { project, idleWaits } = projectPublishingOn(dir, next);
  const watch = new ProjectWatch(project, {
    factory: null,
    settleMs: 10,
    verifyIntervalMs: 1000,
    autoReconcile: false,
  });
  try {
    expect(await watch.verifyNow()).toBe(true);
    return { regathered: watch.regathered, idleWaits: idleWaits() };
  } finally {
    await watch.dispose();
  }
}

describe('the verification against the disk', () => {
  it('keeps its candidates when a snapshot on the same crawl was published while it gathered them', async () => {
    expect(await verifiedOnce((loaded) => ({ ...loaded }))).toEqual({ regathered: 0, idleWaits: 1 });
  });

  it('gathers them again when the crawl changed meanwhile (a commit wrote files)', async () => {
    expect(await verifiedOnce((loaded) => ({ ...loaded, crawl: { ...loaded.crawl } }))).toEqual({
      regathered: 1,
      idleWaits: 2,
    });
  });
});
