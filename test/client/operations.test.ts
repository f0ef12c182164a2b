/**
 * Operation handles against the real server: the events of a write arrive through its handle, in order,
 * ending with exactly one terminal event that agrees with the write's response, for applied and rejected
 * mutations, packs (with a slow reader), reconcile, cancellation, refusals, and the submitMutation form.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  PackerClient,
  PackerErrorCodes,
  RequestCancelledError,
  SubmissionRefusedError,
  isPackerError,
  packerRequests,
  type PackerEvent,
} from '../../client/src/index.js';
import { declarationFor, writeFile, writeProject } from '../support/workspace-builder.js';
import { SERVER_SCRIPT, blobAsset, nextEvent, track, uriOf, validated } from './support.js';

const resources = track();

async function collect(events: AsyncIterable<PackerEvent>): Promise<PackerEvent[]> {
  const all: PackerEvent[] = [];
  for await (const event of events) all.push(event);
  return all;
}

/** A started client with a project of `count` registered blob assets (`a000`, `a001`...) opened. */
async function openProject(
  count = 2,
  withUnregistered = false,
): Promise<{ client: PackerClient; projectId: string; dir: string }> {
  const dir = resources.tempDir();
  const assets = Array.from({ length: count }, (_, index) =>
    blobAsset(`a${String(index).padStart(3, '0')}`, `payload ${index}\n`),
  );
  if (withUnregistered) assets.push(blobAsset('loose', 'loose\n', { registered: false }));
  writeProject(dir, { assets });
  const client = resources.client(PackerClient.spawn({ serverCommand: SERVER_SCRIPT, validateEvents: true }));
  await client.start();
  const { projectId } = await client.openProject({ rootUri: uriOf(dir) });
  await validated(client, projectId);
  return { client, projectId, dir };
}

function kinds(events: readonly PackerEvent[]): string[] {
  return events.map((event) => event.kind);
}

function expectOrdered(events: readonly PackerEvent[]): void {
  const sequences = events.map((event) => event.sequence);
  expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
  expect(new Set(sequences).size).toBe(sequences.length);
}

