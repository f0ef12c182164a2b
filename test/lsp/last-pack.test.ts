// Hover shows the last packed entry from build/: current, older, from another run, and never from a hostile build/.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PackerHost } from '../../server/src/index.js';
import { ProjectFs } from '../../server/src/io/project-fs.js';
import { ASSET_TABLE_PATH } from '../../server/src/lsp/last-pack.js';
import { connectInProcess, Notifier } from '../lane/support.js';
import { useTempDirs, writeProject } from '../support/workspace-builder.js';

const tempDir = useTempDirs('packer-last-pack-');

afterEach(() => {
  vi.restoreAllMocks();
});

/** A project of two blobs, opened by a fresh host over an in-process connection. */
async function start() {
  const project = writeProject(tempDir(), { assets: [{ root: 'hero' }, { root: 'tiles' }] });
  const host = new PackerHost({ watcher: null });
  const client = connectInProcess(host, new Notifier());
  await client.connection.sendRequest('initialize', {
    processId: null,
    capabilities: { textDocument: { publishDiagnostics: {} } },
    workspaceFolders: [{ uri: pathToFileURL(project.root).href, name: 'game' }],
  });
  await client.connection.sendNotification('initialized', {});
  const projectId = host.list()[0]!.id;
  const hover = async (root: string): Promise<string> => {
    const uri = pathToFileURL(join(project.assetsDir, root, 'asset.json')).href;
    const result = await client.connection.sendRequest<{ contents: { value: string } } | null>('textDocument/hover', {
      textDocument: { uri },
      position: { line: 1, character: 3 },
    });
    return result?.contents.value ?? '';
  };
  const pack = async (): Promise<void> => {
    const result = await client.connection.sendRequest<{ outcome: string }>('packer/pack', { projectId });
    expect(result.outcome).toBe('succeeded');
  };
  /** The `build/` folder, written by the test as a hostile or stale tool would. */
  const build = (files: Record<string, string>): void => {
    mkdirSync(join(project.root, 'build'), { recursive: true });
    for (const [name, text] of Object.entries(files)) writeFileSync(join(project.root, 'build', name), text);
  };
  return { project, host, client, projectId, hover, pack, build };
}

/** The last-pack line of a hover. */
function packLine(hover: string): string | undefined {
  return hover.split('\n').find((line) => line.startsWith('- last pack:'));
}

