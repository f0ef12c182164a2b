/**
 * The watch over a project's life: a change made while the watcher arms or between the load and the start of
 * watching, auto-reconcile as an operation of
 * its own, the watched folder deleted, a watcher fault that degrades to periodic verification, and changes
 * made while no packer was running.
 */
import { existsSync, mkdirSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { PackerEvent } from '@prometeu/packer-protocol';
import { PackerHost } from '../../server/src/index.js';
import { applyMutationOperation } from '../../server/src/writes/apply-mutation.js';
import { FINGERPRINT_PATH } from '../../server/src/watch/fingerprint.js';
import type { WatcherFactory } from '../../server/src/watch/watcher.js';
import { declarationFor, useTempDirs, uuidFor, writeProject, type ProjectSpec } from '../support/workspace-builder.js';
import { BACKENDS, fakeWatcher, useWatchedProjects, waitFor, watchedProject } from './support.js';

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
    // Every snapshot after the first was published by that reconcile, or by the format validation that follows
    // every snapshot read from disk (which adds results, never state of the disk): no silent refresh.
    await watched.project.validationSettled();
    const published = watched
      .events()
      .filter((event) => event.kind === 'snapshot.published')
      .slice(1);
    expect(published).toEqual([
      expect.objectContaining({
        body: expect.objectContaining({ revision: 2, previousRevision: 1, cause: 'validation' }) as unknown,
      }),
      expect.objectContaining({
        operationId,
        body: expect.objectContaining({ revision: 3, previousRevision: 2, cause: 'reconcile' }) as unknown,
      }),
      expect.objectContaining({
        body: expect.objectContaining({ revision: 4, previousRevision: 3, cause: 'validation' }) as unknown,
      }),
    ]);
    expect(lifecycle[2]!.body).toMatchObject({ revision: 3, outcome: { clearedChanges: 1 } });
    expect(watched.status()).toMatchObject({ revision: 4, state: 'ready' });
  });

  it('a file rewritten while the watcher arms is found by the verification pass that follows', async () => {
    const dir = tempDir();
    writeProject(dir, BASE);
    // The rewrite lands while the watcher arms (beside the open's crawl, before the watcher reports anything),
    // so no watcher reports it: only the verification crawl the watch makes once the watcher is armed can find it.
    const arming: WatcherFactory = async (assetsDir, listener) => {
      await new Promise((resolve) => setImmediate(resolve));
      const hero = join(assetsDir, 'characters/hero/hero.bin');
      writeFileSync(hero, 'REWRITTEN WHILE THE WATCHER ARMED, longer');
      // A project this small opens within a millisecond or two, and a change in the very millisecond the
      // snapshot's crawl began cannot be told from one just before it: the time is set clearly after.
      const later = new Date(Date.now() + 5000);
      utimesSync(hero, later, later);
      return factory(assetsDir, listener);
    };
    const watched = await openWatched(dir, { watcher: arming });
    await watched.untilDivergenceIs([{ path: 'characters/hero/hero.bin', change: 'changed' }]);
    expect(watched.status()).toMatchObject({ revision: 2, state: 'diverged', watching: { state: 'watching' } });
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
    expect(status).toMatchObject({ revision: 2, watching: { state: 'degraded' } });
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
    expect(watched.status().revision).toBe(2);
  });

  it('assets/ deleted and created again: degraded watching returns to watching, and the new watcher reports changes', async () => {
    const dir = tempDir();
    writeProject(dir, BASE);
    const watched = await openWatched(dir, { watcher: factory, verifyIntervalMs: 100 });
    const states = (): string[] => watched.eventsOf('watch.stateChanged').map((event) => event.body.state);

    rmSync(join(dir, 'assets'), { recursive: true });
    await waitFor(
      () => states().includes('degraded'),
      () => `watching to degrade; states: ${JSON.stringify(states())}`,
    );
    writeProject(dir, BASE);
    await waitFor(
      () => watched.status().watching.state === 'watching',
      () => `watching to recover; states: ${JSON.stringify(states())}`,
    );
    expect(states().at(-1)).toBe('watching');
    expect(states().filter((state) => state === 'watching').length).toBe(2);

    // Periodic verification has stopped: a new file is found by the watcher alone.
    writeFileSync(join(dir, 'assets/props/crate/notes.txt'), 'seen by the re-armed watcher');
    await watched.untilDiverged([{ path: 'props/crate/notes.txt', change: 'added' }]);
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
    // The validation that follows the open published revision 2; the verification pass that finds the
    // divergence runs concurrently, so it names revision 1 or 2 (the same disk view: 2 only adds format results).
    const status = watched.status();
    expect(status).toMatchObject({
      revision: 2,
      state: 'diverged',
      divergence: { diverged: true, changes: expected },
    });
    expect([1, 2]).toContain(status.divergence.sinceRevision);
    const detected = watched.eventsOf('divergence.detected');
    expect(detected).toHaveLength(1);
    expect(detected[0]!.body).toMatchObject({ between: true, changes: expected });
    expect([1, 2]).toContain(detected[0]!.body.revision);

    // The first snapshot of a run is read from the disk, so it already holds these changes: the reconcile
    // accepts them (clears the divergence) and its snapshot diff is empty.
    expect(watched.project.snapshot().byRoot.has('props/barrel')).toBe(true);
    const response = await watched.reconcile();
    expect(response).toMatchObject({
      clearedChanges: expected.length,
      diff: { added: [], removed: [], moved: [], changed: [] },
    });
    // The reconcile's reload keeps the format results of inputs it finds unchanged: nothing is left to check.
    expect(watched.status()).toMatchObject({ revision: 3, state: 'ready' });

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

    // The limit holds: every new start fails too, so watching stays degraded.
    fake.refuseStarts = true;
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
    expect(watched.status()).toMatchObject({ revision: 2, state: 'diverged', watching: { state: 'degraded' } });

    const response = await watched.reconcile();
    expect(response.clearedChanges).toBe(2);
    expect(watched.status()).toMatchObject({ revision: 4, state: 'ready', watching: { state: 'degraded' } });
  });

  it('degraded watching retries the watcher at each verification and returns to watching, with an event, once it starts', async () => {
    const dir = tempDir();
    writeProject(dir, BASE);
    const fake = fakeWatcher();
    const watched = await openWatched(dir, { watcher: fake.factory, verifyIntervalMs: 50 });
    const states = (): string[] => watched.eventsOf('watch.stateChanged').map((event) => event.body.state);

    // The watch limit is reached: the watcher fails, and so does every new start while the limit holds.
    fake.refuseStarts = true;
    fake.listener().onFault('ENOSPC: System limit for number of file watchers reached');
    expect(watched.status().watching.state).toBe('degraded');
    await watched.project.watch.recover();
    expect(watched.status().watching.state).toBe('degraded');
    expect(states()).toEqual(['starting', 'watching', 'degraded']);

    // The limit is raised: the next periodic pass starts the watcher again.
    fake.refuseStarts = false;
    await waitFor(
      () => watched.status().watching.state === 'watching',
      () => `watching to recover; states: ${JSON.stringify(states())}`,
    );
    expect(states()).toEqual(['starting', 'watching', 'degraded', 'watching']);
    expect(fake.started).toBe(2);
    expect(watched.status().watching.reason).toBeUndefined();

    // What the watcher reports is divergence again, and periodic verification has stopped.
    writeFileSync(join(dir, 'assets/characters/hero/hero.bin'), 'CHANGED AFTER RECOVERY, longer');
    fake.listener().onChanges(['characters/hero/hero.bin']);
    await watched.untilDivergenceIs([{ path: 'characters/hero/hero.bin', change: 'changed' }]);
  });
});

