/**
 * The client against tiny purpose-built servers that crash, hang or write garbage: each failure is reported
 * precisely (exit code and stderr tail, timeout, protocol error) and nothing ever waits forever.
 */
import { PassThrough } from 'node:stream';
import { StreamMessageReader, StreamMessageWriter, createMessageConnection } from 'vscode-jsonrpc/node';
import { describe, expect, it } from 'vitest';
import {
  ClientStateError,
  ConnectionClosedError,
  PackerClient,
  RequestCancelledError,
  ServerCrashedError,
  ServerProtocolError,
  ServerSpawnError,
  ServerTimeoutError,
  type LogMessage,
  type ServerExitInfo,
} from '../../client/src/index.js';
import { fixtureServer, isRunning, nextNotification, track } from './support.js';

const resources = track();

function spawnFixture(
  name: Parameters<typeof fixtureServer>[0],
  options: Partial<Parameters<typeof PackerClient.spawn>[0]> = {},
): PackerClient {
  return resources.client(
    PackerClient.spawn({
      serverCommand: fixtureServer(name),
      initializeTimeoutMs: 5_000,
      shutdownTimeoutMs: 2_000,
      ...options,
    }),
  );
}

describe('a server that crashes', () => {
  it('rejects every pending request with its exit code and the tail of its stderr, and tells the exit listeners', async () => {
    const client = spawnFixture('crash-on-notification');
    await client.start();
    const exits: ServerExitInfo[] = [];
    client.onExit((info) => exits.push(info));
    const first = client.request('test/never', {});
    const second = client.request('test/never', {});
    await client.sendNotification('test/crash', { stderrBytes: 10_000 });
    const error = await first.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ServerCrashedError);
    const crash = error as ServerCrashedError;
    expect(crash).toMatchObject({ kind: 'crashed', exitCode: 3, signal: null });
    expect(crash.stderrTail.length).toBeLessThanOrEqual(4_096);
    expect(crash.stderrTail.length).toBeGreaterThan(3_000);
    expect(crash.stderrTail.endsWith('fixture: about to crash with exit code 3\n')).toBe(true);
    expect(crash.message).toContain('exited with code 3');
    expect(crash.message).toContain('about to crash');
    await expect(second).rejects.toBe(error);
    await expect(client.request('test/echo', {})).rejects.toBe(error);
    expect(exits).toEqual([{ exitCode: 3, signal: null, expected: false, error }]);
    expect(client.state).toBe('failed');
    const stopped = await client.stop();
    expect(stopped).toMatchObject({ exitCode: 3, killed: false, clean: false, error });
  });

  it('that exits during initialize makes start() fail with the exit code and stderr', async () => {
    const client = spawnFixture('crash-on-notification', { env: { ...process.env, FIXTURE_EXIT_ON_INITIALIZE: '1' } });
    const error = await client.start().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ServerCrashedError);
    expect(error).toMatchObject({ exitCode: 3, stderrTail: 'fixture: about to crash with exit code 3\n' });
    await expect(client.start()).rejects.toBe(error);
  });

  it('that cannot be started at all is a ServerSpawnError naming the command', async () => {
    const client = resources.client(PackerClient.spawn({ serverCommand: '/nonexistent/packer-server' }));
    const error = await client.start().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ServerSpawnError);
    expect(error).toMatchObject({ kind: 'spawn', errorCode: 'ENOENT' });
    expect((await client.stop()).error).toBe(error);
  });
});

describe('a server killed while it writes', () => {
  it('a request pending when the output stops mid-frame waits for the exit and rejects with the signal', async () => {
    const client = spawnFixture('cut-mid-frame');
    await client.start();
    const error = await client.request('test/cut', {}).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ServerCrashedError);
    expect(error).toMatchObject({ kind: 'crashed', signal: 'SIGKILL', exitCode: null });
    expect(await client.exited).toMatchObject({ signal: 'SIGKILL', expected: false, error });
    expect(client.state).toBe('failed');
  });
});

describe('a server that hangs', () => {
  it('start() fails with ServerTimeoutError when initialize gets no answer, and the server is killed', async () => {
    const client = spawnFixture('silent-initialize', { initializeTimeoutMs: 300 });
    const pid = client.pid!;
    const error = await client.start().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ServerTimeoutError);
    expect(error).toMatchObject({ kind: 'timeout', phase: 'initialize', method: 'initialize', timeoutMs: 300 });
    const exit = await client.exited;
    expect(exit).toMatchObject({ signal: 'SIGKILL', expected: true, error });
    expect(isRunning(pid)).toBe(false);
  });

  it('stop() kills a server that never answers shutdown, after shutdownTimeoutMs, and says so', async () => {
    const client = spawnFixture('hang-on-shutdown', { shutdownTimeoutMs: 300 });
    await client.start();
    const pid = client.pid!;
    const stopped = await client.stop();
    expect(stopped).toMatchObject({ killed: true, clean: false, signal: 'SIGKILL', exitCode: null });
    expect(stopped.error).toBeInstanceOf(ServerTimeoutError);
    expect(stopped.error).toMatchObject({ phase: 'shutdown', method: 'shutdown', timeoutMs: 300 });
    expect(isRunning(pid)).toBe(false);
    expect(client.state).toBe('stopped');
  });

  it('a request with a timeout fails with ServerTimeoutError and cancels itself on the server', async () => {
    const client = spawnFixture('crash-on-notification', { requestTimeoutMs: 200 });
    await client.start();
    const sawCancel = nextNotification(client, 'test/saw-cancel');
    await expect(client.request('test/wait-for-cancel', {})).rejects.toMatchObject({
      kind: 'timeout',
      phase: 'request',
      method: 'test/wait-for-cancel',
      timeoutMs: 200,
    });
    await sawCancel;
    expect(await client.request('test/echo', { ok: true })).toEqual({ ok: true });
  });
});

