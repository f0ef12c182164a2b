/**
 * What must not become divergence, with each real watcher backend: the packer's own writes, and changes
 * undone before the settle window ends. A barrier (an unregistered file deleted after the writes, whose
 * event every backend delivers after theirs) tells the test that the watcher's reports were classified.
 */
import { renameSync, rmSync, statSync, utimesSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { MutationIntent } from '@prometeu/packer-protocol';
import { applyMutationOperation } from '../../server/src/writes/apply-mutation.js';
import { planMutation } from '../../server/src/mutations/plan.js';
import type { Project } from '../../server/src/project/project.js';
import type { WatcherFactory } from '../../server/src/watch/watcher.js';
import { declarationFor, useTempDirs, writeProject, type ProjectSpec } from '../support/workspace-builder.js';
import { BACKENDS, useWatchedProjects, waitFor, type WatchedProject } from './support.js';

const tempDir = useTempDirs('prometeu-watch-own-');
const openWatched = useWatchedProjects();

const BARRIER = 'notes/barrier.txt';

const BASE: ProjectSpec = {
  assets: [
    { root: 'characters/hero', inputs: { data: ['hero.bin'] } },
    { root: 'props/crate', inputs: { data: ['crate.bin'] } },
  ],
  files: { [BARRIER]: 'delete me to flush the watcher' },
};

/** Applies a mutation through the project's lane, the way `packer/applyMutation` does. */
async function apply(project: Project, operationId: string, mutation: MutationIntent): Promise<void> {
  const operationClass = planMutation(project.snapshot(), mutation, { uuid: '' }).operationClass;
  const outcome = await project.lane.enqueue(
    applyMutationOperation(project, operationId, { mutation, consent: true }, project.newUuid, operationClass),
  );
  if (outcome.status !== 'succeeded')
    throw new Error(`${mutation.kind} ended ${outcome.status}: ${JSON.stringify(outcome)}`);
}

/** Deletes the barrier file and waits until the divergence shows it, and nothing else. */
async function flush(watched: WatchedProject, dir: string): Promise<void> {
  rmSync(join(dir, 'assets', BARRIER));
  await watched.untilDivergenceIs([{ path: BARRIER, change: 'removed' }]);
  const announced = watched.eventsOf('divergence.detected').flatMap((event) => event.body.changes);
  expect(announced).toEqual([{ path: BARRIER, change: 'removed' }]);
}

describe.each(BACKENDS)('with the $name backend', ({ factory }) => {
  it("the packer's own relocate, rename and create never appear as divergence", async () => {
    const dir = tempDir();
    writeProject(dir, BASE);
    const watched = await openWatched(dir, { watcher: factory });
    const { project } = watched;

    await apply(project, 'own-relocate', { kind: 'relocate', asset: { assetId: 1 }, to: 'heroes/main-hero' });
    await apply(project, 'own-rename', { kind: 'rename', asset: { assetId: 2 }, name: 'big_crate' });
    await apply(project, 'own-create', {
      kind: 'createAsset',
      root: 'props/lamp',
      declaration: {
        schema_version: 1,
        name: 'lamp',
        type: 'blob',
        inputs: { data: [] },
        output: { format: 'BLOB/raw_v1', codec: 'NONE' },
        preload: { enabled: false },
      },
      register: true,
    });
    // Three commits, each followed by the validation of what it changed (rounds may cover several commits).
    await project.validationSettled();
    const published = watched.eventsOf('snapshot.published').map((event) => event.body.cause);
    expect(published.filter((cause) => cause !== 'validation')).toEqual(['open', 'mutation', 'mutation', 'mutation']);
    const revision = project.snapshot().revision;
    expect(project.snapshot().byId.get(1)!.root).toBe('heroes/main-hero');

    await flush(watched, dir);
    expect(watched.status()).toMatchObject({ revision, state: 'diverged' });
  });

  it('changes undone before the settle window ends are no divergence', async () => {
    const dir = tempDir();
    writeProject(dir, BASE);
    // A watcher that also tells the test what it reported, so each change is undone after it was seen.
    const seen = new Set<string>();
    const spying: WatcherFactory = (assetsDir, listener) =>
      factory(assetsDir, {
        onChanges: (paths) => {
          for (const path of paths) seen.add(path);
          listener.onChanges(paths);
        },
        onFault: (reason) => listener.onFault(reason),
      });
    // The window never ends by itself here: the test settles explicitly once the watcher reported everything.
    const watched = await openWatched(dir, { watcher: spying, settleMs: 600_000 });
    const assetsDir = join(dir, 'assets');

    // An anchor edited, then its text restored.
    const anchor = join(assetsDir, 'characters/hero/asset.json');
    const anchorText = readFileSync(anchor, 'utf8');
    writeFileSync(
      anchor,
      `${JSON.stringify({ ...declarationFor({ root: 'characters/hero' }), name: 'oops' }, null, 2)}\n`,
    );
    // An input rewritten, then its bytes and time restored (as an undo that keeps the file's times does).
    const input = join(assetsDir, 'props/crate/crate.bin');
    const inputText = readFileSync(input);
    const inputStats = statSync(input);
    writeFileSync(input, 'SCRATCH');
    // A stray file created, and a root moved away.
    writeFileSync(join(assetsDir, 'props/stray.tmp'), 'stray');
    renameSync(join(assetsDir, 'props/crate'), join(assetsDir, 'props/crate-moved'));
    await waitFor(
      () => ['characters/hero/asset.json', 'props/stray.tmp', 'props/crate-moved'].every((path) => seen.has(path)),
      () => `the watcher to report the changes; it reported ${JSON.stringify([...seen])}`,
    );

    renameSync(join(assetsDir, 'props/crate-moved'), join(assetsDir, 'props/crate'));
    rmSync(join(assetsDir, 'props/stray.tmp'));
    writeFileSync(input, inputText);
    // Seconds as numbers keep the microseconds (a Date would round to the millisecond).
    utimesSync(input, inputStats.atimeMs / 1000, inputStats.mtimeMs / 1000);
    writeFileSync(anchor, anchorText);
    rmSync(join(assetsDir, BARRIER));
    await waitFor(
      () => seen.has(BARRIER),
      () => `the watcher to report ${BARRIER}; it reported ${JSON.stringify([...seen])}`,
    );
    await watched.project.watch.tracker.settle();

    expect(watched.changes()).toEqual([{ path: BARRIER, change: 'removed' }]);
    expect(watched.eventsOf('divergence.detected').flatMap((event) => event.body.changes)).toEqual([
      { path: BARRIER, change: 'removed' },
    ]);
  });
});