describe('the start of watching', () => {
  it('an input rewritten after the project opened, before the fingerprint pass reached it, is reported as changed', async () => {
    const dir = tempDir();
    writeProject(dir, BASE);
    const fake = fakeWatcher();
    const host = new PackerHost({ watcher: fake.factory, settleMs: 50 });
    const project = await host.open(pathToFileURL(dir).href);
    try {
      expect(project.watch.state).toBe('starting');
      // Written now, while watching is `starting` and nothing has fingerprinted the file yet. Its modification
      // time is set clearly after the start: the file system's clock may lag the process's by one tick.
      const hero = join(dir, 'assets/characters/hero/hero.bin');
      writeFileSync(hero, 'REWRITTEN WHILE STARTING');
      const later = new Date(Date.now() + 5000);
      utimesSync(hero, later, later);
      await project.watch.ready;
      const watched = watchedProject(host, project);
      await watched.untilDivergenceIs([{ path: 'characters/hero/hero.bin', change: 'changed' }]);
      // The other input, untouched, is not reported. (The revision may be 2 once the format checks are published.)
      expect(watched.status()).toMatchObject({ state: 'diverged', watching: { state: 'watching' } });
    } finally {
      await project.watch.dispose();
      host.dispose();
    }
  });
});

describe('the window before watching starts', () => {
  it('a file rewritten after the snapshot was crawled, before watching started, is reported as changed', async () => {
    const dir = tempDir();
    // Enough roots that the load (crawl, parse, join) takes milliseconds after its crawl listed the first one.
    const assets = Array.from({ length: 300 }, (_, index) => ({
      root: `misc/a${String(index).padStart(3, '0')}`,
      inputs: { data: ['data.bin'] },
    }));
    // A file no asset declares: no format check reads it, so only the watch can tell that it changed.
    writeProject(dir, { assets, files: { 'misc/a000/notes.txt': 'first notes' } });
    const fake = fakeWatcher();
    const host = new PackerHost({ watcher: fake.factory, settleMs: 50 });
    const notes = join(dir, 'assets/misc/a000/notes.txt');
    let rewritten = false;
    // The load has ended and the watch not started yet: this is the moment the project says it is ready.
    const unsubscribe = host.subscribe((event) => {
      if (rewritten || event.kind !== 'project.stateChanged' || event.body.state === 'loading') return;
      rewritten = true;
      writeFileSync(notes, 'notes rewritten between the load and the watch');
    });
    const project = await host.open(pathToFileURL(dir).href);
    try {
      expect(rewritten).toBe(true);
      await project.watch.ready;
      const watched = watchedProject(host, project);
      await watched.untilDivergenceIs([{ path: 'misc/a000/notes.txt', change: 'changed' }]);
    } finally {
      unsubscribe();
      await project.watch.dispose();
      host.dispose();
    }
  });
});

