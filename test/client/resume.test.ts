/**
 * Reconnecting: a client's event cursor, `resume` and `ProjectEventFeed`. Against one in-process server
 * shared by several connections (a client that disconnects and comes back to the same server process),
 * against two runs of the real server (a restart: resynchronise), and against a scripted server for the
 * cases the real one cannot be made to produce (dropped retention, replay overlapping live events).
 */
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createMessageConnection,
  StreamMessageReader,
  StreamMessageWriter,
  type MessageConnection,
} from 'vscode-jsonrpc/node';
import {
  PackerClient,
  PackerErrorCodes,
  ProjectEventFeed,
  isPackerError,
  type PackerEvent,
} from '../../client/src/index.js';
import { PackerHost } from '../../server/src/index.js';
import { serveConnection } from '../../server/src/transport/connection.js';
import { writeProject } from '../support/workspace-builder.js';
import { SERVER_SCRIPT, blobAsset, track, uriOf, validated } from './support.js';

const resources = track();

const hosts: PackerHost[] = [];
afterEach(() => {
  for (const host of hosts.splice(0)) host.dispose();
});

/** A new connection to `host`, as a separate client process would make to a shared server. */
function connect(host: PackerHost): PackerClient {
  const toServer = new PassThrough();
  const toClient = new PassThrough();
  serveConnection({ input: toServer, output: toClient, host, onExit: () => toClient.end(), log: () => undefined });
  return resources.client(PackerClient.fromStreams(toClient, toServer, { processId: null }));
}

function projectDir(count: number): string {
  const dir = resources.tempDir();
  writeProject(dir, {
    assets: Array.from({ length: count }, (_, index) => blobAsset(`a${index}`, `payload ${index}\n`)),
    nextAssetId: count + 1,
  });
  return dir;
}

async function collect(events: AsyncIterable<PackerEvent>): Promise<PackerEvent[]> {
  const all: PackerEvent[] = [];
  for await (const event of events) all.push(event);
  return all;
}

function sequencesOf(events: readonly PackerEvent[]): number[] {
  return events.map((event) => event.sequence);
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, index) => from + index);
}

describe('resuming on the same server process', () => {
  it('replays, gap-free, what another client did while this one was away, then continues live', async () => {
    const host = new PackerHost({ watcher: null });
    hosts.push(host);
    const dir = projectDir(5);

    // First connection: sees some events, remembers where it stood, goes away.
    const first = connect(host);
    await first.start();
    const { projectId } = await first.openProject({ rootUri: uriOf(dir) });
    await first.applyMutationOperation({
      projectId,
      mutation: { kind: 'rename', asset: { assetId: 1 }, name: 'first' },
    }).outcome;
    const cursor = first.eventCursor(projectId)!;
    expect(cursor.epoch).toBe(host.epoch);
    expect(cursor.afterSequence).toBeGreaterThan(1);
    await first.stop();

    // Another client changes things meanwhile, including a pack with progress.
    const other = connect(host);
    await other.start();
    await other.openProject({ rootUri: uriOf(dir) });
    const excluded = await other.applyMutationOperation({
      projectId,
      mutation: { kind: 'setBuildInclusion', asset: { assetId: 2 }, included: false },
    }).outcome;
    const pack = other.packOperation({ projectId }, { coalesceProgress: false });
    const packEvents = await collect(pack.events);
    expect((await pack.outcome).outcome).toBe('succeeded');
    const lastOfOther = other.eventCursor(projectId)!.afterSequence;

    // The first client comes back on a new connection and catches up from its cursor.
    const back = connect(host);
    await back.start();
    await back.openProject({ rootUri: uriOf(dir) });
    const feed = new ProjectEventFeed(back, projectId, { from: cursor, coalesceProgress: false });
    const start = await feed.start();
    expect(start).toEqual({ status: 'replayed', epoch: host.epoch, replayed: lastOfOther - cursor.afterSequence });
    const replayed = feed.drain();
    expect(sequencesOf(replayed)).toEqual(range(cursor.afterSequence + 1, lastOfOther));
    expect(replayed.filter((event) => event.operationId === excluded.operationId).at(-1)?.kind).toBe(
      'operation.succeeded',
    );
    // Every event of the pack is there, progress included, exactly as the other client saw it live.
    expect(replayed.filter((event) => event.operationId === pack.operationId)).toEqual(packEvents);
    // Replaying again gives the same events.
    const again = await back.resume(projectId, cursor);
    expect(again).toMatchObject({ status: 'replayed', epoch: host.epoch, lastSequence: lastOfOther });
    expect(again.status === 'replayed' && again.events).toEqual(replayed);

    // Then it continues live, without a gap or a repeat.
    const live = back.applyMutationOperation({
      projectId,
      mutation: { kind: 'rename', asset: { assetId: 3 }, name: 'live' },
    });
    const received: PackerEvent[] = [];
    for await (const event of feed) {
      received.push(event);
      if (event.operationId === live.operationId && event.kind === 'operation.succeeded') break;
    }
    expect(sequencesOf(received)).toEqual(range(lastOfOther + 1, lastOfOther + received.length));
    expect(feed.cursor).toEqual({ epoch: host.epoch, afterSequence: received.at(-1)!.sequence });
    expect(back.eventCursor(projectId)).toEqual(feed.cursor);
  });

  it("resume with the client's own cursor returns nothing new", async () => {
    const host = new PackerHost({ watcher: null });
    hosts.push(host);
    const client = connect(host);
    await client.start();
    const { projectId } = await client.openProject({ rootUri: uriOf(projectDir(1)) });
    await client.applyMutationOperation({ projectId, mutation: { kind: 'rename', asset: { assetId: 1 }, name: 'x' } })
      .outcome;
    // The rename's own validation publishes one more revision; the client has seen it once a read says so.
    await validated(client, projectId);
    const result = await client.resume(projectId);
    expect(result).toMatchObject({ status: 'replayed', events: [] });
  });
});

