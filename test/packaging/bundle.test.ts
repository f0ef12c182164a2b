/**
 * The bundled server (server/dist/bundle/, built by `npm ci`): `packer-server` runs it, and from it the
 * project loads, the verification crawl and the format checks still run in worker threads of their own, each started from its
 * own bundled entry script (a worker started from the bundle itself would start a second server). The workers
 * say where they run when `PACKER_DEBUG_WORKERS=1`. The native watcher, kept out of the bundle, still loads. Heavy: it spawns the real server on a watched project.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createMessageConnection,
  StreamMessageReader,
  StreamMessageWriter,
  type MessageConnection,
} from 'vscode-jsonrpc/node';
import { Notifier, SERVER_SCRIPT } from '../lane/support.js';
import { repositoryRoot } from '../protocol/source-imports.js';

const BUNDLE = join(repositoryRoot, 'server/dist/bundle');
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** The lines a worker writes when asked to announce itself, by worker name. */
function announcements(stderr: string): Map<string, { thread: number; mainThread: string; script: string }> {
  const found = new Map<string, { thread: number; mainThread: string; script: string }>();
  for (const match of stderr.matchAll(
    /^\[packer-server\] (\w+) worker: thread (\d+), main thread (\w+), script (\S+)$/gm,
  ))
    found.set(match[1]!, { thread: Number(match[2]), mainThread: match[3]!, script: match[4]! });
  return found;
}

/** Starts `packer-server --stdio` (the bundle) with its workers announcing themselves; killed after the test. */
function startAnnouncing(): {
  connection: MessageConnection;
  child: ChildProcess;
  notifier: Notifier;
  stderr: () => string;
} {
  const child = spawn(process.execPath, [SERVER_SCRIPT, '--stdio'], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, PACKER_DEBUG_WORKERS: '1' },
  });
  cleanups.push(() => child.kill('SIGKILL'));
  const notifier = new Notifier();
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr += chunk;
    notifier.notify();
  });
  child.stdin.on('error', () => undefined);
  const connection = createMessageConnection(
    new StreamMessageReader(child.stdout),
    new StreamMessageWriter(child.stdin),
  );
  connection.onNotification(() => undefined);
  connection.onError(() => undefined);
  connection.listen();
  cleanups.push(() => connection.dispose());

  return { connection, child, notifier, stderr: () => stderr };
}

describe('the bundled server', () => {
  it('is built beside the compiled server with its code cache and one entry script per worker', () => {
    for (const name of [
      'main.cjs',
      'main.cjs.cache',
      'crawl-worker-entry.js',
      'validation-worker-entry.js',
      'crawl-thread.js',
      'pack-hasher-entry.js',
    ])
      expect(existsSync(join(BUNDLE, name)), name).toBe(true);
  });

  it('loads projects, crawls for verification and checks formats in worker threads started from its own entry scripts', async () => {
    const project = mkdtempSync(join(tmpdir(), 'bundle-workers-'));
    cleanups.push(() => rmSync(project, { recursive: true, force: true }));
    cpSync(join(repositoryRoot, 'test/transcripts/fixtures/format-blockers'), project, { recursive: true });

    const { connection, child, notifier, stderr: stderrNow } = startAnnouncing();
    const initialized = (await connection.sendRequest('initialize', {
      processId: null,
      capabilities: {},
      workspaceFolders: [{ uri: pathToFileURL(project).href, name: 'game' }],
    })) as { projects: { projectId: string }[] };
    const projectId = initialized.projects[0]!.projectId;
    await connection.sendNotification('initialized', {});
    await notifier.until(
      () => ['load', 'crawl', 'validation'].every((name) => announcements(stderrNow()).has(name)),
      () => `the three workers to announce themselves; stderr so far:\n${stderrNow()}`,
      60_000,
    );

    const workers = announcements(stderrNow());
    for (const name of ['load', 'crawl', 'validation']) {
      const worker = workers.get(name)!;
      expect(worker.mainThread, name).toBe('false');
      expect(worker.thread, name).toBeGreaterThan(0);
    }
    expect(workers.get('crawl')!.script).toBe(pathToFileURL(join(BUNDLE, 'crawl-worker-entry.js')).href);
    expect(workers.get('validation')!.script).toBe(pathToFileURL(join(BUNDLE, 'validation-worker-entry.js')).href);
    expect(workers.get('load')!.script).toBe(pathToFileURL(join(BUNDLE, 'crawl-thread.js')).href);
    // The native watcher, left out of the bundle, loads from node_modules at first use.
    let watching: { state: string; backend: string } = { state: 'starting', backend: 'none' };
    const deadline = Date.now() + 60_000;
    while (watching.state === 'starting' && Date.now() < deadline)
      ({ watching } = (await connection.sendRequest('packer/projectStatus', { projectId })) as {
        watching: { state: string; backend: string };
      });
    expect(watching).toMatchObject({ state: 'watching', backend: 'parcel' });
    await connection.sendRequest('shutdown');
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await connection.sendNotification('exit');
    expect(await exited).toBe(0);
  }, 120_000);
  it('hashes a pack on a thread started from its own entry script, and the hashes it reports are those of the bytes written', async () => {
    const project = mkdtempSync(join(tmpdir(), 'bundle-hash-'));
    cleanups.push(() => rmSync(project, { recursive: true, force: true }));
    cpSync(join(repositoryRoot, 'examples/demo-game'), project, {
      recursive: true,
      filter: (source) => !source.includes('/build') && !source.endsWith('/cache'),
    });
    const { connection, child, notifier, stderr: stderrNow } = startAnnouncing();
    const initialized = (await connection.sendRequest('initialize', {
      processId: null,
      capabilities: {},
      workspaceFolders: [{ uri: pathToFileURL(project).href, name: 'demo' }],
    })) as { projects: { projectId: string }[] };
    const projectId = initialized.projects[0]!.projectId;
    await connection.sendNotification('initialized', {});
    // The pack waits for the format checks itself; incremental: false so every blob is read and hashed.
    const packed = (await connection.sendRequest('packer/pack', {
      projectId,
      operationId: 'bundle-pack',
      incremental: false,
    })) as { outcome: string; artifacts: { name: string; sha256: string; size: number }[] };
    expect(packed.outcome).toBe('succeeded');
    await notifier.until(
      () => announcements(stderrNow()).has('hash'),
      () => `the hashing worker to announce itself; stderr so far:\n${stderrNow()}`,
      60_000,
    );
    const hash = announcements(stderrNow()).get('hash')!;
    expect(hash.mainThread).toBe('false');
    expect(hash.script).toBe(pathToFileURL(join(BUNDLE, 'pack-hasher-entry.js')).href);
    const assetsPa = packed.artifacts.find((artifact) => artifact.name === 'assets.pa')!;
    expect(assetsPa.size).toBe(statSync(join(project, 'build/assets.pa')).size);
    expect(assetsPa.sha256).toBe(
      createHash('sha256')
        .update(readFileSync(join(project, 'build/assets.pa')))
        .digest('hex'),
    );
    await connection.sendRequest('shutdown');
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await connection.sendNotification('exit');
    expect(await exited).toBe(0);
  }, 120_000);
});