describe('a watcher armed while the project opens', () => {
  it('starts its subscribe before the snapshot is loaded, and a change it reports during the load that the snapshot holds is no divergence', async () => {
    const dir = tempDir();
    writeProject(dir, BASE);
    const fake = fakeWatcher();
    const hero = join(dir, 'assets/characters/hero/hero.bin');
    let startedBeforeLoad = -1;
    const host = new PackerHost({
      watcher: fake.factory,
      settleMs: 50,
      // Runs before the snapshot's crawl: the rewrite is in the snapshot, and the watcher already reports it.
      beforeLoad: () => {
        startedBeforeLoad = fake.started;
        writeFileSync(hero, 'REWRITTEN WHILE THE PROJECT LOADED, BEFORE ITS CRAWL');
        const earlier = new Date(Date.now() - 60_000);
        utimesSync(hero, earlier, earlier);
        fake.listener().onChanges(['characters/hero/hero.bin']);
        return Promise.resolve();
      },
    });
    const project = await host.open(pathToFileURL(dir).href);
    try {
      expect(startedBeforeLoad).toBe(1);
      await project.watch.ready;
      await project.watch.tracker.settle();
      const watched = watchedProject(host, project);
      expect(watched.status()).toMatchObject({ watching: { state: 'watching' } });
      expect(project.watch.divergence()).toMatchObject({ diverged: false, changes: [] });
      // The one subscription was taken over, not armed a second time.
      expect(fake.started).toBe(1);
      // And it reports what changes from now on.
      writeFileSync(hero, 'REWRITTEN ONCE WATCHING');
      const later = new Date(Date.now() + 5000);
      utimesSync(hero, later, later);
      fake.listener().onChanges(['characters/hero/hero.bin']);
      await watched.untilDivergenceIs([{ path: 'characters/hero/hero.bin', change: 'changed' }]);
    } finally {
      await project.watch.dispose();
      host.dispose();
    }
  });

  it('a file rewritten during the load, after the snapshot crawled it, is reported as changed', async () => {
    const dir = tempDir();
    writeProject(dir, BASE);
    const fake = fakeWatcher();
    const host = new PackerHost({ watcher: fake.factory, settleMs: 50 });
    const hero = join(dir, 'assets/characters/hero/hero.bin');
    let rewritten = false;
    // The load has ended and the watch not taken the watcher over yet: the watcher reports the rewrite to
    // no watch, so the report is held until the watch starts.
    const unsubscribe = host.subscribe((event) => {
      if (rewritten || event.kind !== 'project.stateChanged' || event.body.state === 'loading') return;
      rewritten = true;
      writeFileSync(hero, 'REWRITTEN AFTER THE CRAWL, BEFORE THE WATCH TOOK THE WATCHER OVER');
      const later = new Date(Date.now() + 5000);
      utimesSync(hero, later, later);
      fake.listener().onChanges(['characters/hero/hero.bin']);
    });
    const project = await host.open(pathToFileURL(dir).href);
    try {
      expect(rewritten).toBe(true);
      await project.watch.ready;
      const watched = watchedProject(host, project);
      await watched.untilDivergenceIs([{ path: 'characters/hero/hero.bin', change: 'changed' }]);
      expect(fake.started).toBe(1);
    } finally {
      unsubscribe();
      await project.watch.dispose();
      host.dispose();
    }
  });

  it('a project whose open fails closes the watcher it started', async () => {
    const dir = tempDir();
    writeProject(dir, BASE);
    const fake = fakeWatcher();
    const host = new PackerHost({
      watcher: fake.factory,
      beforeLoad: () => Promise.reject(new Error('the load was refused')),
    });
    try {
      await expect(host.open(pathToFileURL(dir).href)).rejects.toThrow('the load was refused');
      await waitFor(() => fake.closed === 1, 'the early watcher to be closed');
      expect(fake.started).toBe(1);
    } finally {
      host.dispose();
    }
  });
});