describe('operation handles', () => {
  it('an applied mutation: its events end with operation.succeeded, whose outcome is the response', async () => {
    const { client, projectId } = await openProject();
    const operation = client.applyMutationOperation({
      projectId,
      mutation: { kind: 'rename', asset: { assetId: 1 }, name: 'renamed' },
    });
    expect(operation.operationId).toMatch(/^c[0-9a-f]{8}-\d+$/);
    const events = await collect(operation.events);
    const result = await operation.outcome;
    expect(kinds(events)).toEqual([
      'operation.queued',
      'operation.started',
      'snapshot.published',
      'operation.succeeded',
    ]);
    expect(events.every((event) => event.operationId === operation.operationId && event.projectId === projectId)).toBe(
      true,
    );
    expectOrdered(events);
    expect(result).toMatchObject({ operationId: operation.operationId, outcome: 'applied', revision: 3 });
    const terminal = await operation.terminal;
    expect(terminal).toBe(events.at(-1));
    expect(terminal?.kind === 'operation.succeeded' && terminal.body.outcome).toEqual(result);
  });

  it('a rejected mutation is an outcome, not an error: operation.failed carries the same rejection', async () => {
    const { client, projectId, dir } = await openProject();
    const operation = client.applyMutationOperation({
      projectId,
      operationId: 'remove-without-consent',
      mutation: { kind: 'remove', asset: { assetId: 1 } },
    });
    const [events, result] = await Promise.all([collect(operation.events), operation.outcome]);
    expect(operation.operationId).toBe('remove-without-consent');
    expect(result.outcome).toBe('rejected');
    expect(result.reasons.map((reason) => reason.code)).toEqual(['consentRequired']);
    expect(kinds(events)).toEqual(['operation.queued', 'operation.started', 'operation.failed']);
    const terminal = events.at(-1)!;
    expect(terminal.kind === 'operation.failed' && terminal.body.outcome).toEqual(result);
    // Nothing was touched.
    expect(existsSync(join(dir, 'assets', 'a000', 'x.bin'))).toBe(true);
  });

  it('a write refused before it reached the lane rejects with the typed error; its events end empty', async () => {
    const { client } = await openProject(1);
    const operation = client.packOperation({ projectId: 'prj-0000000000000000' });
    const failure = await operation.outcome.catch((error: unknown) => error);
    expect(isPackerError(failure, PackerErrorCodes.UnknownProject)).toBe(true);
    expect(await collect(operation.events)).toEqual([]);
    expect(await operation.terminal).toBeUndefined();
  });

  it('a pack read by a slow consumer: progress merged into the newest, nothing else lost, terminal agrees with the result', async () => {
    const { client, projectId } = await openProject(40);
    const slow = client.packOperation({ projectId, incremental: false });
    const everything = client.packOperation({ projectId }, { coalesceProgress: false });
    // The slow reader does not look at its events until both packs are over.
    const [slowResult, fullEvents, fullResult] = await Promise.all([
      slow.outcome,
      collect(everything.events),
      everything.outcome,
    ]);
    const slowEvents = await collect(slow.events);

    expect(slowResult).toMatchObject({ outcome: 'succeeded', materialized: 40 });
    expect(kinds(slowEvents)).toEqual([
      'operation.queued',
      'operation.started',
      'operation.progress',
      'operation.succeeded',
    ]);
    const progress = slowEvents[2]!;
    expect(progress.kind === 'operation.progress' && progress.body).toMatchObject({
      done: 40,
      total: 40,
      unit: 'assets',
      merged: 39,
    });
    expect(slow.events.mergedCount).toBe(39);
    const slowTerminal = slowEvents[3]!;
    expect(slowTerminal.kind === 'operation.succeeded' && slowTerminal.body.outcome).toEqual(slowResult);

    // Without coalescing every progress event arrives (or is accounted for, if the server merged some).
    expect(fullResult.outcome).toBe('succeeded');
    const fullProgress = fullEvents.filter((event) => event.kind === 'operation.progress');
    const reported = fullProgress.reduce(
      (sum, event) => sum + 1 + (event.kind === 'operation.progress' ? (event.body.merged ?? 0) : 0),
      0,
    );
    expect(reported).toBe(40);
    expect(fullEvents.at(-1)?.kind).toBe('operation.succeeded');
    expectOrdered(fullEvents);
    // Same bytes from a full and an incremental build.
    expect(fullResult.artifacts).toEqual(slowResult.artifacts);
  });

  it('a blocked pack ends with operation.failed whose outcome lists the same blockers as the response', async () => {
    const dir = resources.tempDir();
    writeProject(dir, { assets: [{ ...blobAsset('broken', ''), files: {} }] });
    const client = resources.client(PackerClient.spawn({ serverCommand: SERVER_SCRIPT }));
    await client.start();
    const { projectId } = await client.openProject({ rootUri: uriOf(dir) });
    const operation = client.packOperation({ projectId });
    const [events, result] = await Promise.all([collect(operation.events), operation.outcome]);
    expect(result.outcome).toBe('blocked');
    expect(result.blockers.map((blocker) => blocker.code)).toEqual(['input-missing']);
    const terminal = events.at(-1)!;
    expect(terminal.kind).toBe('operation.failed');
    expect(terminal.kind === 'operation.failed' && terminal.body.outcome).toEqual(result);
  });

  it('cancelling a queued write: the outcome waits for the server, which answers RequestCancelled with operation.cancelled', async () => {
    const { client, projectId } = await openProject(200);
    const first = client.packOperation({ projectId, incremental: false });
    const second = client.packOperation({ projectId });
    second.cancel();
    const failure = await second.outcome.catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(RequestCancelledError);
    expect((failure as RequestCancelledError).by).toBe('server');
    const events = await collect(second.events);
    expect(kinds(events)).toEqual(['operation.queued', 'operation.cancelled']);
    const terminal = events[1]!;
    expect(terminal.kind === 'operation.cancelled' && terminal.body.started).toBe(false);
    expect(await second.terminal).toBe(terminal);
    // The write ahead of it was not disturbed.
    expect((await first.outcome).outcome).toBe('succeeded');
  });

  it('reconcileOperation after a change on disk: the diff names it and the terminal event agrees', async () => {
    const { client, projectId, dir } = await openProject(1);
    // Changes count as divergence once the server watches (an input rewritten while it is still starting
    // may be fingerprinted with its new content, and then nothing says it changed).
    const watchDeadline = Date.now() + 20_000;
    while ((await client.projectStatus({ projectId })).watching.state !== 'watching') {
      if (Date.now() > watchDeadline) throw new Error('the server never started watching');
      await nextEvent(
        client,
        (event) => event.projectId === projectId && event.kind === 'watch.stateChanged',
        2_000,
      ).catch(() => undefined);
    }
    writeFileSync(join(dir, 'assets', 'a000', 'x.bin'), 'edited outside the packer\n');
    const lamp = blobAsset('lamp', 'lamp\n');
    writeFile(join(dir, 'assets', 'lamp', 'x.bin'), 'lamp\n');
    writeFile(join(dir, 'assets', 'lamp', 'asset.json'), JSON.stringify(declarationFor(lamp)));
    // The watcher may report the three writes in one batch or several: wait until the status has them all.
    const deadline = Date.now() + 20_000;
    for (;;) {
      const paths = (await client.projectStatus({ projectId })).divergence.changes.map((change) => change.path);
      if (['a000/x.bin', 'lamp/asset.json', 'lamp/x.bin'].every((path) => paths.includes(path))) break;
      if (Date.now() > deadline)
        throw new Error(`the divergence never listed all three writes: ${JSON.stringify(paths)}`);
      await nextEvent(
        client,
        (event) => event.projectId === projectId && event.kind === 'divergence.detected',
        2_000,
      ).catch(() => undefined);
    }
    const operation = client.reconcileOperation({ projectId });
    const [events, result] = await Promise.all([collect(operation.events), operation.outcome]);
    expect(result.revision).toBeGreaterThan(result.previousRevision);
    expect(result.clearedChanges).toBe(result.accepted.length);
    expect(result.accepted).toContainEqual({ path: 'a000/x.bin', change: 'changed' });
    // A new root is a snapshot difference; new bytes in an input are accepted divergence, not a root change.
    expect(result.diff.added).toEqual([{ root: 'lamp', assetUuid: declarationFor(lamp)['asset_uuid'] }]);
    // The new unregistered root brings its diagnostic, so diagnostics.changed follows the publication.
    expect(kinds(events)).toEqual([
      'operation.queued',
      'operation.started',
      'snapshot.published',
      'diagnostics.changed',
      'operation.succeeded',
    ]);
    const terminal = events.at(-1)!;
    expect(terminal.kind === 'operation.succeeded' && terminal.body.outcome).toEqual(result);
    expect((await client.projectStatus({ projectId })).state).toBe('ready');
  });

  it("startOperation takes any write declaration, with the caller's operationId", async () => {
    const dir = resources.tempDir();
    const client = resources.client(PackerClient.spawn({ serverCommand: SERVER_SCRIPT }));
    await client.start();
    const operation = client.startOperation(packerRequests.initWorkspace, {
      rootUri: uriOf(dir),
      operationId: 'init-1',
    });
    const [events, result] = await Promise.all([collect(operation.events), operation.outcome]);
    expect(result).toMatchObject({ operationId: 'init-1', outcome: 'created' });
    expect(events.at(-1)).toMatchObject({ kind: 'operation.succeeded', operationId: 'init-1' });
  });
});

