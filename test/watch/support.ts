/**
 * Helpers of the watching tests: projects opened in-process on the real filesystem with a chosen watcher
 * backend (disposed after each test), event recording, waiting on conditions with a deadline (never
 * sleeping), status reads through the real read handler, and a fake watcher whose faults a test triggers.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { PackerEvent, PackerEventKind, ProjectStatus } from '@prometeu/packer-protocol';
import { afterEach } from 'vitest';
import { PackerHost, type HostOptions } from '../../server/src/host.js';
import { readViewOf } from '../../server/src/dispatch/context.js';
import { projectStatus } from '../../server/src/reads/status.js';
import { reconcileOperation, type ReconcileResponse } from '../../server/src/writes/reconcile.js';
import type { Project } from '../../server/src/project/project.js';
import type { LaneOutcome } from '../../server/src/project/writer-lane.js';
import type { DivergentChange } from '../../server/src/watch/divergence.js';
import {
  startChokidarWatcher,
  startParcelWatcher,
  type WatcherFactory,
  type WatchListener,
} from '../../server/src/watch/watcher.js';

/** The real backends, for `describe.each`. */
export const BACKENDS: readonly { readonly name: 'chokidar' | 'parcel'; readonly factory: WatcherFactory }[] = [
  { name: 'chokidar', factory: startChokidarWatcher },
  { name: 'parcel', factory: startParcelWatcher },
];

/** The deadline of every wait: a safety net, never a timing the tests rely on. */
export const DEADLINE_MS = 10_000;

/**
 * Resolves once `condition()` holds, checking it every few milliseconds; rejects after `timeoutMs` with a
 * message naming `what` (a function is called then, so it can describe the state that was reached).
 */
export async function waitFor(
  condition: () => boolean,
  what: string | (() => string),
  timeoutMs = DEADLINE_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline)
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise<void>((resolve) => setTimeout(resolve, 5));
  }
}

/** A project opened for a test, with every event it emitted since it opened. */
export interface WatchedProject {
  readonly host: PackerHost;
  readonly project: Project;
  /** Every event of the project, in sequence order (the log's own replay, so nothing is missed). */
  events(): PackerEvent[];
  /** The events of one kind. */
  eventsOf<K extends PackerEventKind>(kind: K): Extract<PackerEvent, { kind: K }>[];
  /** The status a `packer/projectStatus` request would answer now. */
  status(): ProjectStatus;
  /** The current divergent changes. */
  changes(): DivergentChange[];
  /** Waits until the divergence holds a change for each of `expected` (by path and kind; `from` too when given). */
  untilDiverged(expected: readonly DivergentChange[]): Promise<void>;
  /** Waits until the divergence is exactly `expected` (in any order), nothing more. */
  untilDivergenceIs(expected: readonly DivergentChange[]): Promise<void>;
  /** Runs a reconcile through the lane and returns its response (fails the test when it did not succeed). */
  reconcile(operationId?: string): Promise<ReconcileResponse>;
}

/** Whether `changes` holds `wanted` (same path and kind, and the same `from` when `wanted` has one). */
export function holds(changes: readonly DivergentChange[], wanted: DivergentChange): boolean {
  return changes.some(
    (change) =>
      change.path === wanted.path &&
      change.change === wanted.change &&
      (wanted.from === undefined || change.from === wanted.from),
  );
}

