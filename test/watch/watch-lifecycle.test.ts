/**
 * The watch over a project's life: a change made while the watcher arms, auto-reconcile as an operation of
 * its own, the watched folder deleted, a watcher fault that degrades to periodic verification, and changes
 * made while no packer was running.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { PackerEvent } from '@prometeu/packer-protocol';
import { applyMutationOperation } from '../../server/src/writes/apply-mutation.js';
import { FINGERPRINT_PATH } from '../../server/src/watch/fingerprint.js';
import type { WatcherFactory } from '../../server/src/watch/watcher.js';
import { declarationFor, useTempDirs, writeProject, type ProjectSpec } from '../support/workspace-builder.js';
import { BACKENDS, fakeWatcher, useWatchedProjects, waitFor } from './support.js';

const tempDir = useTempDirs('prometeu-watch-life-');
const openWatched = useWatchedProjects();

const BASE: ProjectSpec = {
  assets: [
    { root: 'characters/hero', inputs: { data: ['hero.bin'] } },
    { root: 'props/crate', inputs: { data: ['crate.bin'] } },
  ],
};

function isReconcile(event: PackerEvent): boolean {
  return event.kind.startsWith('operation.') && (event.body as { operation?: string }).operation === 'reconcile';
}

describe.each(BACKENDS)('with the $name backend', ({ factory }) => {
  it('with auto-reconcile, an external change is reconciled by an operation with its own events and a new revision', async () => {
    const dir = tempDir();
    writeProject(dir, BASE);
    const watched = await openWatched(dir, { watcher: factory }, { autoReconcile: true });
    expect(watched.status().watching.autoReconcile).toBe(true);

    writeFileSync(join(dir, 'assets/characters/hero/hero.bin'), 'REWRITTEN HERO BYTES, longer');
    await waitFor(
      () => watched.events().some((event) => event.kind === 'operation.succeeded' && isReconcile(event)),
      'a reconcile to succeed',
    );

    const events = watched.events();
    const detected = events.findIndex((event) => event.kind === 'divergence.detected');
    const lifecycle = events.filter(isReconcile);
    expect(lifecycle.map((event) => event.kind)).toEqual([
      'operation.queued',
      'operation.started',
      'operation.succeeded',
    ]);
    const operationId = lifecycle[0]!.operationId!;
    expect(lifecycle.every((event) => event.operationId === operationId)).toBe(true);
    expect(detected).toBeGreaterThanOrEqual(0);
    expect(events.indexOf(lifecycle[0]!)).toBeGreaterThan(detected);
    // Every snapshot after the first was published by that reconcile: no silent refresh.
    const published = events.filter((event) => event.kind === 'snapshot.published').slice(1);
    expect(published).toEqual([
      expect.objectContaining({
        operationId,
        body: expect.objectContaining({ revision: 2, previousRevision: 1, cause: 'reconcile' }) as unknown,
      }),
    ]);
    expect(lifecycle[2]!.body).toMatchObject({ revision: 2, outcome: { clearedChanges: 1 } });
    expect(watched.status()).toMatchObject({ revision: 2, state: 'ready' });
  });

  it('a file rewritten while the watcher arms is found by the verification pass that follows', async () => {
    const dir = tempDir();
    writeProject(dir, BASE);
    // The rewrite lands after the snapshot was read and before the watcher reports anything.
    const arming: WatcherFactory = (assetsDir, listener) => {
      writeFileSync(join(assetsDir, 'characters/hero/hero.bin'), 'REWRITTEN WHILE THE WATCHER ARMED, longer');
      return factory(assetsDir, listener);
    };
    const watched = await openWatched(dir, { watcher: arming });
    await watched.untilDivergenceIs([{ path: 'characters/hero/hero.bin', change: 'changed' }]);
    expect(watched.status()).toMatchObject({ revision: 1, state: 'diverged', watching: { state: 'watching' } });
  });

  it('deleting the watched assets/ folder degrades watching with an event, and status keeps answering', async () => {
    const dir = tempDir();
    writeProject(dir, BASE);
    const watched = await openWatched(dir, { watcher: factory });

    rmSync(join(dir, 'assets'), { recursive: true });
    await waitFor(
      () => watched.eventsOf('watch.stateChanged').some((event) => event.body.state === 'degraded'),
      () => `watching to degrade; events: ${JSON.stringify(watched.events().map((event) => event.kind))}`,
    );
    const status = watched.status();
    expect(status).toMatchObject({ revision: 1, watching: { state: 'degraded' } });
    expect(status.watching.reason).toMatch(/assets\/ was deleted/);

    // Periodic verification keeps failing while the folder is gone; it says why once, not at every pass.
    const degradedEvents = (): number =>
      watched.eventsOf('watch.stateChanged').filter((event) => event.body.state === 'degraded').length;
    await watched.project.watch.verifyNow();
    const afterFirstPass = degradedEvents();
    expect(afterFirstPass).toBeLessThanOrEqual(2);
    await watched.project.watch.verifyNow();
    await watched.project.watch.verifyNow();
    expect(degradedEvents()).toBe(afterFirstPass);
    expect(watched.status().watching.state).toBe('degraded');
    expect(watched.status().revision).toBe(1);
  });

  it('changes made while no packer ran are divergence on the next open (between runs); reconcile clears it for good', async () => {
    const dir = tempDir();
    writeProject(dir, { ...BASE, assets: [...BASE.assets!, { root: 'props/lamp', inputs: { data: ['lamp.bin'] } }] });
    const assetsDir = join(dir, 'assets');

    // First run: a commit of the packer's own, then the project closes at once.
    const first = await openWatched(dir, { watcher: factory });
    const rename = applyMutationOperation(
      first.project,
      'run-1-rename',
      { mutation: { kind: 'rename', asset: { assetId: 2 }, name: 'big_crate' } },
      first.project.newUuid,
      'registry',
    );
    expect((await first.project.lane.enqueue(rename)).status).toBe('succeeded');
    first.host.dispose();
    await first.project.watch.dispose();
    expect(existsSync(join(assetsDir, FINGERPRINT_PATH))).toBe(true);

    // No packer running: an input rewritten, one deleted, a new root added.
    writeFileSync(join(assetsDir, 'characters/hero/hero.bin'), 'CHANGED WHILE THE PACKER WAS CLOSED');
    rmSync(join(assetsDir, 'props/lamp/lamp.bin'));
    mkdirSync(join(assetsDir, 'props/barrel'));
    writeFileSync(
      join(assetsDir, 'props/barrel/asset.json'),
      `${JSON.stringify(declarationFor({ root: 'props/barrel' }), null, 2)}\n`,
    );
    writeFileSync(join(assetsDir, 'props/barrel/data.bin'), 'BARREL');
    const expected = [
      { path: 'characters/hero/hero.bin', change: 'changed' },
      { path: 'props/barrel/asset.json', change: 'added' },
      { path: 'props/barrel/data.bin', change: 'added' },
      { path: 'props/lamp/lamp.bin', change: 'removed' },
    ];

    const watched = await openWatched(dir, { watcher: factory });
    expect(watched.status()).toMatchObject({
      revision: 1,
      state: 'diverged',
      divergence: { diverged: true, sinceRevision: 1, changes: expected },
    });
    const detected = watched.eventsOf('divergence.detected');
    expect(detected).toHaveLength(1);
    expect(detected[0]!.body).toMatchObject({ revision: 1, between: true, changes: expected });

    // The first snapshot of a run is read from the disk, so it already holds these changes: the reconcile
    // accepts them (clears the divergence) and its snapshot diff is empty.
    expect(watched.project.snapshot().byRoot.has('props/barrel')).toBe(true);
    const response = await watched.reconcile();
    expect(response).toMatchObject({
      clearedChanges: expected.length,
      diff: { added: [], removed: [], moved: [], changed: [] },
    });
    expect(watched.status()).toMatchObject({ revision: 2, state: 'ready' });

    // The reconcile saved what it accepted: the next run starts clean.
    await watched.project.watch.dispose();
    watched.host.dispose();
    const third = await openWatched(dir, { watcher: factory });
    expect(third.status()).toMatchObject({ state: 'ready', divergence: { diverged: false } });
    expect(third.eventsOf('divergence.detected')).toEqual([]);
  });
});

describe('a watcher fault', () => {
  it('degrades watching with the reason, and periodic verification still finds later changes', async () => {
    const dir = tempDir();
    writeProject(dir, BASE);
    const fake = fakeWatcher();
    const watched = await openWatched(dir, { watcher: fake.factory, verifyIntervalMs: 200 });
    expect(watched.status().watching).toMatchObject({ state: 'watching', backend: 'none' });

    fake.listener().onFault('ENOSPC: System limit for number of file watchers reached');
    const degraded = watched.eventsOf('watch.stateChanged').filter((event) => event.body.state === 'degraded');
    expect(degraded).toHaveLength(1);
    expect(degraded[0]!.body.reason).toMatch(/^ENOSPC: System limit for number of file watchers reached/);
    expect(watched.status().watching).toMatchObject({ state: 'degraded', reason: expect.stringMatching(/ENOSPC/) });
    expect(fake.closed).toBe(1);

    // Nothing reports these changes but the verification pass.
    writeFileSync(join(dir, 'assets/characters/hero/hero.bin'), 'CHANGED WHILE DEGRADED, longer');
    rmSync(join(dir, 'assets/props/crate/crate.bin'));
    await watched.untilDivergenceIs([
      { path: 'characters/hero/hero.bin', change: 'changed' },
      { path: 'props/crate/crate.bin', change: 'removed' },
    ]);
    expect(watched.status()).toMatchObject({ revision: 1, state: 'diverged', watching: { state: 'degraded' } });

    const response = await watched.reconcile();
    expect(response.clearedChanges).toBe(2);
    expect(watched.status()).toMatchObject({ revision: 2, state: 'ready', watching: { state: 'degraded' } });
  });
});
