// The standard LSP surface over an in-process connection: folders, files leaving, stale versions, debounce.
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { WorkDoneProgress } from 'vscode-languageserver-protocol';
import { MAX_DIAGNOSTICS_DELAY_MS } from '@prometeu/packer-protocol';
import { PackerHost } from '../../server/src/index.js';
import { connectInProcess, Notifier } from '../lane/support.js';
import { useTempDirs, writeProject } from '../support/workspace-builder.js';

const tempDir = useTempDirs('packer-lsp-');
const BAD_UUID = '00000000-0000-4000-8000-00000000000b';

interface Published {
  uri: string;
  version?: number;
  diagnostics: { code: string; range: unknown; source: string }[];
}

/** A client with publishDiagnostics on a fresh host, and what it was published. */
async function start(
  folders: string[],
  initializationOptions: Record<string, unknown> = {},
  capabilities: Record<string, unknown> = {},
) {
  const notifier = new Notifier();
  const host = new PackerHost({ watcher: null });
  const client = connectInProcess(host, notifier);
  const published: Published[] = [];
  client.connection.onNotification('textDocument/publishDiagnostics', (params: Published) => {
    published.push(params);
    notifier.notify();
  });
  await client.connection.sendRequest('initialize', {
    processId: null,
    capabilities: { textDocument: { publishDiagnostics: {} }, ...capabilities },
    initializationOptions,
    workspaceFolders: folders.map((folder) => ({ uri: pathToFileURL(folder).href, name: 'game' })),
  });
  await client.connection.sendNotification('initialized', {});
  /** The newest publication for `uri`, once one satisfies `condition`. */
  const latest = async (uri: string, condition: (p: Published) => boolean, what: string): Promise<Published> => {
    const last = (): Published | undefined => published.filter((p) => p.uri === uri).at(-1);
    await notifier.until(() => {
      const found = last();
      return found !== undefined && condition(found);
    }, what);
    return last()!;
  };
  return { host, client, published, latest, notifier };
}

function brokenProject(dir: string) {
  return writeProject(dir, {
    assets: [
      { root: 'hero' },
      { root: 'bad', uuid: BAD_UUID, declaration: { ...baseDeclaration('bad'), type: 'sprite' } },
    ],
  });
}

/**
 * A client on the broken project with `bad/asset.json` open in a buffer (its valid declaration) and validated
 * once, the typing pause set to `diagnosticsDelayMs` at `initialize`.
 */
async function openedBadBuffer(diagnosticsDelayMs: number) {
  const project = brokenProject(tempDir());
  const started = await start([project.root], { diagnosticsDelayMs });
  const uri = pathToFileURL(join(project.assetsDir, 'bad', 'asset.json')).href;
  const declaration = baseDeclaration('bad');
  await started.client.connection.sendNotification('textDocument/didOpen', {
    textDocument: { uri, languageId: 'json', version: 1, text: JSON.stringify(declaration) },
  });
  await started.latest(uri, (p) => p.version === 1, 'the open buffer validated');
  return { ...started, uri, declaration };
}

function baseDeclaration(root: string) {
  return {
    schema_version: 1,
    asset_uuid: BAD_UUID,
    name: root,
    type: 'blob',
    inputs: { data: ['data.bin'] },
    output: { format: 'BLOB/raw_v1', codec: 'NONE' },
    preload: { enabled: false },
  };
}

