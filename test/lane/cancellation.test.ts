/**
 * Cancellation in the writer lane, in-process: a queued write cancelled with `$/cancelRequest` before it
 * starts is never applied, answers -32800 and ends with `operation.cancelled` (started: false) right after
 * its `operation.queued`; a read cancelled in time answers -32800; a write cancelled once it runs past its
 * last safe point commits, and its answer says so. The lane is held busy by an operation of the test that
 * waits on a promise, so nothing depends on timing.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { StandardErrorCodes, type ApplyResult, type PackerEvent } from '@prometeu/packer-protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CancellationTokenSource } from 'vscode-jsonrpc/node';
import { PackerHost } from '../../server/src/index.js';
import type { Project } from '../../server/src/project/project.js';
import { useTempDirs, writeProject } from '../support/workspace-builder.js';
import {
  connectInProcess,
  initialize,
  Notifier,
  responseErrorOf,
  type InProcessClient,
  type TestClient,
} from './support.js';

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

/** A promise with its resolve function, to hold an operation until the test lets it go. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

describe('cancellation in the writer lane', () => {
  const tempDir = useTempDirs('packer-lane-cancel-');
  const disposers: (() => void)[] = [];
  afterEach(() => {
    effects.around = undefined;
    for (const dispose of disposers.splice(0).reverse()) dispose();
  });

  /** A project with two registered assets, a host and one connected client. */
  async function setUp(): Promise<{
    project: Project;
    client: InProcessClient;
    projectId: string;
    projectDir: string;
    notifier: Notifier;
  }> {
    const dir = tempDir();
    writeProject(dir, { assets: [{ root: 'chars/hero' }, { root: 'chars/slime' }] });
    const projectDir = realpathSync(dir);
    const host = new PackerHost({ epoch: 'cancel-epoch' });
    disposers.push(() => host.dispose());
    const notifier = new Notifier();
    const client = connectInProcess(host, notifier);
    disposers.push(() => client.dispose());
    const projectId = await initialize(client, projectDir);
    const project = await host.open(pathToFileURL(projectDir).href);
    return { project, client, projectId, projectDir, notifier };
  }

  /** Queues an operation that holds the lane until the returned `release` is called; resolves once it runs. */
  async function holdLane(project: Project): Promise<{ release: () => void; done: Promise<unknown> }> {
    const started = deferred();
    const gate = deferred();
    const done = project.lane.enqueue({
      operationId: 'test-blocker',
      operation: 'testBlocker',
      operationClass: 'runtime-state',
      async run() {
        started.resolve();
        await gate.promise;
        return { status: 'succeeded', response: { held: true } };
      },
    });
    await started.promise;
    return { release: gate.resolve, done };
  }

  const eventsOf = (client: TestClient, operationId: string): PackerEvent[] =>
    client.events.filter((event) => event.operationId === operationId);

  it('a queued write cancelled before it starts is never applied, answers -32800 and emits only queued then cancelled', async () => {
    const { project, client, projectId, projectDir, notifier } = await setUp();
    const anchor = join(projectDir, 'assets', 'chars', 'hero', 'asset.json');
    const anchorBefore = readFileSync(anchor, 'utf8');
    const held = await holdLane(project);

    const source = new CancellationTokenSource();
    const cancelled = client.connection
      .sendRequest(
        'packer/applyMutation',
        {
          projectId,
          operationId: 'victim',
          mutation: { kind: 'rename', asset: { root: 'chars/hero' }, name: 'never' },
        },
        source.token,
      )
      .then(
        () => null,
        (error: unknown) => responseErrorOf(error),
      );
    // A later write behind it must still run once the lane is free.
    const survivor = client.connection.sendRequest('packer/applyMutation', {
      projectId,
      operationId: 'survivor',
      mutation: { kind: 'rename', asset: { root: 'chars/slime' }, name: 'kept' },
    });
    await notifier.until(() => eventsOf(client, 'survivor').length > 0, 'both writes to be queued');
    expect(project.lane.status()).toEqual({
      running: { operationId: 'test-blocker', operation: 'testBlocker' },
      queued: 2,
    });

    source.cancel();
    const error = await cancelled;
    expect(error?.code).toBe(StandardErrorCodes.RequestCancelled);
    expect(project.lane.status().queued).toBe(1);

    held.release();
    const kept = (await survivor) as ApplyResult;
    expect(kept.outcome).toBe('applied');
    await project.lane.whenIdle();

    // Nothing of the cancelled write happened, on disk or in the snapshot.
    expect(readFileSync(anchor, 'utf8')).toBe(anchorBefore);
    const listed = (await client.connection.sendRequest('packer/listAssets', { projectId })) as {
      assets: { root: string; name: string }[];
    };
    expect(listed.assets.map((asset) => [asset.root, asset.name])).toEqual([
      ['chars/hero', 'hero'],
      ['chars/slime', 'kept'],
    ]);
    // Its whole life in the log: queued, then cancelled without starting; the replay agrees with the live stream.
    const replay = (await client.connection.sendRequest('packer/events', {
      projectId,
      afterSequence: 0,
      operationId: 'victim',
    })) as { events: PackerEvent[] };
    expect(replay.events.map((event) => event.kind)).toEqual(['operation.queued', 'operation.cancelled']);
    expect(replay.events[1]!.body).toEqual({ operation: 'applyMutation', operationClass: 'workspace', started: false });
    expect(eventsOf(client, 'victim')).toEqual(replay.events);
    expect(eventsOf(client, 'survivor').map((event) => event.kind)).toEqual([
      'operation.queued',
      'operation.started',
      'snapshot.published',
      'operation.succeeded',
    ]);
    await held.done;
  });

  it('a write whose request was cancelled before it even reached the lane is never applied', async () => {
    const { project, client, projectId } = await setUp();
    const held = await holdLane(project);
    const source = new CancellationTokenSource();
    source.cancel();
    const error = await client.connection
      .sendRequest(
        'packer/applyMutation',
        {
          projectId,
          operationId: 'early',
          mutation: { kind: 'setBuildInclusion', asset: { assetId: 1 }, included: false },
        },
        source.token,
      )
      .then(
        () => null,
        (failure: unknown) => responseErrorOf(failure),
      );
    expect(error?.code).toBe(StandardErrorCodes.RequestCancelled);
    held.release();
    await project.lane.whenIdle();
    expect(project.snapshot().byId.get(1)?.entry?.included_in_build).toBe(true);
    const replay = (await client.connection.sendRequest('packer/events', {
      projectId,
      afterSequence: 0,
      operationId: 'early',
    })) as { events: PackerEvent[] };
    expect(replay.events.map((event) => event.kind)).toEqual(['operation.queued', 'operation.cancelled']);
    expect(replay.events[1]!.body).toMatchObject({ started: false });
  });

  it('a read cancelled in time answers -32800, and the next read answers normally', async () => {
    const { client, projectId, notifier } = await setUp();
    const reads = [
      ['packer/listAssets', {}],
      ['packer/getAssetDetails', { asset: { assetId: 1 } }],
      ['packer/projectStatus', {}],
      ['packer/previewMutation', { mutation: { kind: 'forget', asset: { assetId: 1 } } }],
      ['packer/events', { afterSequence: 0 }],
    ] as const;
    for (const [index, [method, params]] of reads.entries()) {
      // The request and its cancellation arrive in one chunk: the server sees the cancellation before it
      // answers, which is what "in time" means.
      const id = `read-${index}`;
      client.writeTogether([
        { id, method, params: { projectId, ...params } },
        { method: '$/cancelRequest', params: { id } },
      ]);
      await notifier.until(() => client.raw.some((message) => message['id'] === id), `the answer to ${method}`);
      const answer = client.raw.find((message) => message['id'] === id)!;
      expect(answer['error'], method).toMatchObject({ code: StandardErrorCodes.RequestCancelled });
    }
    const listed = (await client.connection.sendRequest('packer/listAssets', { projectId })) as {
      revision: number;
      assets: unknown[];
    };
    expect(listed.assets).toHaveLength(2);
  });

  it('a write cancelled after it passed its last safe point commits, and its answer and terminal event both say applied', async () => {
    const { project, client, projectId } = await setUp();
    // Hold the commit itself: the apply has already checked its signal when it gets here.
    const entered = deferred();
    const gate = deferred();
    effects.around = async (commit) => {
      entered.resolve();
      await gate.promise;
      return commit();
    };
    const source = new CancellationTokenSource();
    const answer = client.connection
      .sendRequest(
        'packer/applyMutation',
        { projectId, operationId: 'late', mutation: { kind: 'rename', asset: { assetId: 1 }, name: 'late' } },
        source.token,
      )
      .then(
        (result) => ({ result: result as ApplyResult }),
        (error: unknown) => ({ error: responseErrorOf(error) }),
      );
    await entered.promise;
    source.cancel();
    gate.resolve();
    const settled = await answer;
    expect('result' in settled && settled.result.outcome).toBe('applied');
    await project.lane.whenIdle();
    expect(project.snapshot().byId.get(1)?.anchor?.name).toBe('late');
    const replay = (await client.connection.sendRequest('packer/events', {
      projectId,
      afterSequence: 0,
      operationId: 'late',
    })) as { events: PackerEvent[] };
    const terminal = replay.events.at(-1)!;
    expect(terminal.kind).toBe('operation.succeeded');
    expect((terminal.body as { outcome: unknown }).outcome).toEqual((settled as { result: ApplyResult }).result);
  });

  it('a submission queued behind a held lane still runs in arrival order with the requests around it', async () => {
    const { project, client, projectId, notifier } = await setUp();
    const held = await holdLane(project);
    const first = client.connection.sendRequest('packer/applyMutation', {
      projectId,
      operationId: 'first',
      mutation: { kind: 'rename', asset: { assetId: 1 }, name: 'one' },
    });
    void client.connection.sendNotification('packer/submitMutation', {
      projectId,
      operationId: 'second',
      mutation: { kind: 'rename', asset: { assetId: 1 }, name: 'two' },
    });
    const third = client.connection.sendRequest('packer/applyMutation', {
      projectId,
      operationId: 'third',
      mutation: { kind: 'rename', asset: { assetId: 1 }, name: 'three' },
    });
    await notifier.until(() => eventsOf(client, 'third').length > 0, 'the three writes to be queued');
    const queued = client.events.filter(
      (event) => event.kind === 'operation.queued' && event.operationId !== 'test-blocker',
    );
    expect(queued.map((event) => [event.operationId, (event.body as { position: number }).position])).toEqual([
      ['first', 1],
      ['second', 2],
      ['third', 3],
    ]);
    held.release();
    await Promise.all([first, third]);
    await project.lane.whenIdle();
    expect(project.snapshot().byId.get(1)?.anchor?.name).toBe('three');
    const starts = client.events
      .filter((event) => event.kind === 'operation.started')
      .map((event) => event.operationId);
    expect(starts).toEqual(['test-blocker', 'first', 'second', 'third']);
  });
});
