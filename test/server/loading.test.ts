/**
 * The `loading` state: while a project's first snapshot is built it is known under its id, its status and
 * event log answer at once, every other read waits for the first snapshot (or is cancelled), a load that
 * fails forgets the project, and the main thread keeps answering other projects meanwhile.
 */
import { realpathSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { pathToFileURL } from 'node:url';
import type { PackerEvent, ProjectStatus } from '@prometeu/packer-protocol';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CancellationTokenSource,
  StreamMessageReader,
  StreamMessageWriter,
  createMessageConnection,
  type MessageConnection,
} from 'vscode-jsonrpc/node';
import { PackerHost, projectIdOf } from '../../server/src/host.js';
import { serveConnection } from '../../server/src/transport/connection.js';
import { useTempDirs, writeProject } from '../support/workspace-builder.js';

const tempDir = useTempDirs('packer-loading-');
const disposers: (() => void)[] = [];
afterEach(() => {
  for (const dispose of disposers.splice(0).reverse()) dispose();
});

/** A load gate: every load of the host waits at it until released. */
function gate(): {
  hook: (projectId: string) => Promise<void>;
  held: string[];
  release(): void;
  fail(error: Error): void;
} {
  let release: () => void = () => undefined;
  let fail: (error: Error) => void = () => undefined;
  const opened = new Promise<void>((resolve, reject) => ((release = resolve), (fail = reject)));
  const held: string[] = [];
  return {
    hook: (projectId) => {
      held.push(projectId);
      return opened;
    },
    held,
    release: () => release(),
    fail: (error) => fail(error),
  };
}

function connect(host: PackerHost): { connection: MessageConnection; events: PackerEvent[] } {
  const toServer = new PassThrough();
  const toClient = new PassThrough();
  const served = serveConnection({
    input: toServer,
    output: toClient,
    host,
    onExit: () => undefined,
    log: () => undefined,
    isProcessAlive: () => true,
  });
  const connection = createMessageConnection(new StreamMessageReader(toClient), new StreamMessageWriter(toServer));
  const events: PackerEvent[] = [];
  connection.onNotification('packer/event', (event: PackerEvent) => void events.push(event));
  connection.listen();
  disposers.push(() => {
    connection.dispose();
    served.dispose();
  });
  return { connection, events };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

function project(): { root: string; uri: string; id: string } {
  const root = tempDir();
  writeProject(root, { assets: [{ root: 'misc/hello', files: { 'data.bin': 'hello' } }] });
  return { root, uri: pathToFileURL(root).href, id: projectIdOf(realpathSync(root)) };
}

describe('a project that is loading', () => {
  it('opened by initialize is known under its id as loading to another connection, and initialize answers once it is ready', async () => {
    const held = gate();
    const host = new PackerHost({ watcher: null, beforeLoad: held.hook });
    disposers.push(() => host.dispose());
    const { uri, id } = project();
    const watcher = connect(host);
    await watcher.connection.sendRequest('initialize', { processId: null, capabilities: {} });
    await watcher.connection.sendNotification('initialized', {});
    const editor = connect(host);
    const initialize = editor.connection.sendRequest<{ projects: unknown[] }>('initialize', {
      processId: null,
      capabilities: {},
      workspaceFolders: [{ uri, name: 'game' }],
    });
    await until(() => held.held.length === 1, 'the load to be held');
    expect(held.held).toEqual([id]);
    await until(() => watcher.events.length === 1, 'the loading event');
    expect(watcher.events.map((event) => [event.projectId, event.kind, event.body])).toEqual([
      [id, 'project.stateChanged', { state: 'loading', previousState: null, revision: 0 }],
    ]);
    const status = await watcher.connection.sendRequest<ProjectStatus>('packer/projectStatus', { projectId: id });
    expect(status).toMatchObject({ projectId: id, state: 'loading', revision: 0, workspaceInitialized: true });
    expect(status.counts.roots).toBe(0);

    // A read that waits for the first snapshot can be cancelled meanwhile.
    const cancel = new CancellationTokenSource();
    const cancelled = watcher.connection.sendRequest('packer/listAssets', { projectId: id }, cancel.token).then(
      () => 'answered',
      (error: { code: number }) => error.code,
    );
    const waiting = watcher.connection.sendRequest<{ revision: number; assets: unknown[] }>('packer/listAssets', {
      projectId: id,
    });
    await new Promise((resolve) => setImmediate(resolve));
    cancel.cancel();
    expect(await cancelled).toBe(-32800);

    held.release();
    expect((await initialize).projects).toEqual([{ rootUri: uri, projectId: id, revision: 1, state: 'ready' }]);
    expect(await waiting).toMatchObject({ revision: 1, assets: [{ root: 'misc/hello' }] });
    expect(watcher.events.slice(0, 3).map((event) => [event.kind, event.body])).toEqual([
      ['project.stateChanged', { state: 'loading', previousState: null, revision: 0 }],
      ['snapshot.published', { revision: 1, previousRevision: null, cause: 'open' }],
      ['project.stateChanged', { state: 'ready', previousState: 'loading', revision: 1 }],
    ]);
  });

  it('a load that fails says failed, forgets the project, and the open and the waiting reads are refused', async () => {
    const held = gate();
    const host = new PackerHost({ watcher: null, beforeLoad: held.hook });
    disposers.push(() => host.dispose());
    const { uri, id } = project();
    const client = connect(host);
    await client.connection.sendRequest('initialize', { processId: null, capabilities: {} });
    await client.connection.sendNotification('initialized', {});
    const open = client.connection.sendRequest('packer/openProject', { rootUri: uri }).then(
      () => 'opened',
      (error: { code: number; message: string }) => error.message,
    );
    await until(() => held.held.length === 1, 'the load to be held');
    const read = client.connection.sendRequest('packer/doctor', { projectId: id, scope: 'registered' }).then(
      () => 'answered',
      (error: { code: number }) => error.code,
    );
    await new Promise((resolve) => setImmediate(resolve));
    held.fail(new Error('the disk went away'));
    expect(await open).toContain('the disk went away');
    expect(await read).toBe(1001);
    expect(client.events.map((event) => [event.kind, event.body])).toEqual([
      ['project.stateChanged', { state: 'loading', previousState: null, revision: 0 }],
      [
        'project.stateChanged',
        {
          state: 'failed',
          previousState: 'loading',
          revision: 0,
          failure: 'The project could not be loaded: the disk went away',
        },
      ],
    ]);
    const status = await client.connection.sendRequest('packer/projectStatus', { projectId: id }).then(
      () => 'answered',
      (error: { code: number }) => error.code,
    );
    expect(status).toBe(1001);
  });

  it("keeps answering another project's reads while one project loads", async () => {
    const held = gate();
    let holding = false;
    const host = new PackerHost({
      watcher: null,
      beforeLoad: (projectId) => (holding ? held.hook(projectId) : Promise.resolve()),
    });
    disposers.push(() => host.dispose());
    const first = project();
    const second = project();
    const client = connect(host);
    await client.connection.sendRequest('initialize', { processId: null, capabilities: {} });
    await client.connection.sendRequest('packer/openProject', { rootUri: first.uri });
    holding = true;
    const opening = client.connection.sendRequest<ProjectStatus>('packer/openProject', { rootUri: second.uri });
    await until(() => held.held.length === 1, 'the second load to be held');
    const list = await client.connection.sendRequest<{ revision: number }>('packer/listAssets', {
      projectId: first.id,
    });
    expect(list.revision).toBeGreaterThanOrEqual(1);
    held.release();
    expect(await opening).toMatchObject({ projectId: second.id, state: 'ready', revision: 1 });
  });
});
