/**
 * `$/progress` as LSP defines it, in-process: a write cancelled while queued (by `$/cancelRequest` or by
 * `window/workDoneProgress/cancel` on its token) sends nothing on its token; a write that starts sends
 * `begin` first and `end` last; a pack says `cancellable: true` until it passes its last checkpoint. The lane
 * is held busy by an operation of the test that waits on a promise, so nothing depends on timing.
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { StandardErrorCodes, type PackerEvent } from '@prometeu/packer-protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { CancellationTokenSource } from 'vscode-jsonrpc/node';
import { PackerHost } from '../../server/src/index.js';
import type { Project } from '../../server/src/project/project.js';
import { useTempDirs, writeProject } from '../support/workspace-builder.js';
import { connectInProcess, initialize, Notifier, responseErrorOf, type InProcessClient } from './support.js';

/** A promise with its resolve function, to hold an operation until the test lets it go. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

describe('$/progress of writes', () => {
  const tempDir = useTempDirs('packer-lane-progress-');
  const disposers: (() => void)[] = [];
  afterEach(() => {
    for (const dispose of disposers.splice(0).reverse()) dispose();
  });

  async function setUp(): Promise<{
    project: Project;
    client: InProcessClient;
    projectId: string;
    notifier: Notifier;
  }> {
    const dir = tempDir();
    writeProject(dir, { assets: [{ root: 'chars/hero' }, { root: 'chars/slime' }] });
    const projectDir = realpathSync(dir);
    const host = new PackerHost({ epoch: 'progress-epoch' });
    disposers.push(() => host.dispose());
    const notifier = new Notifier();
    const client = connectInProcess(host, notifier);
    disposers.push(() => client.dispose());
    const projectId = await initialize(client, projectDir);
    const project = await host.open(pathToFileURL(projectDir).href);
    return { project, client, projectId, notifier };
  }

  /** Queues an operation that holds the lane until `release` is called; resolves once it runs. */
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

  /** The values the server sent on `token`, in order. */
  const progressOn = (client: InProcessClient, token: string): { kind: string; cancellable?: boolean }[] =>
    client.raw
      .filter((message) => message['method'] === '$/progress')
      .map((message) => message['params'] as { token: unknown; value: { kind: string; cancellable?: boolean } })
      .filter((params) => params.token === token)
      .map((params) => params.value);

  const eventsOf = (client: InProcessClient, operationId: string): PackerEvent[] =>
    client.events.filter((event) => event.operationId === operationId);

  it('a queued write cancelled with $/cancelRequest before it starts sends nothing on its progress token', async () => {
    const { project, client, projectId, notifier } = await setUp();
    const held = await holdLane(project);
    const source = new CancellationTokenSource();
    const answer = client.connection
      .sendRequest(
        'packer/applyMutation',
        {
          projectId,
          operationId: 'victim',
          workDoneToken: 'victim-progress',
          mutation: { kind: 'rename', asset: { root: 'chars/hero' }, name: 'never' },
        },
        source.token,
      )
      .then(
        () => null,
        (error: unknown) => responseErrorOf(error),
      );
    await notifier.until(() => eventsOf(client, 'victim').length > 0, 'the write to be queued');
    source.cancel();
    expect((await answer)?.code).toBe(StandardErrorCodes.RequestCancelled);
    held.release();
    await held.done;
    await project.lane.whenIdle();
    await notifier.until(
      () => eventsOf(client, 'victim').some((event) => event.kind === 'operation.cancelled'),
      'the cancelled event',
    );
    expect(eventsOf(client, 'victim').map((event) => event.kind)).toEqual(['operation.queued', 'operation.cancelled']);
    expect(progressOn(client, 'victim-progress')).toEqual([]);
  });

  it('window/workDoneProgress/cancel on a queued write cancels it like $/cancelRequest, and nothing is sent on the token', async () => {
    const { project, client, projectId, notifier } = await setUp();
    const held = await holdLane(project);
    const answer = client.connection
      .sendRequest('packer/applyMutation', {
        projectId,
        operationId: 'victim',
        workDoneToken: 'victim-progress',
        mutation: { kind: 'rename', asset: { root: 'chars/hero' }, name: 'never' },
      })
      .then(
        () => null,
        (error: unknown) => responseErrorOf(error),
      );
    await notifier.until(() => eventsOf(client, 'victim').length > 0, 'the write to be queued');
    await client.connection.sendNotification('window/workDoneProgress/cancel', { token: 'victim-progress' });
    expect((await answer)?.code).toBe(StandardErrorCodes.RequestCancelled);
    held.release();
    await held.done;
    const listed = await client.connection.sendRequest<{ assets: { root: string; name: string }[] }>(
      'packer/listAssets',
      { projectId },
    );
    expect(listed.assets.find((asset) => asset.root === 'chars/hero')?.name).toBe('hero');
    expect(eventsOf(client, 'victim').map((event) => event.kind)).toEqual(['operation.queued', 'operation.cancelled']);
    expect(progressOn(client, 'victim-progress')).toEqual([]);
  });

  it('window/workDoneProgress/cancel on a queued pack cancels only that pack; the write behind it runs and shows begin then end', async () => {
    const { project, client, projectId, notifier } = await setUp();
    const held = await holdLane(project);
    const pack = client.connection
      .sendRequest('packer/pack', { projectId, operationId: 'pack-1', workDoneToken: 'pack-progress' })
      .then(
        () => null,
        (error: unknown) => responseErrorOf(error),
      );
    const rename = client.connection.sendRequest('packer/applyMutation', {
      projectId,
      operationId: 'rename-1',
      workDoneToken: 'rename-progress',
      mutation: { kind: 'rename', asset: { root: 'chars/slime' }, name: 'kept' },
    });
    await notifier.until(() => eventsOf(client, 'rename-1').length > 0, 'both writes to be queued');
    await client.connection.sendNotification('window/workDoneProgress/cancel', { token: 'pack-progress' });
    expect((await pack)?.code).toBe(StandardErrorCodes.RequestCancelled);
    held.release();
    await rename;
    expect(progressOn(client, 'pack-progress')).toEqual([]);
    expect(progressOn(client, 'rename-progress')).toEqual([
      { kind: 'begin', title: 'applyMutation', cancellable: false },
      { kind: 'end', message: 'succeeded' },
    ]);
  });

  it('a pack is cancellable until it passes its last checkpoint, then a report says cancellable: false before end', async () => {
    const { client, projectId } = await setUp();
    await client.connection.sendRequest('packer/pack', {
      projectId,
      operationId: 'pack-1',
      workDoneToken: 'pack-progress',
    });
    const values = progressOn(client, 'pack-progress');
    expect(values[0]).toEqual({ kind: 'begin', title: 'pack', cancellable: true });
    expect(values.at(-1)?.kind).toBe('end');
    const last = values.findIndex((value) => value.cancellable === false);
    expect(values[last]).toEqual({ kind: 'report', cancellable: false });
    expect(last).toBe(values.length - 2);
  });
});