describe('hover on asset.json and the last pack', () => {
  it('says nothing of a pack before the project was ever packed', async () => {
    const { hover } = await start();
    const text = await hover('hero');
    expect(text).toContain('asset #1');
    expect(packLine(text)).toBeUndefined();
  });

  it("shows the asset's offset and size after a pack by this server, at the current revision", async () => {
    const { hover, pack, host } = await start();
    await pack();
    const revision = host.list()[0]!.snapshot().revision;
    expect(packLine(await hover('hero'))).toBe(`- last pack: offset 0, size 20 bytes (current revision ${revision})`);
    // The second asset sits after the first (20 bytes), aligned to 16 bytes.
    expect(packLine(await hover('tiles'))).toBe(`- last pack: offset 32, size 21 bytes (current revision ${revision})`);
  });

  it('says the entry is from an older revision, and that asset.json changed, after a rename since the pack', async () => {
    const { hover, pack, host, client, projectId } = await start();
    await pack();
    const packedAt = host.list()[0]!.snapshot().revision;
    await client.connection.sendRequest('packer/applyMutation', {
      projectId,
      operationId: 'rename-1',
      mutation: { kind: 'rename', asset: { root: 'hero' }, name: 'heroine' },
    });
    const now = host.list()[0]!.snapshot().revision;
    expect(now).toBeGreaterThan(packedAt);
    expect(packLine(await hover('hero'))).toBe(
      `- last pack: offset 0, size 20 bytes; from revision ${packedAt}, older than the current revision ${now}; asset.json has changed since`,
    );
    // The asset the rename did not touch is only older.
    expect(packLine(await hover('tiles'))).toBe(
      `- last pack: offset 32, size 21 bytes; from revision ${packedAt}, older than the current revision ${now}`,
    );
  });

  it('says a build/ this server did not write may be out of date, whatever revision it names', async () => {
    const first = await start();
    await first.pack();
    // A second server on the same project (as after a restart) finds the first one's build/.
    const host = new PackerHost({ watcher: null });
    const client = connectInProcess(host, new Notifier());
    await client.connection.sendRequest('initialize', {
      processId: null,
      capabilities: {},
      workspaceFolders: [{ uri: pathToFileURL(first.project.root).href, name: 'game' }],
    });
    await client.connection.sendNotification('initialized', {});
    const uri = pathToFileURL(join(first.project.assetsDir, 'hero', 'asset.json')).href;
    const hover = await client.connection.sendRequest<{ contents: { value: string } }>('textDocument/hover', {
      textDocument: { uri },
      position: { line: 1, character: 3 },
    });
    expect(packLine(hover.contents.value)).toMatch(
      /^- last pack: offset 0, size 20 bytes; from revision \d+ of a pack this server did not make \(revisions count per server run\), so it may be out of date$/,
    );
  });

  it('reads build/ once per change of its files, not once per hover', async () => {
    const { hover, pack } = await start();
    await pack();
    const reads = vi.spyOn(ProjectFs.prototype, 'readText');
    const tableReads = (): number => reads.mock.calls.filter(([path]) => path === ASSET_TABLE_PATH).length;
    await hover('hero');
    await hover('tiles');
    await hover('hero');
    expect(tableReads()).toBe(1);
    await pack();
    await hover('hero');
    expect(tableReads()).toBe(2);
  });

  it('never shows an entry that belongs to another asset, or one the two companion files disagree on', async () => {
    const { hover, build, project } = await start();
    const other = '00000000-0000-4000-8000-0000000000ff';
    build({
      'asset_table.json': JSON.stringify([{ asset_id: 1, offset: 0, size: 4 }]),
      'asset_table_metadata.json': JSON.stringify({
        snapshot_revision: 1,
        assets: [{ asset_id: 1, asset_uuid: other, offset: 0, size: 4 }],
      }),
    });
    expect(packLine(await hover('hero'))).toBe(
      `- last pack: the entry for #1 in build/ belongs to another asset (uuid \`${other}\`)`,
    );
    expect(packLine(await hover('tiles'))).toBe('- last pack: build/ has no entry for asset #2');
    // The metadata gives another offset: the table's entry is shown, with neither revision nor identity vouched for.
    build({
      'asset_table_metadata.json': JSON.stringify({
        snapshot_revision: 1,
        assets: [{ asset_id: 1, asset_uuid: project.uuids['hero'], offset: 16, size: 4 }],
      }),
    });
    expect(packLine(await hover('hero'))).toBe(
      '- last pack: offset 0, size 4 bytes; its revision is unknown (asset_table_metadata.json is missing or disagrees); its identity is not confirmed by the metadata',
    );
  });

  it('answers a hostile or broken build/ with a reason, never a crash or an offset', async () => {
    const { hover, build, project } = await start();
    const buildDir = join(project.root, 'build');
    const cases: [string, () => void, RegExp][] = [
      ['not JSON', () => build({ 'asset_table.json': '[{"asset_id": 1,' }), /is not valid JSON$/],
      ['not a list', () => build({ 'asset_table.json': '{"asset_id": 1}' }), /is not a list of entries$/],
      [
        'a negative offset',
        () => build({ 'asset_table.json': JSON.stringify([{ asset_id: 1, offset: -16, size: 4 }]) }),
        /has an entry without a valid asset_id, offset and size$/,
      ],
      [
        'an id twice',
        () =>
          build({
            'asset_table.json': JSON.stringify([
              { asset_id: 1, offset: 0, size: 4 },
              { asset_id: 1, offset: 16, size: 4 },
            ]),
          }),
        /lists asset_id 1 twice$/,
      ],
      [
        'nested 100,000 deep',
        () => build({ 'asset_table.json': `${'['.repeat(100_000)}${']'.repeat(100_000)}` }),
        /has an entry without a valid asset_id, offset and size$|is not valid JSON$/,
      ],
      [
        'a link to a file outside',
        () => {
          rmSync(buildDir, { recursive: true, force: true });
          mkdirSync(buildDir);
          const outside = join(tempDir(), 'table.json');
          writeFileSync(outside, JSON.stringify([{ asset_id: 1, offset: 0, size: 4 }]));
          symlinkSync(outside, join(buildDir, 'asset_table.json'));
        },
        /could not be read \(ELOOP\)$/,
      ],
      [
        'a FIFO',
        () => {
          rmSync(buildDir, { recursive: true, force: true });
          mkdirSync(buildDir);
          execFileSync('mkfifo', [join(buildDir, 'asset_table.json')]);
        },
        /could not be read \(EFTYPE\)$/,
      ],
      [
        'build/ itself a link',
        () => {
          rmSync(buildDir, { recursive: true, force: true });
          const elsewhere = join(tempDir(), 'elsewhere');
          mkdirSync(elsewhere);
          writeFileSync(join(elsewhere, 'asset_table.json'), JSON.stringify([{ asset_id: 1, offset: 0, size: 4 }]));
          symlinkSync(elsewhere, buildDir);
        },
        /^- last pack: unknown, build\/ could not be read \(ELOOP\)$/,
      ],
    ];
    for (const [what, write, expected] of cases) {
      write();
      const line = packLine(await hover('hero'));
      expect(line, what).toMatch(/^- last pack: unknown, /);
      expect(line, what).toMatch(expected);
    }
  });
});