/** The changes sorted by path, as the divergence lists them. */
export function sortChanges(changes: readonly DivergentChange[]): DivergentChange[] {
  return [...changes].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Describes changes compactly for failure messages. */
export function describeChanges(changes: readonly DivergentChange[]): string {
  return JSON.stringify(
    changes.map(
      (change) =>
        `${change.change} ${change.path}${change.from !== undefined ? ` from ${change.from}` : ''}${change.assetUuid !== undefined ? ` (${change.assetUuid})` : ''}`,
    ),
  );
}

/**
 * Gives a test file projects opened on a host of their own; every host and watcher is disposed after each
 * test. Call it after {@link useTempDirs} so the hosts are disposed before their folders are removed.
 */
export function useWatchedProjects(): (
  dir: string,
  options?: HostOptions,
  openOptions?: { autoReconcile?: boolean },
) => Promise<WatchedProject> {
  const opened: { host: PackerHost; project: Project }[] = [];
  afterEach(async () => {
    for (const { host, project } of opened.splice(0)) {
      await project.watch.dispose();
      host.dispose();
    }
  });
  return async (dir, options = {}, openOptions = {}) => {
    const host = new PackerHost({ settleMs: 50, ...options });
    const project = await host.open(pathToFileURL(dir).href, openOptions);
    opened.push({ host, project });
    await project.watch.ready;
    // Format validation publishes its own revision after open; tests start from the validated snapshot.
    await project.validationSettled();
    return watchedProject(host, project);
  };
}

/** Wraps an open project with the helpers of {@link WatchedProject}. */
export function watchedProject(host: PackerHost, project: Project): WatchedProject {
  let operations = 0;
  const events = (): PackerEvent[] => project.events.replay(0, { limit: 1_000_000 }).events;
  const changes = (): DivergentChange[] => project.watch.divergence().changes;
  return {
    host,
    project,
    events,
    eventsOf: <K extends PackerEventKind>(kind: K) =>
      events().filter((event): event is Extract<PackerEvent, { kind: K }> => event.kind === kind),
    status: () =>
      projectStatus({
        snapshot: project.snapshot(),
        project: readViewOf(project),
        signal: new AbortController().signal,
      }),
    changes,
    untilDiverged: (expected) =>
      waitFor(
        () => expected.every((wanted) => holds(changes(), wanted)),
        () => `divergence ${describeChanges(expected)}; it is ${describeChanges(changes())}`,
      ),
    untilDivergenceIs: (expected) => {
      const wanted = describeChanges(sortChanges(expected));
      return waitFor(
        () => describeChanges(changes()) === wanted,
        () => `divergence to be exactly ${wanted}; it is ${describeChanges(changes())}`,
      );
    },
    reconcile: async (operationId = `test-reconcile-${++operations}`) => {
      const outcome: LaneOutcome<ReconcileResponse> = await project.lane.enqueue(
        reconcileOperation(project, operationId),
      );
      if (outcome.status !== 'succeeded')
        throw new Error(`The reconcile ended ${outcome.status}: ${JSON.stringify(outcome)}`);
      // A reload validates every asset again; its revision follows the reconcile's before anything else is read.
      await project.validationSettled();
      return outcome.response;
    },
  };
}

/** A watcher a test drives: it reports nothing by itself; the test calls the listener. */
export interface FakeWatcher {
  readonly factory: WatcherFactory;
  /** The listener of the watcher the project started (throws before it started one). */
  listener(): WatchListener;
  /** How many times the project closed it. */
  readonly closed: number;
  /** While true, starting the watcher fails (as when its folder is gone or a watch limit is reached). */
  refuseStarts: boolean;
  /** How many times the project started it. */
  readonly started: number;
}

/** Makes a {@link FakeWatcher}. */
export function fakeWatcher(): FakeWatcher {
  let current: WatchListener | undefined;
  let closed = 0;
  let started = 0;
  const fake: FakeWatcher = {
    refuseStarts: false,
    factory: async (_assetsDir, listener) => {
      if (fake.refuseStarts) throw new Error('ENOSPC: System limit for number of file watchers reached');
      started++;
      current = listener;
      return {
        backend: 'none',
        close: async () => {
          closed++;
        },
      };
    },
    listener: () => {
      if (current === undefined) throw new Error('The project has not started its watcher.');
      return current;
    },
    get closed() {
      return closed;
    },
    get started() {
      return started;
    },
  };
  return fake;
}

/** The registry text of a project folder. */
export function registryText(dir: string): string {
  return readFileSync(join(dir, 'assets', '.prometeu', 'index.json'), 'utf8');
}
