/**
 * Two real server processes on one project: the first write takes the writer lock, the other process
 * keeps answering reads but refuses writes with `WriterUnavailable` (1008, naming the holder) and an
 * `operation.failed` terminal event, and can write once the holder exits cleanly, or once it is killed
 * (the stale lock is taken over).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { PackerErrorCodes, type ApplyResult, type PackerEvent } from '@prometeu/packer-protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { WriterLock } from '../../server/src/project/writer-lock.js';
import { useTempDirs, writeProject } from '../support/workspace-builder.js';
import { initialize, Notifier, responseErrorOf, spawnServer, type ServerProcess } from './support.js';

const LOCK = join('assets', '.prometeu', 'writer.lock');

describe('two server processes on one project', () => {
  const tempDir = useTempDirs('packer-lane-two-');
  const servers: ServerProcess[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) {
      server.dispose();
      await server.exited;
    }
  });

  /** A project with three registered assets and two servers that both opened it. */
  async function setUp(): Promise<{
    dir: string;
    first: ServerProcess;
    second: ServerProcess;
    projectId: string;
    notifier: Notifier;
  }> {
    const dir = tempDir();
    writeProject(dir, { assets: [{ root: 'hero' }, { root: 'slime' }, { root: 'crate' }] });
    const notifier = new Notifier();
    const first = spawnServer(notifier);
    const second = spawnServer(notifier);
    servers.push(first, second);
    const projectId = await initialize(first, dir);
    expect(await initialize(second, dir)).toBe(projectId);
    return { dir, first, second, projectId, notifier };
  }

  const status = async (server: ServerProcess, projectId: string): Promise<{ writer: string; revision: number }> =>
    (await server.connection.sendRequest('packer/projectStatus', { projectId })) as {
      writer: string;
      revision: number;
    };

  const applyOn = (
    server: ServerProcess,
    params: Record<string, unknown>,
  ): Promise<{ result?: ApplyResult; error?: { code: number; message: string; data?: unknown } }> =>
    server.connection.sendRequest('packer/applyMutation', params).then(
      (result) => ({ result: result as ApplyResult }),
      (error: unknown) => ({ error: responseErrorOf(error) ?? { code: 0, message: String(error) } }),
    );

  /** Checks that `server` refuses writes because `holder` holds the lock: the request and a submission. */
  async function expectRefused(
    server: ServerProcess,
    holder: ServerProcess,
    projectId: string,
    notifier: Notifier,
    tag: string,
  ): Promise<void> {
    const refused = await applyOn(server, {
      projectId,
      operationId: `${tag}-apply`,
      mutation: { kind: 'setBuildInclusion', asset: { assetId: 3 }, included: false },
    });
    expect(refused.result).toBeUndefined();
    expect(refused.error).toMatchObject({
      code: PackerErrorCodes.WriterUnavailable,
      data: { holderPid: holder.child.pid, lockPath: 'assets/.prometeu/writer.lock' },
    });
    const terminal = (id: string): PackerEvent | undefined =>
      server.events.find(
        (event) =>
          event.operationId === id &&
          event.kind.startsWith('operation.') &&
          event.kind !== 'operation.queued' &&
          event.kind !== 'operation.started',
      );
    await notifier.until(() => terminal(`${tag}-apply`) !== undefined, 'the terminal event of the refused apply');
    expect(terminal(`${tag}-apply`)).toMatchObject({ kind: 'operation.failed', body: { error: refused.error } });

    void server.connection.sendNotification('packer/submitMutation', {
      projectId,
      operationId: `${tag}-submit`,
      mutation: { kind: 'rename', asset: { assetId: 3 }, name: 'nope' },
    });
    await notifier.until(() => terminal(`${tag}-submit`) !== undefined, 'the terminal event of the refused submission');
    expect(terminal(`${tag}-submit`)).toMatchObject({
      kind: 'operation.failed',
      body: { error: { code: PackerErrorCodes.WriterUnavailable, data: { holderPid: holder.child.pid } } },
    });
    // Neither refused write started anything: queued, started, failed, and no snapshot in between.
    for (const id of [`${tag}-apply`, `${tag}-submit`]) {
      expect(server.events.filter((event) => event.operationId === id).map((event) => event.kind)).toEqual([
        'operation.queued',
        'operation.started',
        'operation.failed',
      ]);
    }
    expect(await status(server, projectId)).toMatchObject({ writer: 'heldByOther' });
  }

  it(
    'the first write takes the lock; the other process reads but cannot write until the holder exits cleanly',
    { timeout: 30_000 },
    async () => {
      const { dir, first, second, projectId, notifier } = await setUp();
      // Nobody holds the lock before the first write.
      expect(await status(first, projectId)).toMatchObject({ writer: 'available' });
      expect(existsSync(join(dir, LOCK))).toBe(false);

      const renamed = await applyOn(first, {
        projectId,
        mutation: { kind: 'rename', asset: { assetId: 1 }, name: 'champion' },
      });
      expect(renamed.result?.outcome).toBe('applied');
      expect(JSON.parse(readFileSync(join(dir, LOCK), 'utf8'))).toMatchObject({ pid: first.child.pid });
      expect(await status(first, projectId)).toMatchObject({ writer: 'owned' });

      // The other process still answers reads.
      const listed = (await second.connection.sendRequest('packer/listAssets', { projectId })) as { assets: unknown[] };
      expect(listed.assets).toHaveLength(3);
      await expectRefused(second, first, projectId, notifier, 'while-held');

      // The holder shuts down and exits: the lock goes with it, and the other process can write.
      await first.connection.sendRequest('shutdown');
      void first.connection.sendNotification('exit');
      expect(await first.exited).toEqual({ code: 0, signal: null });
      expect(existsSync(join(dir, LOCK))).toBe(false);
      expect(await status(second, projectId)).toMatchObject({ writer: 'available' });
      const excluded = await applyOn(second, {
        projectId,
        mutation: { kind: 'setBuildInclusion', asset: { assetId: 3 }, included: false },
      });
      expect(excluded.result?.outcome).toBe('applied');
      expect(JSON.parse(readFileSync(join(dir, LOCK), 'utf8'))).toMatchObject({ pid: second.child.pid });
      expect(await status(second, projectId)).toMatchObject({ writer: 'owned' });
      const registry = JSON.parse(readFileSync(join(dir, 'assets', '.prometeu', 'index.json'), 'utf8')) as {
        assets: { asset_id: number; included_in_build: boolean }[];
      };
      expect(registry.assets.find((entry) => entry.asset_id === 3)?.included_in_build).toBe(false);
    },
  );

  it(
    'a holder killed with SIGKILL leaves a stale lock that the other process takes over on its next write',
    { timeout: 30_000 },
    async () => {
      const { dir, first, second, projectId, notifier } = await setUp();
      // This time the second process writes first.
      const renamed = await applyOn(second, {
        projectId,
        mutation: { kind: 'rename', asset: { assetId: 2 }, name: 'blob' },
      });
      expect(renamed.result?.outcome).toBe('applied');
      await expectRefused(first, second, projectId, notifier, 'before-kill');

      await second.kill();
      // The lock file outlives its process; it is stale now.
      expect(JSON.parse(readFileSync(join(dir, LOCK), 'utf8'))).toMatchObject({ pid: second.child.pid });
      expect(await status(first, projectId)).toMatchObject({ writer: 'available' });
      const excluded = await applyOn(first, {
        projectId,
        operationId: 'after-kill',
        mutation: { kind: 'setBuildInclusion', asset: { assetId: 3 }, included: false },
      });
      expect(excluded.error).toBeUndefined();
      expect(excluded.result?.outcome).toBe('applied');
      expect(JSON.parse(readFileSync(join(dir, LOCK), 'utf8'))).toMatchObject({ pid: first.child.pid });
      expect(await status(first, projectId)).toMatchObject({ writer: 'owned' });
    },
  );
});

describe('a writer whose lock file was replaced', () => {
  const tempDir = useTempDirs('packer-lock-');
  it('stops writing as soon as the lock file no longer holds its token', () => {
    const dir = tempDir();
    const assets = join(dir, 'assets');
    mkdirSync(join(assets, '.prometeu'), { recursive: true });
    const lock = new WriterLock(assets);
    expect(lock.acquire().ok).toBe(true);
    // Another live process (this one's parent) took the file over.
    writeFileSync(
      join(assets, '.prometeu', 'writer.lock'),
      `${JSON.stringify({ pid: process.ppid, hostname: hostname(), token: 'someone-else' })}\n`,
    );
    expect(lock.acquire().ok).toBe(false);
    expect(lock.state()).toBe('heldByOther');
  });
});
