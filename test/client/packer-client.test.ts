/**
 * The client against the real packer server over stdio: lifecycle, every typed method on a small project,
 * typed errors, cancellation, events and a clean stop.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ClientStateError,
  ConnectionClosedError,
  PackerClient,
  PackerErrorCodes,
  PackerRequestError,
  RequestCancelledError,
  ServerCrashedError,
  isPackerError,
  packerRequests,
  type PackerEvent,
} from '../../client/src/index.js';
import { HERO_UUID, SERVER_SCRIPT, isRunning, nextEvent, track, uriOf, validated, writeProject } from './support.js';

const resources = track();

function spawnClient(options: Partial<Parameters<typeof PackerClient.spawn>[0]> = {}): PackerClient {
  return resources.client(PackerClient.spawn({ serverCommand: SERVER_SCRIPT, shutdownTimeoutMs: 5_000, ...options }));
}

async function openedProject(
  options: Parameters<typeof writeProject>[1] = {},
): Promise<{ client: PackerClient; projectId: string; dir: string }> {
  const dir = resources.tempDir();
  writeProject(dir, options);
  const client = spawnClient();
  await client.start();
  const { projectId } = await client.openProject({ rootUri: uriOf(dir) });
  await validated(client, projectId);
  return { client, projectId, dir };
}

describe('PackerClient lifecycle with the real server', () => {
  it('start() initializes the server and returns its capabilities, listing every protocol request', async () => {
    const client = spawnClient();
    expect(client.state).toBe('new');
    const result = await client.start();
    expect(client.state).toBe('running');
    expect(result.serverInfo.name).toBe('prometeu-packer');
    const offered = result.capabilities.experimental.packer.requests;
    for (const declaration of Object.values(packerRequests)) expect(offered).toContain(declaration.method);
    expect(client.serverInitializeResult).toEqual(result);
  });

  it('opens the workspace folders given to spawn() during initialize', async () => {
    const dir = resources.tempDir();
    writeProject(dir);
    const client = spawnClient({ workspaceFolders: [{ uri: uriOf(dir), name: 'game' }] });
    const result = await client.start();
    expect(result.projects).toHaveLength(1);
    const [project] = result.projects;
    expect(project?.state).toBe('ready');
    const status = await client.projectStatus({ projectId: project!.projectId! });
    expect(status.counts.registered).toBe(1);
  });

  it('stop() shuts the server down cleanly: shutdown answered, exit code 0, exit listeners told', async () => {
    const client = spawnClient();
    await client.start();
    const pid = client.pid!;
    const exits: unknown[] = [];
    client.onExit((info) => exits.push(info));
    const result = await client.stop();
    expect(result).toMatchObject({ exitCode: 0, signal: null, killed: false, clean: true, error: undefined });
    expect(client.state).toBe('stopped');
    expect(exits).toEqual([{ exitCode: 0, signal: null, expected: true, error: undefined }]);
    expect(isRunning(pid)).toBe(false);
    expect(await client.stop()).toBe(result);
  });

  it('refuses requests before start() and after stop() with typed errors', async () => {
    const client = spawnClient();
    await expect(client.projectStatus({ projectId: 'x' })).rejects.toBeInstanceOf(ClientStateError);
    await client.start();
    await client.stop();
    await expect(client.projectStatus({ projectId: 'x' })).rejects.toBeInstanceOf(ConnectionClosedError);
  });

  it('works over streams the caller owns (fromStreams)', async () => {
    const child = spawn(process.execPath, [SERVER_SCRIPT, '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const client = resources.client(PackerClient.fromStreams(child.stdout, child.stdin));
    try {
      const result = await client.start();
      expect(result.serverInfo.name).toBe('prometeu-packer');
      const stopped = await client.stop();
      expect(stopped.clean).toBe(true);
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  });
});

describe('PackerClient typed methods on a small project', () => {
  it('openProject and projectStatus return the project status with its counts', async () => {
    const { client, projectId, dir } = await openedProject();
    const status = await client.projectStatus({ projectId });
    expect(status).toMatchObject({ projectId, state: 'ready', workspaceInitialized: true });
    expect(status.counts).toMatchObject({
      roots: 1,
      registered: 1,
      unregistered: 0,
      missing: 0,
      includedInBuild: 1,
      blocking: 0,
    });
    const again = await client.openProject({ rootUri: uriOf(dir) });
    expect(again.projectId).toBe(projectId);
  });

  it('listAssets returns the registered asset with its identity', async () => {
    const { client, projectId } = await openedProject({ withUnregistered: true });
    const list = await client.listAssets({ projectId });
    expect(list.assets.map((asset) => [asset.assetId, asset.root, asset.registered])).toEqual([
      [1, 'hero', true],
      [undefined, 'extra', false],
    ]);
    expect(list.assets[0]).toMatchObject({
      assetUuid: HERO_UUID,
      name: 'hero',
      type: 'blob',
      includedInBuild: true,
      worstSeverity: null,
    });
    const registeredOnly = await client.listAssets({ projectId, filter: { registered: true } });
    expect(registeredOnly.assets).toHaveLength(1);
  });

  it('getAssetDetails finds one asset by id, by uuid and by root', async () => {
    const { client, projectId } = await openedProject();
    for (const asset of [{ assetId: 1 }, { assetUuid: HERO_UUID }, { root: 'hero' }]) {
      const details = await client.getAssetDetails({ projectId, asset });
      expect(details.asset.assetId).toBe(1);
      expect(details.inputs).toEqual([
        { role: 'data', path: 'hero.bin', assetsPath: 'hero/hero.bin', state: 'present', sha256: expect.any(String) },
      ]);
      expect(details.output).toEqual({ format: 'BLOB/raw_v1', codec: 'NONE' });
    }
  });

  it('doctor reports a missing input of a registered asset as blocking, in both scopes', async () => {
    const { client, projectId } = await openedProject({ withoutHeroInput: true, withUnregistered: true });
    const registered = await client.doctor({ projectId });
    expect(registered.scope).toBe('registered');
    expect(registered.diagnostics.map((diagnostic) => [diagnostic.code, diagnostic.blocking])).toEqual([
      ['input-missing', true],
    ]);
    const workspace = await client.doctor({ projectId, scope: 'workspace' });
    expect(workspace.summary.blocking).toBe(1);
    expect(workspace.diagnostics.map((diagnostic) => diagnostic.code)).toContain('unregistered-root');
  });

  it('packSummary names the build set and whether a pack can start', async () => {
    const { client, projectId } = await openedProject();
    const summary = await client.packSummary({ projectId });
    expect(summary.canPack).toBe(true);
    expect(summary.buildSet).toEqual([
      { assetId: 1, assetUuid: HERO_UUID, name: 'hero', type: 'blob', root: 'hero', blocked: false },
    ]);
  });

  it('events replays the retained events of the project from sequence 1', async () => {
    const { client, projectId } = await openedProject();
    const replay = await client.events({ projectId, afterSequence: 0 });
    // A project's log starts with its load: loading, the first snapshot, then ready.
    expect(replay.events.slice(0, 3)).toMatchObject([
      { projectId, sequence: 1, kind: 'project.stateChanged', body: { state: 'loading' } },
      { projectId, sequence: 2, kind: 'snapshot.published' },
      { projectId, sequence: 3, kind: 'project.stateChanged', body: { state: 'ready' } },
    ]);
    expect(replay.dropped).toBe(false);
  });

  it('closeProject closes the project, after which its id is unknown', async () => {
    const { client, projectId } = await openedProject();
    expect(await client.closeProject({ projectId })).toEqual({ projectId, closed: true });
    await expect(client.projectStatus({ projectId })).rejects.toMatchObject({ code: PackerErrorCodes.UnknownProject });
  });

  it('initWorkspace creates the registry of a new folder and the events of the operation arrive through onEvent', async () => {
    const dir = resources.tempDir();
    const client = spawnClient({ validateEvents: true });
    await client.start();
    const received: PackerEvent[] = [];
    const invalid: unknown[] = [];
    client.onEvent((event) => received.push(event));
    client.onInvalidEvent((event) => invalid.push(event));
    const operationId = 'client-test-init';
    const terminal = nextEvent(
      client,
      (event) =>
        event.operationId === operationId &&
        event.kind.startsWith('operation.') &&
        event.kind !== 'operation.queued' &&
        event.kind !== 'operation.started' &&
        event.kind !== 'operation.progress',
    );
    const result = await client.initWorkspace({ rootUri: uriOf(dir), operationId });
    expect(result).toMatchObject({ operationId, outcome: 'created', registryPath: 'assets/.prometeu/index.json' });
    expect(existsSync(join(dir, 'assets', '.prometeu', 'index.json'))).toBe(true);
    const end = await terminal;
    expect(end.kind).toBe('operation.succeeded');
    expect(end.projectId).toBe(result.projectId);
    const ofProject = received.filter((event) => event.projectId === result.projectId);
    expect(ofProject.some((event) => event.kind === 'snapshot.published' && event.body.cause === 'initWorkspace')).toBe(
      true,
    );
    const sequences = ofProject.map((event) => event.sequence);
    expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
    expect(invalid).toEqual([]);
  });

  it('previewMutation and applyMutation preview then apply a change, and the new revision follows', async () => {
    const { client, projectId } = await openedProject();
    const mutation = { kind: 'setBuildInclusion', asset: { assetId: 1 }, included: false } as const;
    const preview = await client.previewMutation({ projectId, mutation });
    expect(preview).toMatchObject({ projectId, baseRevision: 2, blockers: [], requiresConsent: false });
    expect(preview.registryChanges).toEqual([
      expect.objectContaining({ change: 'update', assetId: 1, includedInBuild: false }),
    ]);
    const applied = await client.applyMutation({ projectId, previewId: preview.previewId });
    expect(applied).toMatchObject({ projectId, outcome: 'applied', reasons: [] });
    expect(applied.revision).toBeGreaterThan(2);
    const list = await client.listAssets({ projectId });
    expect(list.assets[0]).toMatchObject({ assetId: 1, includedInBuild: false });
  });

  it('submitMutation is a notification whose outcome arrives as the terminal event of its operationId', async () => {
    const { client, projectId } = await openedProject();
    const operationId = 'client-test-submit';
    const terminal = nextEvent(
      client,
      (event) =>
        event.operationId === operationId &&
        ['operation.succeeded', 'operation.failed', 'operation.cancelled'].includes(event.kind),
    );
    await client.submitMutation({
      projectId,
      operationId,
      mutation: { kind: 'rename', asset: { root: 'hero' }, name: 'heroine' },
    });
    const end = await terminal;
    expect(end.kind).toBe('operation.succeeded');
    const details = await client.getAssetDetails({ projectId, asset: { assetId: 1 } });
    expect(details.asset.name).toBe('heroine');
  });

  it('the generic request() sends any declared method, typed by its declaration', async () => {
    const { client, projectId } = await openedProject();
    const status = await client.request(packerRequests.projectStatus, { projectId });
    expect(status.projectId).toBe(projectId);
    const byName = await client.request<{ revision: number }>('packer/packSummary', { projectId });
    expect(byName.revision).toBe(status.revision);
  });
});

describe('PackerClient typed errors with the real server', () => {
  it('an unknown project is a PackerRequestError with code 1001, its name, the method and typed data', async () => {
    const { client, projectId } = await openedProject();
    const error = await client.projectStatus({ projectId: 'prj-none' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PackerRequestError);
    expect(error).toMatchObject({
      kind: 'request',
      code: 1001,
      codeName: 'UnknownProject',
      method: 'packer/projectStatus',
    });
    expect(isPackerError(error, PackerErrorCodes.UnknownProject)).toBe(true);
    if (isPackerError(error, PackerErrorCodes.UnknownProject)) {
      expect(error.data.projectId).toBe('prj-none');
      expect(error.data.openProjects).toEqual([projectId]);
    }
  });

  it('a folder without assets/ is refused with AssetsFolderMissing', async () => {
    const dir = resources.tempDir();
    mkdirSync(join(dir, 'empty'));
    const client = spawnClient();
    await client.start();
    await expect(client.openProject({ rootUri: uriOf(join(dir, 'empty')) })).rejects.toMatchObject({
      code: 1003,
      codeName: 'AssetsFolderMissing',
    });
  });

  it('params that do not match the schema are InvalidParams with the schema issues in data', async () => {
    const client = spawnClient();
    await client.start();
    const error = await client.request('packer/projectStatus', { projectId: 42 }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: -32602, codeName: 'InvalidParams', method: 'packer/projectStatus' });
    expect((error as PackerRequestError).data).toMatchObject({
      method: 'packer/projectStatus',
      issues: [{ path: ['projectId'] }],
    });
  });

  it('an unknown method is MethodNotFound', async () => {
    const client = spawnClient();
    await client.start();
    await expect(client.request('packer/noSuchMethod', {})).rejects.toMatchObject({
      code: -32601,
      codeName: 'MethodNotFound',
    });
  });

  it('a server killed while a request is pending rejects it with the signal, and the client says how it ended', async () => {
    const { client, projectId } = await openedProject();
    const exit = client.exited;
    process.kill(client.pid!, 'SIGKILL');
    const error = await client.doctor({ projectId, scope: 'workspace' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ServerCrashedError);
    expect(error).toMatchObject({ signal: 'SIGKILL', exitCode: null });
    expect(await exit).toMatchObject({ signal: 'SIGKILL', expected: false });
    expect(client.state).toBe('failed');
    const stopped = await client.stop();
    expect(stopped).toMatchObject({ clean: false, signal: 'SIGKILL', killed: false });
    expect(stopped.error).toBe(error);
  });
});

describe('PackerClient cancellation with the real server', () => {
  it('aborting a request rejects it with RequestCancelledError and the client stays usable', async () => {
    const { client, projectId } = await openedProject({ withUnregistered: true });
    const controller = new AbortController();
    const pending = client.doctor({ projectId, scope: 'workspace' }, { signal: controller.signal });
    controller.abort();
    const error = await pending.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RequestCancelledError);
    expect(error).toMatchObject({ kind: 'cancelled', method: 'packer/doctor', by: 'aborted' });
    const status = await client.projectStatus({ projectId });
    expect(status.state).toBe('ready');
  });

  it('a signal aborted before the call rejects at once without reaching the server', async () => {
    const { client, projectId } = await openedProject();
    const controller = new AbortController();
    controller.abort();
    await expect(client.listAssets({ projectId }, { signal: controller.signal })).rejects.toBeInstanceOf(
      RequestCancelledError,
    );
    expect((await client.listAssets({ projectId })).assets).toHaveLength(1);
  });
});