describe('a server that writes garbage', () => {
  it('a stray line on stdout fails start() with ServerProtocolError showing the line, and the server is killed', async () => {
    const client = spawnFixture('garbage-stdout');
    const pid = client.pid!;
    const error = await client.start().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ServerProtocolError);
    expect((error as ServerProtocolError).excerpt).toContain('debug: initialize received');
    expect((await client.exited).signal).toBe('SIGKILL');
    expect(isRunning(pid)).toBe(false);
  });

  it('a frame whose body is not JSON fails start() with ServerProtocolError', async () => {
    const client = spawnFixture('garbage-stdout', { env: { ...process.env, FIXTURE_GARBAGE: 'body' } });
    await expect(client.start()).rejects.toBeInstanceOf(ServerProtocolError);
    expect((await client.exited).signal).toBe('SIGKILL');
  });
});

describe('notifications and cancellation with a test server', () => {
  it('aborting sends $/cancelRequest, which the server sees', async () => {
    const client = spawnFixture('crash-on-notification');
    await client.start();
    const waiting = nextNotification(client, 'test/waiting');
    const sawCancel = nextNotification(client, 'test/saw-cancel');
    const controller = new AbortController();
    const pending = client.request('test/wait-for-cancel', {}, { signal: controller.signal });
    // Abort once the handler runs: a cancel that arrives earlier is answered by vscode-jsonrpc itself.
    await waiting;
    controller.abort();
    await expect(pending).rejects.toBeInstanceOf(RequestCancelledError);
    await sawCancel;
  });

  it('onLogMessage and onEvent receive the notifications, and unsubscribing stops them', async () => {
    const client = spawnFixture('crash-on-notification', { validateEvents: true });
    await client.start();
    const logs: LogMessage[] = [];
    const unsubscribe = client.onLogMessage((message) => logs.push(message));
    const invalid: unknown[] = [];
    client.onInvalidEvent((event) => invalid.push(event.params));
    const echoed = nextNotification(client, 'window/logMessage');
    await client.sendNotification('test/log', { message: 'hello from the server' });
    await echoed;
    expect(logs).toEqual([{ type: 3, message: 'hello from the server' }]);
    unsubscribe();
    const bad = { kind: 'operation.started', projectId: 'p' };
    const rejected = new Promise<void>((resolve) => client.onInvalidEvent(() => resolve()));
    await client.sendNotification('test/event', { event: bad });
    await rejected;
    expect(invalid).toEqual([bad]);
    const echoedAgain = nextNotification(client, 'window/logMessage');
    await client.sendNotification('test/log', { message: 'not for the unsubscribed listener' });
    await echoedAgain;
    expect(logs).toHaveLength(1);
  });
});

describe('options and state', () => {
  it('spawn() rejects invalid options at once, naming the option and the value', () => {
    expect(() => PackerClient.spawn({ serverCommand: '' })).toThrow(/`serverCommand`.*""/);
    expect(() =>
      PackerClient.spawn({ serverCommand: fixtureServer('silent-initialize'), initializeTimeoutMs: -1 }),
    ).toThrow(/`initializeTimeoutMs`.*-1/);
    expect(() =>
      PackerClient.spawn({
        serverCommand: fixtureServer('silent-initialize'),
        workspaceFolders: [{ uri: '/not/a/uri', name: 'x' }],
      }),
    ).toThrow(/`workspaceFolders\[0\]`/);
  });

  it('start() twice is a ClientStateError', async () => {
    const client = spawnFixture('crash-on-notification');
    await client.start();
    await expect(client.start()).rejects.toBeInstanceOf(ClientStateError);
  });
});

describe('a transport the caller owns', () => {
  it('that closes rejects pending requests with ConnectionClosedError and tells the exit listeners', async () => {
    const toClient = new PassThrough();
    const toServer = new PassThrough();
    const server = createMessageConnection(new StreamMessageReader(toServer), new StreamMessageWriter(toClient));
    server.onRequest('initialize', () => ({
      serverInfo: { name: 'in-process', version: '0' },
      capabilities: { experimental: { packer: {} } },
      projects: [],
    }));
    server.onRequest('test/never', () => new Promise(() => undefined));
    server.listen();
    const client = resources.client(PackerClient.fromStreams(toClient, toServer));
    try {
      await client.start();
      const pending = client.request('test/never', {});
      toClient.end();
      const error = await pending.catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ConnectionClosedError);
      expect(await client.exited).toEqual({ exitCode: null, signal: null, expected: false, error });
      expect(client.state).toBe('failed');
    } finally {
      server.dispose();
    }
  });
});
