/**
 * Property test of the single-writer lane: three connections to one in-process host on one project send
 * random interleavings of reads and writes (applies, previewed applies, submissions, stale ones) without
 * waiting between sends, and the invariants of the protocol hold: reads only see published revisions
 * (and each published revision is what the disk held then), writes never overlap, every operation ends
 * with exactly one terminal event, the log is gap-free and replays identically, and every response agrees
 * with its terminal event. Some writes reuse a client-chosen operation id (of a write still in flight or
 * already ended): exactly one write per id is queued, every other one is refused with `OperationIdInUse`
 * before anything is queued (an error response, or `packer/submissionRefused` for a submission). Seeded: a failure names the seed and the shrunk command list.
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import {
  isTerminalKind,
  PackerErrorCodes,
  type ApplyResult,
  type AssetSummary,
  type MutationIntent,
  type PackerEvent,
} from '@prometeu/packer-protocol';
import { describe, expect, it, vi } from 'vitest';
import { PackerHost } from '../../server/src/index.js';
import { toAssetSummary } from '../../server/src/wire/convert.js';
import { loadSnapshot } from '../../server/src/project/loader.js';
import { applyMutationOperation } from '../../server/src/writes/apply-mutation.js';
import type { Snapshot } from '../../server/src/domain/snapshot.js';
import { useTempDirs, uuidFor, writeProject, type AssetSpec } from '../support/workspace-builder.js';
import { connectInProcess, initialize, Notifier, responseErrorOf, type TestClient } from './support.js';

/**
 * Every durable commit goes through `executeEffect`, which only a write scope reaches; the test wraps it
 * to watch commits from outside the lane (`around` is set by the test that needs it).
 */
const effects = vi.hoisted(() => ({
  around: undefined as ((commit: () => Promise<void>) => Promise<void>) | undefined,
}));
vi.mock('../../server/src/mutations/execute.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../server/src/mutations/execute.js')>();
  return {
    ...actual,
    executeEffect: (...args: Parameters<typeof actual.executeEffect>): Promise<void> =>
      effects.around !== undefined
        ? effects.around(() => actual.executeEffect(...args))
        : actual.executeEffect(...args),
  };
});

const SEED = 42;
const RUNS = 25;

/**
 * The project every run starts from: a dozen roots, seven registered (one excluded from the build), plus
 * a copy that shares the crate's uuid and a root nested in another, so writes also resolve and create
 * conflicts that span several assets.
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
  { root: 'props/copy', uuid: uuidFor('props/crate'), registered: false },
  { root: 'ui/icons/small', registered: false },
];

/** Roots that requests may name: the existing ones, fresh ones, one nested in a root and one escaping. */
const ROOT_POOL = [
  ...ROOTS,
  'props/copy',
  'ui/icons/small',
  'moved/a',
  'moved/b',
  'moved/c',
  'fresh/x',
  'fresh/y',
  'fresh/z',
  'chars/hero/inner',
  '../escape',
];
/** The uuids the host hands out, so requests can name created assets by uuid. */
const createdUuid = (index: number): string => `00000000-0000-4000-8000-${String(index).padStart(12, '0')}`;
const UUID_POOL = [
  ...ROOTS.map((root) => uuidFor(root)),
  createdUuid(1),
  createdUuid(2),
  createdUuid(3),
  '11111111-2222-4333-8444-555555555555',
];

const DECLARATION = {
  name: 'made',
  type: 'blob',
  inputs: { data: ['data.bin'] },
  output: { format: 'BLOB/raw_v1', codec: 'NONE' },
  preload: { enabled: false },
};

const root = fc.constantFrom(...ROOT_POOL);
const reference = fc.oneof(
  fc.integer({ min: 1, max: 9 }).map((assetId) => ({ assetId })),
  root.map((path) => ({ root: path })),
  fc.constantFrom(...UUID_POOL).map((assetUuid) => ({ assetUuid })),
);

