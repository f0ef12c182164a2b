/**
 * A thousand asset roots copied into `assets/` in one go (a file manager pasting a prepared tree), with
 * each real watcher backend: every new anchor is in the divergence, and reconcile lists every new root.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resultBatchSize } from '../../server/src/validation/project-validation.js';
import { declarationFor, useTempDirs, writeProject } from '../support/workspace-builder.js';
import { BACKENDS, useWatchedProjects, waitFor } from './support.js';

const tempDir = useTempDirs('prometeu-watch-bulk-');
const openWatched = useWatchedProjects();

const ROOT_COUNT = 1_000;

/** Writes a tree of `count` asset roots (anchor and one input each) under `dir`, outside any project. */
function prepareTree(dir: string, count: number): string[] {
  const roots: string[] = [];
  for (let index = 0; index < count; index++) {
    const root = `pack-${String(Math.floor(index / 100)).padStart(2, '0')}/item-${String(index).padStart(4, '0')}`;
    mkdirSync(join(dir, root), { recursive: true });
    writeFileSync(
      join(dir, root, 'asset.json'),
      `${JSON.stringify(declarationFor({ root: `imported/${root}` }), null, 2)}\n`,
    );
    writeFileSync(join(dir, root, 'data.bin'), `item ${index}`);
    roots.push(`imported/${root}`);
  }
  return roots;
}

// The tree is written once and copied by each test (writing 2,000 files is most of the cost).
let staging = '';
let roots: string[] = [];
beforeAll(() => {
  staging = mkdtempSync(join(tmpdir(), 'prometeu-watch-bulk-staging-'));
  roots = prepareTree(join(staging, 'imported'), ROOT_COUNT);
});
afterAll(() => rmSync(staging, { recursive: true, force: true }));

describe.each(BACKENDS)('with the $name backend', ({ factory }) => {
  it(`${ROOT_COUNT} roots copied in at once are all in the divergence, and reconcile lists every one as added`, async () => {
    const dir = tempDir();
    writeProject(dir, { assets: [{ root: 'characters/hero', inputs: { data: ['hero.bin'] } }] });
    const watched = await openWatched(dir, { watcher: factory });

    cpSync(join(staging, 'imported'), join(dir, 'assets', 'imported'), { recursive: true });
    const wanted = new Set(roots.map((root) => `${root}/asset.json`));
    const addedAnchors = (): number =>
      watched.changes().filter((change) => change.change === 'added' && wanted.has(change.path)).length;
    await waitFor(
      () => addedAnchors() === ROOT_COUNT,
      () => `${ROOT_COUNT} added anchors in the divergence; there are ${addedAnchors()}`,
    );
    // The inputs came with them; nothing else changed.
    await waitFor(
      () => watched.changes().length === 2 * ROOT_COUNT,
      () => `${2 * ROOT_COUNT} divergent paths; there are ${watched.changes().length}`,
    );
    expect(watched.changes().every((change) => change.change === 'added')).toBe(true);
    const announced = new Set(
      watched.eventsOf('divergence.detected').flatMap((event) => event.body.changes.map((change) => change.path)),
    );
    expect([...wanted].filter((path) => !announced.has(path))).toEqual([]);
    expect(watched.status().revision).toBe(2);

    const response = await watched.reconcile();
    expect(response.clearedChanges).toBe(2 * ROOT_COUNT);
    expect(response.diff.added.map((entry) => entry.root)).toEqual([...roots].sort());
    expect(response.diff).toMatchObject({ removed: [], moved: [], changed: [] });
    expect(watched.status()).toMatchObject({
      // The reconcile's, then the validation of every root it read, published in batches.
      revision: 3 + Math.ceil(ROOT_COUNT / resultBatchSize(ROOT_COUNT)),
      state: 'ready',
      counts: { roots: ROOT_COUNT + 1, unregistered: ROOT_COUNT },
    });
  });
});