describe('resuming after the server restarted', () => {
  it('says resync (epochChanged, from EpochMismatch 1009) and a feed continues from the new end of the log', async () => {
    const dir = projectDir(2);
    const before = resources.client(PackerClient.spawn({ serverCommand: SERVER_SCRIPT }));
    await before.start();
    const { projectId } = await before.openProject({ rootUri: uriOf(dir) });
    await before.applyMutationOperation({
      projectId,
      mutation: { kind: 'rename', asset: { assetId: 1 }, name: 'before' },
    }).outcome;
    const cursor = before.eventCursor(projectId)!;
    await before.stop();

    const after = resources.client(PackerClient.spawn({ serverCommand: SERVER_SCRIPT }));
    await after.start();
    const reopened = await after.openProject({ rootUri: uriOf(dir) });
    expect(reopened.projectId).toBe(projectId);

    // What the server says, raw.
    const refusal = await after
      .events({ projectId, afterSequence: cursor.afterSequence, epoch: cursor.epoch })
      .catch((error: unknown) => error);
    expect(isPackerError(refusal, PackerErrorCodes.EpochMismatch)).toBe(true);

    const resumed = await after.resume(projectId, cursor);
    expect(resumed.status).toBe('resync');
    if (resumed.status !== 'resync') return;
    expect(resumed.reason).toBe('epochChanged');
    expect(resumed.requestedEpoch).toBe(cursor.epoch);
    expect(resumed.epoch).not.toBe(cursor.epoch);
    // The new run's own events (open, watcher) keep coming, so its log only grows from there.
    const now = await after.events({ projectId, afterSequence: 0 });
    expect(resumed.lastSequence).toBeGreaterThanOrEqual(1);
    expect(resumed.lastSequence).toBeLessThanOrEqual(now.lastSequence);

    const feed = new ProjectEventFeed(after, projectId, { from: cursor });
    const start = await feed.start();
    expect(start).toMatchObject({
      status: 'resync',
      reason: 'epochChanged',
      epoch: now.epoch,
      requestedEpoch: cursor.epoch,
    });
    const resyncPoint = start.status === 'resync' ? start.lastSequence : -1;
    expect(feed.drain().every((event) => event.sequence > resyncPoint)).toBe(true);
    // The state must be re-read (the rename of the previous run is there), then events continue.
    expect((await after.getAssetDetails({ projectId, asset: { assetId: 1 } })).asset.name).toBe('before');
    const operation = after.applyMutationOperation({
      projectId,
      mutation: { kind: 'rename', asset: { assetId: 2 }, name: 'after' },
    });
    const received: PackerEvent[] = [];
    for await (const event of feed) {
      received.push(event);
      if (event.operationId === operation.operationId && event.kind === 'operation.succeeded') break;
    }
    expect(received.every((event) => event.epoch === now.epoch && event.sequence > resyncPoint)).toBe(true);
    expect(sequencesOf(received)).toEqual(range(received[0]!.sequence, received.at(-1)!.sequence));
  });
});