/** Every kind of intent, most of them naming assets that may or may not exist when the write runs. */
const intent: fc.Arbitrary<MutationIntent> = fc.oneof(
  root.map((path): MutationIntent => ({ kind: 'register', root: path })),
  reference.map((asset): MutationIntent => ({ kind: 'forget', asset })),
  fc
    .tuple(reference, fc.constantFrom('alpha', 'beta', 'gamma'))
    .map(([asset, name]): MutationIntent => ({ kind: 'rename', asset, name })),
  fc
    .tuple(reference, fc.boolean())
    .map(([asset, included]): MutationIntent => ({ kind: 'setBuildInclusion', asset, included })),
  fc.tuple(reference, root).map(([asset, to]): MutationIntent => ({ kind: 'relocate', asset, to })),
  reference.map((asset): MutationIntent => ({ kind: 'quarantine', asset })),
  fc
    .tuple(fc.constantFrom(...UUID_POOL), fc.option(root, { nil: undefined }))
    .map(([assetUuid, to]): MutationIntent => ({
      kind: 'restore',
      asset: { assetUuid },
      ...(to !== undefined ? { to } : {}),
    })),
  fc.tuple(root, fc.boolean()).map(([path, register]): MutationIntent => ({
    kind: 'createAsset',
    root: path,
    declaration: DECLARATION,
    register,
  })),
  reference.map((asset): MutationIntent => ({ kind: 'remove', asset })),
);

/** An `expectedRevision` that is mostly absent and sometimes stale (or current by luck). */
const expectedRevision = fc.oneof(
  { weight: 4, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 12 }) },
);
const consent = fc.oneof({ weight: 5, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(undefined) });
const connection = fc.integer({ min: 0, max: 2 });

type Command =
  | { readonly type: 'listAssets' | 'projectStatus'; readonly client: number }
  | {
      readonly type: 'getAssetDetails';
      readonly client: number;
      readonly asset: { assetId: number } | { root: string } | { assetUuid: string };
    }
  | { readonly type: 'previewMutation'; readonly client: number; readonly mutation: MutationIntent }
  | {
      readonly type: 'apply' | 'submit';
      readonly client: number;
      readonly mutation: MutationIntent;
      readonly consent?: boolean | undefined;
      readonly expectedRevision?: number | undefined;
      readonly named: boolean;
      /** An operation id shared with other commands, so the id is reused; overrides `named`. */
      readonly shared?: string | undefined;
    }
  | {
      readonly type: 'previewThenApply';
      readonly client: number;
      readonly mutation: MutationIntent;
      readonly consent?: boolean | undefined;
    }
  /** A listAssets sent the moment the client receives its `after`-th terminal event, so reads land between writes. */
  | { readonly type: 'listAssetsOnEvent'; readonly client: number; readonly after: number };

const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.record({
      type: fc.constantFrom('listAssets' as const, 'projectStatus' as const),
      client: connection,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ type: fc.constant('getAssetDetails' as const), client: connection, asset: reference }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ type: fc.constant('previewMutation' as const), client: connection, mutation: intent }),
  },
  {
    weight: 4,
    arbitrary: fc.record(
      {
        type: fc.constantFrom('apply' as const, 'submit' as const),
        client: connection,
        mutation: intent,
        consent,
        expectedRevision,
        named: fc.boolean(),
        shared: fc.oneof(
          { weight: 4, arbitrary: fc.constant(undefined) },
          { weight: 1, arbitrary: fc.constantFrom('shared-a', 'shared-b') },
        ),
      },
      { requiredKeys: ['type', 'client', 'mutation', 'named'] },
    ),
  },
  {
    weight: 1,
    arbitrary: fc.record(
      { type: fc.constant('previewThenApply' as const), client: connection, mutation: intent, consent },
      { requiredKeys: ['type', 'client', 'mutation'] },
    ),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      type: fc.constant('listAssetsOnEvent' as const),
      client: connection,
      after: fc.integer({ min: 1, max: 12 }),
    }),
  },
);

/** What a read answered. */
interface ReadRecord {
  readonly method: string;
  readonly client: number;
  readonly result?: Record<string, unknown>;
  readonly error?: { code: number; message: string; data?: unknown };
}