describe('the language service', () => {
  it('publishes a broken declaration of a folder added to the workspace and clears it when the folder is removed', async () => {
    const project = brokenProject(tempDir());
    const { host, client, latest } = await start([]);
    const uri = pathToFileURL(join(project.assetsDir, 'bad', 'asset.json')).href;
    const folder = { uri: pathToFileURL(project.root).href, name: 'game' };
    await client.connection.sendNotification('workspace/didChangeWorkspaceFolders', {
      event: { added: [folder], removed: [] },
    });
    const shown = await latest(uri, (p) => p.diagnostics.length > 0, 'the diagnostics of the added folder');
    expect(shown.diagnostics.map((d) => d.code)).toEqual(['unknown-asset-type']);
    expect(host.list()).toHaveLength(1);
    await client.connection.sendNotification('workspace/didChangeWorkspaceFolders', {
      event: { added: [], removed: [folder] },
    });
    await latest(uri, (p) => p.diagnostics.length === 0, 'the diagnostics cleared');
    expect(host.list()).toHaveLength(0);
    client.dispose();
    host.dispose();
  });

  it('clears the diagnostics of a file that left the project once the snapshot no longer has it', async () => {
    const project = brokenProject(tempDir());
    const { host, client, latest } = await start([project.root]);
    const uri = pathToFileURL(join(project.assetsDir, 'bad', 'asset.json')).href;
    await latest(uri, (p) => p.diagnostics.length > 0, 'the diagnostics on open');
    rmSync(join(project.assetsDir, 'bad'), { recursive: true });
    const projectId = host.list()[0]!.id;
    await client.connection.sendRequest('packer/reconcile', { projectId });
    await latest(uri, (p) => p.diagnostics.length === 0, 'the diagnostics cleared after the reconcile');
    client.dispose();
    host.dispose();
  });

  it('validates only the newest text after a pause in typing, with its version', async () => {
    const project = brokenProject(tempDir());
    const { host, client, published, latest } = await start([project.root], { diagnosticsDelayMs: 20 });
    const uri = pathToFileURL(join(project.assetsDir, 'bad', 'asset.json')).href;
    const text = JSON.stringify(baseDeclaration('bad'));
    await client.connection.sendNotification('textDocument/didOpen', {
      textDocument: { uri, languageId: 'json', version: 1, text },
    });
    await latest(uri, (p) => p.version === 1, 'the open buffer validated');
    // Three quick changes: broken, fixed, broken again. Only the last is validated.
    for (const [version, type] of [
      [2, 'x'],
      [3, 'blob'],
      [4, 'sprite'],
    ] as const) {
      await client.connection.sendNotification('textDocument/didChange', {
        textDocument: { uri, version },
        contentChanges: [{ text: JSON.stringify({ ...baseDeclaration('bad'), type }) }],
      });
    }
    const last = await latest(uri, (p) => p.version === 4, 'the newest version validated');
    expect(last.diagnostics.map((d) => d.code)).toEqual(['unknown-asset-type']);
    const versions = published.filter((p) => p.uri === uri && p.version !== undefined).map((p) => p.version);
    expect(versions).toEqual([...versions].sort((a, b) => a! - b!));
    expect(versions).not.toContain(3);
    // Closing returns to what the disk says (the broken type).
    await client.connection.sendNotification('textDocument/didClose', { textDocument: { uri } });
    const closed = await latest(uri, (p) => p.version === undefined, 'the disk state after close');
    expect(closed.diagnostics.map((d) => d.code)).toEqual(['unknown-asset-type']);
    client.dispose();
    host.dispose();
  });

  it('takes a new typing pause from workspace/didChangeConfiguration without a restart', async () => {
    // Ten minutes: a change would never be validated within the test unless the new setting applies.
    const { host, client, latest, uri, declaration } = await openedBadBuffer(600_000);
    await client.connection.sendNotification('workspace/didChangeConfiguration', {
      settings: { packer: { diagnosticsDelayMs: 0 } },
    });
    await client.connection.sendNotification('textDocument/didChange', {
      textDocument: { uri, version: 2 },
      contentChanges: [{ text: JSON.stringify({ ...declaration, type: 'x' }) }],
    });
    const shown = await latest(uri, (p) => p.version === 2, 'the change validated at once');
    expect(shown.diagnostics.map((d) => d.code)).toEqual(['unknown-asset-type']);
    client.dispose();
    host.dispose();
  });

  it('reads the setting at the top of settings too, and a change made during a long pause is never validated', async () => {
    const { host, client, published, latest, uri, declaration } = await openedBadBuffer(0);
    await client.connection.sendNotification('workspace/didChangeConfiguration', {
      settings: { diagnosticsDelayMs: 600_000 },
    });
    await client.connection.sendNotification('textDocument/didChange', {
      textDocument: { uri, version: 2 },
      contentChanges: [{ text: JSON.stringify({ ...declaration, type: 'x' }) }],
    });
    await client.connection.sendNotification('workspace/didChangeConfiguration', {
      settings: { diagnosticsDelayMs: 0 },
    });
    await client.connection.sendNotification('textDocument/didChange', {
      textDocument: { uri, version: 3 },
      contentChanges: [{ text: JSON.stringify(declaration) }],
    });
    await latest(uri, (p) => p.version === 3, 'the newest version validated');
    expect(published.filter((p) => p.uri === uri).map((p) => p.version)).not.toContain(2);
    client.dispose();
    host.dispose();
  });

  it('warns about a typing pause that is not a number of ms and ignores settings without one', async () => {
    const { host, client, latest, uri, declaration } = await openedBadBuffer(0);
    await client.connection.sendNotification('workspace/didChangeConfiguration', { settings: null });
    await client.connection.sendNotification('workspace/didChangeConfiguration', { settings: { editor: {} } });
    await client.connection.sendNotification('workspace/didChangeConfiguration', {
      settings: { packer: { diagnosticsDelayMs: -5 } },
    });
    await client.connection.sendNotification('textDocument/didChange', {
      textDocument: { uri, version: 2 },
      contentChanges: [{ text: JSON.stringify(declaration) }],
    });
    await latest(uri, (p) => p.version === 2, 'the change validated with the kept pause');
    expect(client.logMessages.map((m) => m.message)).toEqual([
      'workspace/didChangeConfiguration: diagnosticsDelayMs must be a number of ms from 0 to 3600000; kept the delay.',
    ]);
    client.dispose();
    host.dispose();
  });

  it('refuses a typing pause beyond one hour from workspace/didChangeConfiguration and keeps the delay', async () => {
    const { host, client, published, latest, uri, declaration } = await openedBadBuffer(0);
    // Node runs a timer set beyond 2^31 - 1 ms after 1 ms: taken, such a pause would mean none at all.
    for (const diagnosticsDelayMs of [2 ** 31, MAX_DIAGNOSTICS_DELAY_MS + 1])
      await client.connection.sendNotification('workspace/didChangeConfiguration', {
        settings: { packer: { diagnosticsDelayMs } },
      });
    await client.connection.sendNotification('textDocument/didChange', {
      textDocument: { uri, version: 2 },
      contentChanges: [{ text: JSON.stringify({ ...declaration, type: 'x' }) }],
    });
    await latest(uri, (p) => p.version === 2, 'the change validated with the kept pause');
    const refused =
      'workspace/didChangeConfiguration: diagnosticsDelayMs must be a number of ms from 0 to 3600000; kept the delay.';
    expect(client.logMessages.map((m) => m.message)).toEqual([refused, refused]);
    // The maximum itself is taken: a change during it is never validated.
    await client.connection.sendNotification('workspace/didChangeConfiguration', {
      settings: { packer: { diagnosticsDelayMs: MAX_DIAGNOSTICS_DELAY_MS } },
    });
    await client.connection.sendNotification('textDocument/didChange', {
      textDocument: { uri, version: 3 },
      contentChanges: [{ text: JSON.stringify(declaration) }],
    });
    await client.connection.sendNotification('workspace/didChangeConfiguration', {
      settings: { packer: { diagnosticsDelayMs: 0 } },
    });
    await client.connection.sendNotification('textDocument/didChange', {
      textDocument: { uri, version: 4 },
      contentChanges: [{ text: JSON.stringify({ ...declaration, type: 'x' }) }],
    });
    await latest(uri, (p) => p.version === 4, 'the newest version validated');
    expect(published.filter((p) => p.uri === uri).map((p) => p.version)).not.toContain(3);
    expect(client.logMessages).toHaveLength(2);
    client.dispose();
    host.dispose();
  });

  it('refuses an initialize whose typing pause is beyond one hour, saying which option, and takes a retry', async () => {
    const project = brokenProject(tempDir());
    const notifier = new Notifier();
    const host = new PackerHost({ watcher: null });
    const client = connectInProcess(host, notifier);
    const initialize = (diagnosticsDelayMs: number) =>
      client.connection.sendRequest('initialize', {
        processId: null,
        capabilities: { textDocument: { publishDiagnostics: {} } },
        initializationOptions: { diagnosticsDelayMs },
        workspaceFolders: [{ uri: pathToFileURL(project.root).href, name: 'game' }],
      });
    for (const diagnosticsDelayMs of [2 ** 31, MAX_DIAGNOSTICS_DELAY_MS + 1])
      await expect(initialize(diagnosticsDelayMs)).rejects.toMatchObject({
        code: -32602,
        message: `Invalid params for initialize: initializationOptions.diagnosticsDelayMs: must be at most ${MAX_DIAGNOSTICS_DELAY_MS} ms (one hour).`,
      });
    expect(host.list()).toHaveLength(0);
    await expect(initialize(MAX_DIAGNOSTICS_DELAY_MS)).resolves.toMatchObject({
      serverInfo: { name: expect.any(String) },
    });
    expect(host.list()).toHaveLength(1);
    client.dispose();
    host.dispose();
  });

  it('validates an unsaved index.json against the assets on disk', async () => {
    const project = brokenProject(tempDir());
    const { host, client, latest } = await start([project.root], { diagnosticsDelayMs: 0 });
    const uri = pathToFileURL(join(project.assetsDir, '.prometeu', 'index.json')).href;
    const registry = {
      ...project.registry!,
      assets: [...project.registry!.assets, { ...project.registry!.assets[0]!, asset_id: 9, root: 'gone' }],
    };
    await client.connection.sendNotification('textDocument/didOpen', {
      textDocument: { uri, languageId: 'json', version: 1, text: JSON.stringify(registry, null, 2) },
    });
    const shown = await latest(uri, (p) => p.version === 1, 'the registry buffer validated');
    expect(shown.diagnostics.map((d) => d.code).sort()).toContain('missing-anchor');
    client.dispose();
    host.dispose();
  });

  it('ignores a change to a file outside every project and a document it never opened', async () => {
    const project = brokenProject(tempDir());
    const { host, client, published, latest } = await start([project.root], { diagnosticsDelayMs: 0 });
    const outside = pathToFileURL(join(tempDir(), 'asset.json')).href;
    writeFileSync(new URL(outside), '{}');
    await client.connection.sendNotification('textDocument/didOpen', {
      textDocument: { uri: outside, languageId: 'json', version: 1, text: '{' },
    });
    const shown = await latest(outside, () => true, 'the outside document answered');
    expect(shown.diagnostics).toEqual([]);
    await client.connection.sendNotification('textDocument/didChange', {
      textDocument: { uri: `${outside}.never-opened`, version: 2 },
      contentChanges: [{ text: '{' }],
    });
    await client.connection.sendRequest('packer/projectStatus', { projectId: host.list()[0]!.id });
    expect(published.some((p) => p.uri.endsWith('.never-opened'))).toBe(false);
    expect(client.logMessages).toEqual([]);
    client.dispose();
    host.dispose();
  });

  it('runs a command with progress the client agreed to, and tells the outcome', async () => {
    const project = brokenProject(tempDir());
    const notifier = new Notifier();
    const { host, client } = await start([project.root], {}, { window: { workDoneProgress: true } });
    const created: unknown[] = [];
    const progress: { token: unknown; value: { kind: string } }[] = [];
    const shown: string[] = [];
    client.connection.onRequest('window/workDoneProgress/create', (params: { token: unknown }) => {
      created.push(params.token);
      return null;
    });
    client.connection.onProgress(WorkDoneProgress.type, 'packer-command-1', (value) => {
      progress.push({ token: 'packer-command-1', value });
      notifier.notify();
    });
    client.connection.onNotification('window/showMessage', (params: { message: string }) => {
      shown.push(params.message);
    });
    const result = await client.connection.sendRequest('workspace/executeCommand', { command: 'packer.pack' });
    expect((result as { outcome: string }).outcome).toBe('blocked');
    expect(created).toEqual(['packer-command-1']);
    await notifier.until(() => progress.some((p) => p.value.kind === 'end'), 'the end of the progress');
    expect(progress[0]!.value.kind).toBe('begin');
    expect(shown).toEqual(['The pack is blocked by 1 diagnostic; build/ is unchanged.']);
    client.dispose();
    host.dispose();
  });

  it('records a folder the editor renamed as a relocate, and refuses a rename the packer would refuse', async () => {
    const project = brokenProject(tempDir());
    const fileOperations = { willRename: true, didRename: true };
    const { host, client } = await start([project.root], {}, { workspace: { fileOperations } });
    const uri = (path: string): string => pathToFileURL(join(project.assetsDir, path)).href;
    // Moving hero into the bad root would nest one root in another: refused, with the packer's reason.
    const refused = client.connection.sendRequest('workspace/willRenameFiles', {
      files: [{ oldUri: uri('hero'), newUri: uri('bad/hero') }],
    });
    await expect(refused).rejects.toThrow(/would not accept this move/);
    // A plain move is accepted; once the editor made it, the registry entry follows, identity kept.
    const files = [{ oldUri: uri('hero'), newUri: uri('characters/hero') }];
    expect(await client.connection.sendRequest('workspace/willRenameFiles', { files })).toBeNull();
    mkdirSync(join(project.assetsDir, 'characters'));
    renameSync(join(project.assetsDir, 'hero'), join(project.assetsDir, 'characters', 'hero'));
    await client.connection.sendNotification('workspace/didRenameFiles', { files });
    const projectOpen = host.list()[0]!;
    const notifier = new Notifier();
    projectOpen.events.subscribe(() => notifier.notify());
    await notifier.until(
      () => projectOpen.snapshot().byRoot.get('characters/hero')?.entry?.asset_id === 1,
      'the entry to follow the move',
    );
    const registry = JSON.parse(readFileSync(join(project.assetsDir, '.prometeu', 'index.json'), 'utf8')) as {
      assets: { asset_id: number; root: string }[];
    };
    expect(registry.assets.find((entry) => entry.asset_id === 1)?.root).toBe('characters/hero');
    client.dispose();
    host.dispose();
  });
});
