/**
 * The typed packer API over a connection an extension already has: `PackerConnection.fromEndpoint` on an
 * object with exactly vscode-languageclient's `LanguageClient` calls, built on its own vscode-jsonrpc copy,
 * in front of the real server. Reads, events fanned out to several listeners, a pack followed through its
 * operation handle, cancellation through the endpoint's token, error responses from the other copy of
 * vscode-jsonrpc, and a stop that detaches without ending the endpoint's server.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  ClientStateError,
  ConnectionClosedError,
  PackerConnection,
  PackerRequestError,
  RequestCancelledError,
  isPackerError,
  PackerErrorCodes,
  type PackerEvent,
} from '../../client/src/index.js';
import { writeProject } from '../support/workspace-builder.js';
import { blobAsset, eventually, track, uriOf } from '../client/support.js';
import { languageClientRpcVersion, spawnLanguageClient, type SpawnedLanguageClient } from './language-client-shape.js';

const resources = track();
const servers: SpawnedLanguageClient[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.stop()));
});

async function collect(events: AsyncIterable<PackerEvent>): Promise<PackerEvent[]> {
  const all: PackerEvent[] = [];
  for await (const event of events) all.push(event);
  return all;
}

/** A started LanguageClient-shaped server with a project of `count` blob assets opened as a workspace folder. */
async function started(
  count = 2,
): Promise<{ server: SpawnedLanguageClient; packer: PackerConnection; projectId: string }> {
  const dir = resources.tempDir();
  writeProject(dir, {
    assets: Array.from({ length: count }, (_, index) => blobAsset(`a${String(index).padStart(3, '0')}`, `p${index}\n`)),
  });
  const server = spawnLanguageClient();
  servers.push(server);
  // The LanguageClient runs the handshake; the packer connection only rides on it.
  await server.initialize([{ uri: uriOf(dir), name: 'game' }]);
  const packer = PackerConnection.fromEndpoint(server.client);
  // Opening a workspace folder's root again returns the project the server opened during initialize.
  const { projectId } = await packer.openProject({ rootUri: uriOf(dir) });
  await eventually(
    async () => ((await packer.projectStatus({ projectId })).counts.validationPending === 0 ? true : undefined),
    'format validation to finish',
  );
  return { server, packer, projectId };
}

describe('the packer client over a LanguageClient-shaped endpoint', () => {
  it('runs on vscode-languageclient’s own vscode-jsonrpc copy, not the client library’s', () => {
    expect(languageClientRpcVersion).toMatch(/^8\./);
  });

  it('reads are typed and answered, and every packer/event reaches every listener through the one endpoint handler', async () => {
    const { packer, projectId } = await started(2);
    const list = await packer.listAssets({ projectId });
    expect(list.assets.map((asset) => asset.root)).toEqual(['a000', 'a001']);
    const first: PackerEvent[] = [];
    const second: PackerEvent[] = [];
    packer.onEvent((event) => first.push(event));
    packer.onEvent((event) => second.push(event));
    const operation = packer.reconcileOperation({ projectId });
    await operation.outcome;
    const mine = (events: PackerEvent[]): string[] =>
      events.filter((event) => event.operationId === operation.operationId).map((event) => event.kind);
    expect(mine(first)).toEqual(mine(second));
    expect(mine(first)[0]).toBe('operation.queued');
    expect(mine(first).at(-1)).toBe('operation.succeeded');
  });

  it('a pack followed through its operation handle: progress per asset, one terminal event that equals the response', async () => {
    const { packer, projectId } = await started(3);
    const operation = packer.packOperation({ projectId, incremental: false }, { coalesceProgress: false });
    const [events, result] = await Promise.all([collect(operation.events), operation.outcome]);
    expect(result.outcome).toBe('succeeded');
    expect(result.assets.map((asset) => asset.root)).toEqual(['a000', 'a001', 'a002']);
    expect(events.filter((event) => event.kind === 'operation.progress').length).toBeGreaterThan(0);
    const terminal = events.at(-1)!;
    expect(terminal.kind).toBe('operation.succeeded');
    expect(terminal.kind === 'operation.succeeded' && terminal.body.outcome).toEqual(result);
    expect(operation.operationId.startsWith('k')).toBe(true);
  });

  it('cancelling a queued pack goes out as $/cancelRequest through the endpoint’s token: the server answers RequestCancelled and operation.cancelled', async () => {
    const { server, packer, projectId } = await started(200);
    const first = packer.packOperation({ projectId, incremental: false });
    const second = packer.packOperation({ projectId });
    second.cancel();
    const failure = await second.outcome.catch((error: unknown) => error);
    // The error response came from vscode-languageclient's jsonrpc copy and is still read as a cancellation.
    expect(failure).toBeInstanceOf(RequestCancelledError);
    expect((failure as RequestCancelledError).by).toBe('server');
    expect(server.sentCancellations).toHaveLength(1);
    const events = await collect(second.events);
    expect(events.map((event) => event.kind)).toEqual(['operation.queued', 'operation.cancelled']);
    expect((await first.outcome).outcome).toBe('succeeded');
  });

  it('an error response from the other vscode-jsonrpc copy becomes a typed PackerRequestError', async () => {
    const { packer } = await started(1);
    const failure = await packer.listAssets({ projectId: 'no-such-project' }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(PackerRequestError);
    expect(isPackerError(failure, PackerErrorCodes.UnknownProject)).toBe(true);
  });

  it('aborting a request rejects at once by default and still tells the server to cancel', async () => {
    const { server, packer, projectId } = await started(200);
    const busy = packer.packOperation({ projectId, incremental: false });
    const controller = new AbortController();
    const queued = packer.reconcile({ projectId }, { signal: controller.signal });
    controller.abort();
    const failure = await queued.catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(RequestCancelledError);
    expect((failure as RequestCancelledError).by).toBe('aborted');
    expect(server.sentCancellations).toHaveLength(1);
    expect((await busy.outcome).outcome).toBe('succeeded');
  });

  it('start() refuses, because the endpoint’s owner ran initialize', async () => {
    const { packer } = await started(1);
    await expect(packer.start()).rejects.toBeInstanceOf(ClientStateError);
  });

  it('stop() detaches: later requests reject with ConnectionClosedError, the endpoint and its server keep running', async () => {
    const { server, packer, projectId } = await started(1);
    let exits = 0;
    packer.onExit(() => exits++);
    await packer.stop();
    expect(exits).toBe(1);
    await expect(packer.listAssets({ projectId })).rejects.toBeInstanceOf(ConnectionClosedError);
    // A new packer connection on the same endpoint works: the server was not shut down.
    const again = PackerConnection.fromEndpoint(server.client);
    expect((await again.listAssets({ projectId })).assets).toHaveLength(1);
    expect(server.process.exitCode).toBeNull();
    expect(await server.stop()).toBe(0);
  });
});