/** What an apply answered, with the operation id the client gave it (if any). */
interface ApplyRecord {
  readonly client: number;
  readonly operationId?: string;
  readonly response?: ApplyResult;
  readonly error?: { code: number; message: string; data?: unknown };
}

/** The wire form of a snapshot's asset list. */
function summariesOf(snapshot: Snapshot): AssetSummary[] {
  return withoutValidation(JSON.parse(JSON.stringify(snapshot.assets.map(toAssetSummary))) as AssetSummary[]);
}

/**
 * Summaries without their `validation` state: a fresh load has not run the format checks yet, while a
 * published revision may already carry their results (none of these assets breaks a format rule).
 */
function withoutValidation(summaries: readonly AssetSummary[]): AssetSummary[] {
  return summaries.map(({ validation: _validation, ...summary }) => summary as AssetSummary);
}

/** The revision a read answered from: its `revision` (a preview's `baseRevision`), or the one an AssetNotFound error names. */
function revisionOf(record: ReadRecord): number | undefined {
  if (record.result !== undefined)
    return (record.result['revision'] ?? record.result['baseRevision']) as number | undefined;
  const data = record.error?.data as { revision?: unknown } | undefined;
  return typeof data?.revision === 'number' ? data.revision : undefined;
}

describe('the single-writer lane under concurrent connections', () => {
  const tempDir = useTempDirs('packer-lane-property-');

  it(
    `keeps invariants 1 to 5 for random interleavings of reads and writes from three connections (seed ${SEED})`,
    { timeout: 120_000 },
    async () => {
      const property = fc.asyncProperty(fc.array(command, { minLength: 8, maxLength: 50 }), async (commands) => {
        await runAndCheck(tempDir(), commands);
      });
      try {
        // A failure whose shrinking takes too long still fails (with the counterexample so far), before the test timeout.
        await fc.assert(property, {
          seed: SEED,
          numRuns: RUNS,
          interruptAfterTimeLimit: 100_000,
          markInterruptAsFailure: true,
        });
      } catch (error) {
        const cause = (error as Error).cause;
        throw new Error(
          `The lane property failed with seed ${SEED} (rerun with the same seed and path to reproduce):\n${(error as Error).message}\nCause: ${cause instanceof Error ? cause.message : String(cause)}`,
          { cause: error },
        );
      }
    },
  );
});

describe('published snapshots agree with the disk', () => {
  const tempDir = useTempDirs('packer-lane-published-');

  // Invariant 1 in its smallest form: after each write, the published asset list is what a fresh load of
  // the disk gives, also for diagnostics that span several assets (a shared uuid, a nested root).
  it('a write that resolves a conflict between two assets publishes what a fresh load gives', async () => {
    const dir = realpathSync(tempDir());
    writeProject(dir, {
      assets: [
        { root: 'props/crate' },
        { root: 'props/copy', uuid: uuidFor('props/crate'), registered: false },
        { root: 'ui/icons' },
        { root: 'ui/icons/small', registered: false },
      ],
    });
    const host = new PackerHost({ epoch: 'published', newUuid: () => createdUuid(1) });
    try {
      const project = await host.open(pathToFileURL(dir).href);
      const steps: MutationIntent[] = [
        { kind: 'quarantine', asset: { root: 'props/crate' } },
        { kind: 'relocate', asset: { root: 'ui/icons/small' }, to: 'ui/small' },
      ];
      for (const mutation of steps) {
        const outcome = await project.lane.enqueue(
          applyMutationOperation(
            project,
            `step-${mutation.kind}`,
            { mutation, consent: true },
            project.newUuid,
            'workspace+registry',
          ),
        );
        expect(outcome, mutation.kind).toMatchObject({ status: 'succeeded' });
        expect(summariesOf(project.snapshot()), `after ${mutation.kind}`).toEqual(
          summariesOf(loadSnapshot(dir, project.snapshot().revision)),
        );
      }
    } finally {
      host.dispose();
    }
  });
});