describe('submitMutationOperation', () => {
  it("resolves with the terminal event's outcome: applied, or rejected with its reasons", async () => {
    const { client, projectId } = await openProject(2, true);
    const applied = client.submitMutationOperation({ projectId, mutation: { kind: 'register', root: 'loose' } });
    const rejected = client.submitMutationOperation({ projectId, mutation: { kind: 'remove', asset: { assetId: 2 } } });
    const [appliedResult, appliedEvents, rejectedResult, rejectedEvents] = await Promise.all([
      applied.outcome,
      collect(applied.events),
      rejected.outcome,
      collect(rejected.events),
    ]);
    expect(appliedResult).toMatchObject({ operationId: applied.operationId, outcome: 'applied' });
    expect(appliedEvents.at(-1)?.kind).toBe('operation.succeeded');
    expect(rejectedResult).toMatchObject({
      operationId: rejected.operationId,
      outcome: 'rejected',
      reasons: [expect.objectContaining({ code: 'consentRequired' })],
    });
    expect(rejectedEvents.at(-1)?.kind).toBe('operation.failed');
    // Both joined the lane in the order they were sent.
    expect(appliedEvents[0]!.sequence).toBeLessThan(rejectedEvents[0]!.sequence);
    const list = await client.listAssets({ projectId });
    expect(list.assets.find((asset) => asset.root === 'loose')).toMatchObject({ registered: true, assetId: 3 });
  });
});