/** A scripted server on streams: answers `initialize`, `shutdown` and whatever `handlers` says. */
function scriptedServer(handlers: (connection: MessageConnection) => void): PackerClient {
  const toServer = new PassThrough();
  const toClient = new PassThrough();
  const connection = createMessageConnection(new StreamMessageReader(toServer), new StreamMessageWriter(toClient));
  connection.onRequest('initialize', () => ({ serverInfo: { name: 'scripted' }, capabilities: {}, projects: [] }));
  connection.onRequest('shutdown', () => null);
  connection.onNotification('exit', () => {
    toClient.end();
    connection.dispose();
  });
  handlers(connection);
  connection.listen();
  return resources.client(PackerClient.fromStreams(toClient, toServer, { processId: null }));
}

function event(sequence: number, kind = 'snapshot.published'): PackerEvent {
  return {
    projectId: 'prj-s',
    epoch: 'e1',
    sequence,
    time: '2026-01-01T00:00:00.000Z',
    kind,
    body: { revision: sequence, previousRevision: sequence - 1, cause: 'mutation' },
  } as PackerEvent;
}

describe('resuming against a scripted server', () => {
  it('says resync (dropped) when the events after the cursor are no longer retained', async () => {
    const client = scriptedServer((connection) => {
      connection.onRequest('packer/events', () => ({
        epoch: 'e1',
        events: [event(400_001)],
        lastSequence: 500_000,
        firstRetainedSequence: 400_001,
        dropped: true,
        more: false,
      }));
    });
    await client.start();
    const result = await client.resume('prj-s', { afterSequence: 12, epoch: 'e1' });
    expect(result).toEqual({
      status: 'resync',
      reason: 'dropped',
      epoch: 'e1',
      requestedEpoch: 'e1',
      lastSequence: 500_000,
    });
    expect(client.eventCursor('prj-s')).toEqual({ epoch: 'e1', afterSequence: 500_000 });
  });

  it('follows pages until the end, and a feed delivers each event once when live events overlap the replay', async () => {
    const requests: unknown[] = [];
    const client = scriptedServer((connection) => {
      connection.onRequest('packer/events', async (params: { afterSequence: number; limit?: number }) => {
        requests.push(params);
        if (params.afterSequence === 1) {
          // Live events the replay also holds arrive before the first page.
          await connection.sendNotification('packer/event', event(3));
          await connection.sendNotification('packer/event', event(4));
          return {
            epoch: 'e1',
            events: [event(2), event(3)],
            lastSequence: 4,
            firstRetainedSequence: 1,
            dropped: false,
            more: true,
          };
        }
        return {
          epoch: 'e1',
          events: [event(4)],
          lastSequence: 5,
          firstRetainedSequence: 1,
          dropped: false,
          more: false,
        };
      });
      connection.onNotification('test/live', async () => {
        await connection.sendNotification('packer/event', event(5));
        await connection.sendNotification('packer/event', event(6));
      });
    });
    await client.start();
    const feed = new ProjectEventFeed(client, 'prj-s', { from: { afterSequence: 1, epoch: 'e1' } });
    expect(await feed.start({ pageSize: 2 })).toEqual({ status: 'replayed', epoch: 'e1', replayed: 3 });
    expect(requests).toEqual([
      { projectId: 'prj-s', afterSequence: 1, epoch: 'e1', limit: 2 },
      { projectId: 'prj-s', afterSequence: 3, epoch: 'e1', limit: 2 },
    ]);
    await client.sendNotification('test/live', {});
    const received: PackerEvent[] = [];
    for await (const next of feed) {
      received.push(next);
      if (next.sequence === 6) break;
    }
    expect(sequencesOf(received)).toEqual([2, 3, 4, 5, 6]);
  });

  it('a feed whose replay fails rejects and closes', async () => {
    const client = scriptedServer((connection) => {
      connection.onRequest('packer/events', () => {
        throw new Error('boom');
      });
    });
    await client.start();
    const feed = new ProjectEventFeed(client, 'prj-s');
    await expect(feed.start()).rejects.toMatchObject({ kind: 'request' });
    expect(feed.sink.closed).toBe(true);
    expect(await feed.next()).toEqual({ value: undefined, done: true });
  });
});