/** Runs one command list against a fresh project and checks every invariant. */
async function runAndCheck(dir: string, commands: readonly Command[]): Promise<void> {
  writeProject(dir, { assets: ASSETS });
  const projectDir = realpathSync(dir);
  let uuids = 0;
  const host = new PackerHost({ epoch: 'lane-epoch', newUuid: () => createdUuid(++uuids) });
  // What a fresh load of the disk gives at the instant each revision is published (the listener runs
  // synchronously inside the publish, while the lane holds every other write back).
  const fresh = new Map<number, AssetSummary[]>();
  const unsubscribe = host.subscribe((event) => {
    if (event.kind === 'snapshot.published')
      fresh.set(event.body.revision, summariesOf(loadSnapshot(projectDir, event.body.revision)));
  });
  const notifier = new Notifier();
  const clients: TestClient[] = [];
  let reopened: PackerHost | undefined;
  try {
    const project = await host.open(pathToFileURL(projectDir).href);
    // A second guard on invariant 2, independent of the events: commits must never run at once.
    let committing = 0;
    let overlapped = false;
    effects.around = async (commit) => {
      if (++committing > 1) overlapped = true;
      try {
        return await commit();
      } finally {
        committing--;
      }
    };

    for (let index = 0; index < 3; index++) clients.push(connectInProcess(host, notifier));
    const projectId = project.id;
    // A connection receives the events appended after its initialize subscribed it: after `before`, and at
    // the latest from `after` on (events that need no operation, such as the watcher's, may come meanwhile).
    const subscribed: { before: number; after: number }[] = [];
    for (const client of clients) {
      const before = project.events.sequence;
      expect(await initialize(client, projectDir)).toBe(projectId);
      subscribed.push({ before, after: project.events.sequence });
    }

    const reads: ReadRecord[] = [];
    const applies: ApplyRecord[] = [];
    const submits: string[] = [];
    // Submissions refused because their id was in use, as each connection heard them.
    const refusals: { client: number; operationId: string | null; code: number }[] = [];
    clients.forEach((client, index) =>
      client.connection.onNotification(
        'packer/submissionRefused',
        (params: { operationId: string | null; code: number }) => {
          refusals.push({ client: index, operationId: params.operationId, code: params.code });
          notifier.notify();
        },
      ),
    );
    // How many commands use each client-chosen id (more than one only for shared ids).
    const uses = new Map<string, number>();
    const pending: Promise<void>[] = [];
    const read = (client: number, method: string, params: Record<string, unknown>): Promise<ReadRecord> =>
      clients[client]!.connection.sendRequest(method, { projectId, ...params }).then(
        (result) => ({ method, client, result: result as Record<string, unknown> }),
        (error: unknown) => ({ method, client, error: responseErrorOf(error) ?? { code: 0, message: String(error) } }),
      );
    const apply = (client: number, params: Record<string, unknown>, operationId?: string): Promise<void> =>
      clients[client]!.connection.sendRequest('packer/applyMutation', {
        projectId,
        ...params,
        ...(operationId !== undefined ? { operationId } : {}),
      }).then(
        (response) =>
          void applies.push({
            client,
            ...(operationId !== undefined ? { operationId } : {}),
            response: response as ApplyResult,
          }),
        (error: unknown) =>
          void applies.push({
            client,
            ...(operationId !== undefined ? { operationId } : {}),
            error: responseErrorOf(error) ?? { code: 0, message: String(error) },
          }),
      );

    // Reads triggered by events: each is sent as soon as its client has seen that many operations end (if
    // it ever does), so reads land at every point of the write stream.
    const triggered = new Map<number, number[]>();
    commands.forEach((step) => {
      if (step.type === 'listAssetsOnEvent')
        triggered.set(step.client, [...(triggered.get(step.client) ?? []), step.after]);
    });
    const stops = clients.map((client, index) => {
      let terminals = 0;
      return client.onEvent((event) => {
        if (!isTerminalKind(event.kind)) return;
        terminals++;
        for (const after of triggered.get(index) ?? []) {
          if (after === terminals)
            pending.push(read(index, 'packer/listAssets', {}).then((record) => void reads.push(record)));
        }
      });
    });

    // Send everything without waiting for any answer.
    commands.forEach((step, index) => {
      const { client } = step;
      switch (step.type) {
        case 'listAssets':
        case 'projectStatus':
          pending.push(read(client, `packer/${step.type}`, {}).then((record) => void reads.push(record)));
          break;
        case 'getAssetDetails':
          pending.push(
            read(client, 'packer/getAssetDetails', { asset: step.asset }).then((record) => void reads.push(record)),
          );
          break;
        case 'previewMutation':
          pending.push(
            read(client, 'packer/previewMutation', { mutation: step.mutation }).then(
              (record) => void reads.push(record),
            ),
          );
          break;
        case 'apply':
        case 'submit': {
          const params = {
            mutation: step.mutation,
            ...(step.consent !== undefined ? { consent: step.consent } : {}),
            ...(step.expectedRevision !== undefined ? { expectedRevision: step.expectedRevision } : {}),
          };
          if (step.type === 'apply') {
            const operationId = step.shared ?? (step.named ? `apply-${index}` : undefined);
            if (operationId !== undefined) uses.set(operationId, (uses.get(operationId) ?? 0) + 1);
            pending.push(apply(client, params, operationId));
          } else {
            const operationId = step.shared ?? `submit-${index}`;
            uses.set(operationId, (uses.get(operationId) ?? 0) + 1);
            submits.push(operationId);
            void clients[client]!.connection.sendNotification('packer/submitMutation', {
              projectId,
              ...params,
              operationId,
            });
          }
          break;
        }
        case 'listAssetsOnEvent':
          break;
        case 'previewThenApply':
          pending.push(
            read(client, 'packer/previewMutation', { mutation: step.mutation }).then((record) => {
              reads.push(record);
              const previewId = record.result?.['previewId'];
              if (typeof previewId !== 'string') return;
              return apply(
                client,
                { previewId, ...(step.consent !== undefined ? { consent: step.consent } : {}) },
                `previewed-${index}`,
              );
            }),
          );
          break;
      }
    });
    await Promise.all(pending);

    // Every submission ends, and every connection receives the whole log.
    const terminalOf = (events: readonly PackerEvent[], operationId: string): PackerEvent | undefined =>
      events.find((event) => event.operationId === operationId && isTerminalKind(event.kind));
    // A reused id ends once one write with it has its terminal event and every other one was refused.
    const refusedUses = (id: string): number =>
      refusals.filter((refusal) => refusal.operationId === id).length +
      applies.filter((record) => record.error !== undefined && record.operationId === id).length;
    await notifier.until(
      () =>
        submits.every(
          (id) => terminalOf(clients[0]!.events, id) !== undefined && refusedUses(id) === (uses.get(id) ?? 1) - 1,
        ),
      () => `the terminal events (or refusals) of the submissions ${submits.join(', ')}`,
    );
    await notifier.until(
      () =>
        clients.every(
          (client, index) => (client.events.at(-1)?.sequence ?? subscribed[index]!.after) === project.events.sequence,
        ),
      'every connection to receive the newest event',
    );
    for (const stop of stops) stop();
    // Reads triggered by the last events may still be on their way.
    for (let settled = 0; settled < pending.length;) {
      const count = pending.length;
      await Promise.all(pending.slice(settled));
      settled = count;
    }

    const replay = await clients[0]!.connection.sendRequest<{
      events: PackerEvent[];
      lastSequence: number;
      dropped: boolean;
      more: boolean;
      epoch: string;
    }>('packer/events', { projectId, afterSequence: 0 });
    const again = await clients[1]!.connection.sendRequest<typeof replay>('packer/events', {
      projectId,
      afterSequence: 0,
    });
    const log = replay.events;

    // Invariant 4: gap-free, repeat-free sequences from 1; identical replays; every connection saw the same
    // events in the same order. The watcher may append events (without an operation) at any moment, so a
    // later replay may be longer, and only the events up to the first replay's end are compared.
    expect(replay.dropped).toBe(false);
    expect(replay.more).toBe(false);
    expect(log.map((event) => event.sequence)).toEqual(
      Array.from({ length: replay.lastSequence }, (_, index) => index + 1),
    );
    expect(again.events.slice(0, log.length)).toEqual(log);
    expect(again.events.slice(log.length).every((event) => event.operationId === undefined)).toBe(true);
    expect(log.every((event) => event.epoch === 'lane-epoch' && event.projectId === projectId)).toBe(true);
    clients.forEach((client, index) => {
      const from = (client.events[0]?.sequence ?? subscribed[index]!.after + 1) - 1;
      expect(from, `connection ${index} received events from sequence ${from + 1}`).toBeGreaterThanOrEqual(
        subscribed[index]!.before,
      );
      expect(from, `connection ${index} received events from sequence ${from + 1}`).toBeLessThanOrEqual(
        subscribed[index]!.after,
      );
      const received = client.events.filter((event) => event.sequence <= replay.lastSequence);
      expect(received, `the events connection ${index} received`).toEqual(log.filter((event) => event.sequence > from));
    });

    // Invariant 2: between an operation's start and its terminal event no other operation starts.
    let running: string | undefined;
    for (const event of log) {
      if (event.kind === 'operation.started') {
        expect(
          running,
          `operation ${event.operationId} started at sequence ${event.sequence} while ${running} was running`,
        ).toBeUndefined();
        running = event.operationId;
      } else if (isTerminalKind(event.kind) && event.operationId === running) running = undefined;
    }
    expect(running).toBeUndefined();
    expect(overlapped).toBe(false);

    // Invariant 3: exactly one terminal event per operation, and it is the operation's last event.
    const byOperation = new Map<string, PackerEvent[]>();
    for (const event of log) {
      if (event.operationId === undefined || event.kind === 'snapshot.published') continue;
      byOperation.set(event.operationId, [...(byOperation.get(event.operationId) ?? []), event]);
    }
    for (const [operationId, events] of byOperation) {
      const kinds = events.map((event) => event.kind);
      expect(kinds.filter(isTerminalKind), `terminal events of ${operationId}`).toHaveLength(1);
      expect(isTerminalKind(kinds.at(-1)!), `the last event of ${operationId} is terminal: ${kinds.join(', ')}`).toBe(
        true,
      );
      expect(kinds[0]).toBe('operation.queued');
      if (kinds.includes('operation.started')) expect(kinds[1]).toBe('operation.started');
      else expect(events.at(-1)).toMatchObject({ kind: 'operation.cancelled', body: { started: false } });
    }
    // Snapshots published by an operation lie between its start and its end.
    for (const event of log) {
      if (event.kind !== 'snapshot.published' || event.operationId === undefined) continue;
      const events = byOperation.get(event.operationId)!;
      expect(events[1]!.sequence < event.sequence && event.sequence < events.at(-1)!.sequence).toBe(true);
    }
    // Every submission and every apply ended; of the writes that share an id exactly one was queued, and
    // every other one was refused with OperationIdInUse before anything was queued.
    for (const id of submits) expect(byOperation.has(id), `submission ${id} has events`).toBe(true);
    const answered = applies
      .filter((record) => record.response !== undefined)
      .map((record) => record.response!.operationId);
    for (const id of answered) expect(byOperation.has(id), `apply ${id} has events`).toBe(true);
    expect(new Set(answered).size).toBe(answered.length);
    const refusedApplies = applies.filter((record) => record.error !== undefined);
    for (const record of refusedApplies) {
      expect(record.error?.code, `apply ${record.operationId} answered ${record.error?.message}`).toBe(
        PackerErrorCodes.OperationIdInUse,
      );
      expect(uses.get(record.operationId!), `refused apply ${record.operationId} reused an id`).toBeGreaterThan(1);
    }
    for (const refusal of refusals) {
      expect(refusal.code).toBe(PackerErrorCodes.OperationIdInUse);
      expect(uses.get(refusal.operationId!), `refused submission ${refusal.operationId} reused an id`).toBeGreaterThan(
        1,
      );
    }
    for (const [id, count] of uses) {
      expect(byOperation.has(id), `the first write with id ${id} was queued`).toBe(true);
      expect(refusedUses(id), `writes refused for reusing ${id}`).toBe(count - 1);
    }
    expect(byOperation.size).toBe(answered.length + submits.length - refusals.length);

    // Invariant 5: each response is its terminal event's outcome; an error response is its `error`.
    for (const record of applies) {
      // A write refused for its reused id has no events of its own: the id's events are the first write's.
      if (record.error?.code === PackerErrorCodes.OperationIdInUse) continue;
      const operationId = record.response?.operationId ?? record.operationId!;
      const terminal = terminalOf(log, operationId)!;
      if (record.response !== undefined) {
        if (record.operationId !== undefined) expect(record.response.operationId).toBe(record.operationId);
        expect(terminal.kind).toBe(record.response.outcome === 'applied' ? 'operation.succeeded' : 'operation.failed');
        expect((terminal.body as { outcome: unknown }).outcome).toEqual(record.response);
      } else {
        expect(terminal.kind).toBe('operation.failed');
        expect((terminal.body as { error?: unknown }).error).toEqual(record.error);
      }
    }
    for (const id of submits) {
      const terminal = terminalOf(log, id)!;
      expect(terminal.kind === 'operation.succeeded' || terminal.kind === 'operation.failed').toBe(true);
      const body = terminal.body as { outcome: { operationId?: unknown }; error?: unknown };
      // A shared id may have been taken by an apply whose writer-level failure has no outcome body.
      if (body.error === undefined) expect(body.outcome.operationId).toBe(id);
    }
    // In one process nothing may fail as a bug: no internal errors, and no refused submissions but those
    // that reused an id.
    for (const client of clients) {
      expect(client.logs.filter((line) => line.includes('Internal error'))).toEqual([]);
      expect(client.logMessages.filter((line) => !line.message.includes('is already used in project'))).toEqual([]);
    }

    // Invariant 1: reads answer from published revisions only, and a listAssets at revision r is exactly
    // what the disk held when r was published.
    const published = new Set(
      log
        .filter((event) => event.kind === 'snapshot.published')
        .map((event) => (event.body as { revision: number }).revision),
    );
    expect([...published].sort((a, b) => a - b)).toEqual([...fresh.keys()].sort((a, b) => a - b));
    for (const record of reads) {
      const revision = revisionOf(record);
      if (record.error !== undefined)
        expect(
          [PackerErrorCodes.AssetNotFound, PackerErrorCodes.PathOutsideProject],
          `${record.method} failed: ${record.error.message}`,
        ).toContain(record.error.code);
      if (revision === undefined) continue;
      expect(
        published.has(revision),
        `${record.method} answered from revision ${revision}, which was never published`,
      ).toBe(true);
      if (record.method === 'packer/listAssets')
        expect(
          withoutValidation(record.result!['assets'] as AssetSummary[]),
          `listAssets at revision ${revision}`,
        ).toEqual(fresh.get(revision));
    }

    // The last published revision is what the disk holds: a fresh host on the folder lists the same assets.
    const last = await clients[2]!.connection.sendRequest<{
      revision: number;
      assets: AssetSummary[];
    }>('packer/listAssets', { projectId });
    expect(last.revision).toBe(Math.max(...published));
    expect(withoutValidation(last.assets)).toEqual(fresh.get(last.revision));
    reopened = new PackerHost({ epoch: 'reopened' });
    const again2 = await reopened.open(pathToFileURL(projectDir).href);
    expect(again2.lastRecovery).toBeNull();
    expect(summariesOf(again2.snapshot())).toEqual(withoutValidation(last.assets));
  } finally {
    unsubscribe();
    for (const client of clients) client.dispose();
    reopened?.dispose();
    host.dispose();
  }
}