describe('operation ids name one operation', () => {
  it('a second write with an id still in flight is refused before it is sent, and the first keeps its own terminal event', async () => {
    const { client, projectId } = await openProject();
    const first = client.applyMutationOperation({
      projectId,
      operationId: 'same-id',
      mutation: { kind: 'rename', asset: { assetId: 1 }, name: 'first' },
    });
    const second = client.applyMutationOperation({
      projectId,
      operationId: 'same-id',
      mutation: { kind: 'rename', asset: { assetId: 1 }, name: 'second' },
    });
    const submitted = client.submitMutationOperation({
      projectId,
      operationId: 'same-id',
      mutation: { kind: 'rename', asset: { assetId: 1 }, name: 'third' },
    });
    const failure = await second.outcome.catch((error: unknown) => error);
    expect(isPackerError(failure, PackerErrorCodes.OperationIdInUse)).toBe(true);
    expect(failure).toMatchObject({ data: { operationId: 'same-id', usedBy: 'inFlight' } });
    expect(await second.terminal).toBeUndefined();
    expect(await collect(second.events)).toEqual([]);
    await expect(submitted.outcome).rejects.toMatchObject({
      kind: 'refused',
      code: PackerErrorCodes.OperationIdInUse,
      operationId: 'same-id',
    });
    expect(await submitted.terminal).toBeUndefined();
    const events = await collect(first.events);
    expect(kinds(events)).toEqual([
      'operation.queued',
      'operation.started',
      'snapshot.published',
      'operation.succeeded',
    ]);
    expect(await first.outcome).toMatchObject({ operationId: 'same-id', outcome: 'applied' });
    const details = await client.getAssetDetails({ projectId, asset: { assetId: 1 } });
    expect(details.asset.name).toBe('first');
  });

  it('an id an ended operation used is refused by the server: the handle gets OperationIdInUse and no events', async () => {
    const { client, projectId } = await openProject();
    const first = client.applyMutationOperation({
      projectId,
      operationId: 'used-id',
      mutation: { kind: 'rename', asset: { assetId: 1 }, name: 'first' },
    });
    await first.outcome;
    const again = client.applyMutationOperation({
      projectId,
      operationId: 'used-id',
      mutation: { kind: 'rename', asset: { assetId: 1 }, name: 'again' },
    });
    const failure = await again.outcome.catch((error: unknown) => error);
    expect(isPackerError(failure, PackerErrorCodes.OperationIdInUse)).toBe(true);
    expect(failure).toMatchObject({ data: { operationId: 'used-id', usedBy: 'retained', projectId } });
    expect(await again.terminal).toBeUndefined();
    expect(await collect(again.events)).toEqual([]);
    const submitted = client.submitMutationOperation({
      projectId,
      operationId: 'used-id',
      mutation: { kind: 'rename', asset: { assetId: 1 }, name: 'submitted' },
    });
    await expect(submitted.outcome).rejects.toMatchObject({ kind: 'refused', code: PackerErrorCodes.OperationIdInUse });
    const replay = await client.events({ projectId, afterSequence: 0, operationId: 'used-id' });
    expect(
      replay.events
        .filter((event) => event.kind.startsWith('operation.') && event.kind !== 'operation.progress')
        .map((event) => event.kind),
    ).toEqual(['operation.queued', 'operation.started', 'operation.succeeded']);
  });
});

describe('refusals end to end', () => {
  it('a submitMutation for an unknown project reaches the handle as SubmissionRefusedError with the code 1001', async () => {
    const { client } = await openProject(1);
    const operation = client.submitMutationOperation({
      projectId: 'prj-nobody-opened',
      mutation: { kind: 'forget', asset: { assetId: 1 } },
    });
    const failure = await operation.outcome.catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(SubmissionRefusedError);
    expect(failure).toMatchObject({
      kind: 'refused',
      operationId: operation.operationId,
      code: PackerErrorCodes.UnknownProject,
    });
    expect(await operation.terminal).toBeUndefined();
    expect(await collect(operation.events)).toEqual([]);
  });
});