describe('identity across runs', () => {
  it('with no fingerprints at all (a fresh clone), a moved registered root is root-moved on open and its relocate fix applies at once', async () => {
    const dir = tempDir();
    writeProject(dir, BASE);
    const assetsDir = join(dir, 'assets');
    mkdirSync(join(assetsDir, 'heroes'));
    renameSync(join(assetsDir, 'characters/hero'), join(assetsDir, 'heroes/hero'));
    expect(existsSync(join(assetsDir, FINGERPRINT_PATH))).toBe(false);

    const watched = await openWatched(dir, { watcher: fakeWatcher().factory });
    const moved = watched.project.snapshot().byId.get(1)!.diagnostics;
    expect(moved.map((diagnostic) => [diagnostic.code, diagnostic.root, diagnostic.path])).toEqual([
      ['root-moved', 'characters/hero', 'heroes/hero/asset.json'],
    ]);
    // The snapshot matches the disk: nothing is divergent, so the fix is not held back by a reconcile.
    expect(watched.status().divergence.diverged).toBe(false);
    const fix = applyMutationOperation(
      watched.project,
      'relocate-fix',
      { mutation: { kind: 'applySafeFix', fixId: moved[0]!.safeFix!.fixId } },
      watched.project.newUuid,
      'registry',
    );
    expect((await watched.project.lane.enqueue(fix)).status).toBe('succeeded');
    const after = watched.project.snapshot();
    expect(after.byId.get(1)).toMatchObject({ root: 'heroes/hero', state: 'ok' });
    expect(after.byId.get(1)!.diagnostics).toEqual([]);
    expect(after.byRoot.has('characters/hero')).toBe(false);
  });

  it('a registered root moved while no packer ran is one move with its asset_uuid on open, with the relocate fix', async () => {
    const dir = tempDir();
    writeProject(dir, BASE);
    const assetsDir = join(dir, 'assets');
    // A first run that commits, so fingerprints are saved.
    const first = await openWatched(dir, { watcher: fakeWatcher().factory });
    const rename = applyMutationOperation(
      first.project,
      'run-1-rename',
      { mutation: { kind: 'rename', asset: { assetId: 2 }, name: 'big_crate' } },
      first.project.newUuid,
      'registry',
    );
    expect((await first.project.lane.enqueue(rename)).status).toBe('succeeded');
    await first.project.watch.dispose();
    first.host.dispose();
    expect(existsSync(join(assetsDir, FINGERPRINT_PATH))).toBe(true);

    mkdirSync(join(assetsDir, 'heroes'));
    renameSync(join(assetsDir, 'characters/hero'), join(assetsDir, 'heroes/hero'));

    const second = await openWatched(dir, { watcher: fakeWatcher().factory });
    const move = {
      path: 'heroes/hero',
      change: 'moved',
      from: 'characters/hero',
      assetUuid: uuidFor('characters/hero'),
    };
    expect(second.eventsOf('divergence.detected').map((event) => event.body)).toEqual([
      expect.objectContaining({ between: true, changes: [move] }),
    ]);
    expect(second.status().divergence.changes).toEqual([move]);
    expect(second.project.snapshot().byId.get(1)!.diagnostics).toEqual([
      expect.objectContaining({
        code: 'root-moved',
        root: 'characters/hero',
        path: 'heroes/hero/asset.json',
        safeFix: expect.objectContaining({ mutation: { kind: 'relocate', asset: { assetId: 1 }, to: 'heroes/hero' } }),
      }),
    ]);
  });
});
