/**
 * Helpers of the writer-lane tests: waiting on conditions with a deadline (never sleeping), clients of an
 * in-process host and of the real server binary over stdio, a seeded random source, and a digest of a
 * folder tree to compare the disk before and after a write.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { PackerEvent } from '@prometeu/packer-protocol';
import {
  createMessageConnection,
  ResponseError,
  StreamMessageReader,
  StreamMessageWriter,
  type MessageConnection,
} from 'vscode-jsonrpc/node';
import type { PackerHost } from '../../server/src/index.js';
import { serveConnection } from '../../server/src/transport/connection.js';

/** The real server's entry script (built by `npx tsc -b`). */
export const SERVER_SCRIPT = fileURLToPath(new URL('../../server/bin/packer-server.js', import.meta.url));

/** Wakes whoever waits for a condition; every client calls {@link Notifier.notify} when a message arrives. */
export class Notifier {
  /** Invariant: the waiters of the conditions not yet met; each is called (and dropped) on the next notify. */
  private waiters: (() => void)[] = [];

  /** Tells every waiter to look at its condition again. */
  notify(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  /**
   * Resolves once `condition()` holds; it is checked now and after every notify. Rejects after `timeoutMs`
   * with a message naming `what`. The deadline is a safety net: tests never rely on its length.
   */
  async until(condition: () => boolean, what: string | (() => string), timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`Timed out waiting for ${typeof what === 'string' ? what : what()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

/** A logger for client connections that keeps what it is told instead of printing it. */
function keepingLogger(into: string[]): {
  error: (m: string) => void;
  warn: (m: string) => void;
  info: (m: string) => void;
  log: (m: string) => void;
} {
  return {
    error: (m) => into.push(`error: ${m}`),
    warn: (m) => into.push(`warn: ${m}`),
    info: () => undefined,
    log: () => undefined,
  };
}

/** A client connection and everything the server sent it besides responses. */
export interface TestClient {
  readonly connection: MessageConnection;
  /** Every `packer/event` received, in arrival order. */
  readonly events: PackerEvent[];
  /** Every `window/logMessage` received. */
  readonly logMessages: { type: number; message: string }[];
  /** What the client library and the server logged (server logs only for in-process clients). */
  readonly logs: string[];
  /** Calls `listener` with every `packer/event` as it arrives; returns the function that stops it. */
  onEvent(listener: (event: PackerEvent) => void): () => void;
  dispose(): void;
}

function listenTo(
  connection: MessageConnection,
  notifier: Notifier,
  events: PackerEvent[],
  logMessages: { type: number; message: string }[],
): (listener: (event: PackerEvent) => void) => () => void {
  const listeners = new Set<(event: PackerEvent) => void>();
  connection.onNotification('packer/event', (event: PackerEvent) => {
    events.push(event);
    for (const listener of listeners) listener(event);
    notifier.notify();
  });
  connection.onNotification('window/logMessage', (params: { type: number; message: string }) => {
    logMessages.push(params);
    notifier.notify();
  });
  connection.listen();
  return (listener) => {
    listeners.add(listener);
    return () => listeners.delete(listener);
  };
}

/** Splits LSP frames out of a byte stream, for reading the server's output besides the client connection. */
function frameTap(onMessage: (message: Record<string, unknown>) => void): (chunk: Buffer) => void {
  let buffer = Buffer.alloc(0);
  return (chunk) => {
    buffer = Buffer.concat([buffer, chunk]);
    for (;;) {
      const headerEnd = buffer.indexOf('\r\n\r\n');
      if (headerEnd < 0) return;
      const length = Number(/Content-Length: (\d+)/i.exec(buffer.subarray(0, headerEnd).toString('ascii'))?.[1]);
      if (buffer.length < headerEnd + 4 + length) return;
      onMessage(
        JSON.parse(buffer.subarray(headerEnd + 4, headerEnd + 4 + length).toString('utf8')) as Record<string, unknown>,
      );
      buffer = buffer.subarray(headerEnd + 4 + length);
    }
  };
}

/** An in-process client that can also write raw frames, several in one chunk. */
export interface InProcessClient extends TestClient {
  /** Every message the server wrote, parsed, in order (responses included). */
  readonly raw: Record<string, unknown>[];
  /** Writes these messages to the server as one chunk of bytes, so the server reads them together. */
  writeTogether(messages: readonly Record<string, unknown>[]): void;
}

/** Connects a client to `host` in-process, over a pair of streams, as the stdio entry would. */
export function connectInProcess(host: PackerHost, notifier: Notifier): InProcessClient {
  const toServer = new PassThrough();
  const toClient = new PassThrough();
  const raw: Record<string, unknown>[] = [];
  toClient.on(
    'data',
    frameTap((message) => {
      raw.push(message);
      notifier.notify();
    }),
  );
  const logs: string[] = [];
  const served = serveConnection({
    input: toServer,
    output: toClient,
    host,
    onExit: () => undefined,
    log: (message) => logs.push(message),
    isProcessAlive: () => true,
  });
  const connection = createMessageConnection(
    new StreamMessageReader(toClient),
    new StreamMessageWriter(toServer),
    keepingLogger(logs),
  );
  const events: PackerEvent[] = [];
  const logMessages: { type: number; message: string }[] = [];
  const onEvent = listenTo(connection, notifier, events, logMessages);
  return {
    connection,
    events,
    logMessages,
    logs,
    onEvent,
    raw,
    writeTogether(messages) {
      const frames = messages.map((message) => {
        const body = JSON.stringify({ jsonrpc: '2.0', ...message });
        return `Content-Length: ${Buffer.byteLength(body, 'utf8')}\r\n\r\n${body}`;
      });
      toServer.write(frames.join(''));
    },
    dispose() {
      connection.dispose();
      served.dispose();
      toServer.end();
      toClient.end();
    },
  };
}

/** A server process and its client connection. */
export interface ServerProcess extends TestClient {
  readonly child: ChildProcessWithoutNullStreams;
  /** What the server wrote to stderr. */
  readonly stderr: string[];
  /** Resolves with the exit code (or signal) once the process ended and its stdout is fully read. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Whether the process has ended. */
  hasExited(): boolean;
  /** SIGKILLs the process (if still running) and waits until it is gone. */
  kill(): Promise<void>;
}

/** Starts `packer-server --stdio` and connects to it. */
export function spawnServer(notifier: Notifier): ServerProcess {
  const child = spawn(process.execPath, [SERVER_SCRIPT, '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const stderr: string[] = [];
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => stderr.push(chunk));
  // Writing to a killed server's stdin fails with EPIPE; the test sees that through the missing answers.
  child.stdin.on('error', () => undefined);
  const logs: string[] = [];
  const connection = createMessageConnection(
    new StreamMessageReader(child.stdout),
    new StreamMessageWriter(child.stdin),
    keepingLogger(logs),
  );
  connection.onError(() => undefined);
  const events: PackerEvent[] = [];
  const logMessages: { type: number; message: string }[] = [];
  const onEvent = listenTo(connection, notifier, events, logMessages);
  let ended = false;
  const stdoutClosed = new Promise<void>((resolve) => child.stdout.on('close', () => resolve()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      // Every frame the server wrote before it died is read before the exit counts as complete.
      void stdoutClosed.then(() => {
        ended = true;
        notifier.notify();
        resolve({ code, signal });
      });
    });
  });
  return {
    child,
    connection,
    events,
    logMessages,
    logs,
    onEvent,
    stderr,
    exited,
    hasExited: () => ended,
    async kill() {
      if (!ended && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    dispose() {
      connection.dispose();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/** Settles like `promise`, or rejects after `timeoutMs` naming `what`: a safety net, never a timing assertion. */
export async function withDeadline<T>(promise: Promise<T>, what: string, timeoutMs = 20_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`Timed out waiting for ${what}`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Settles like `promise`, but rejects when `server` exits first or after `timeoutMs`, with what the server
 * wrote to stderr: a server that dies or hangs fails the test with a reason instead of a test timeout.
 */
export async function answerOf<T>(
  server: ServerProcess,
  promise: Promise<T>,
  what: string,
  timeoutMs = 20_000,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const failure = (reason: string): Error =>
    new Error(`${what}: ${reason}; server stderr:\n${server.stderr.join('').slice(-4000)}`);
  try {
    return await Promise.race([
      promise,
      server.exited.then((exit) =>
        Promise.reject(failure(`the server exited (${JSON.stringify(exit)}) before answering`)),
      ),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(failure(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** The `initialize` params of a client opening `projectDir` as its one workspace folder. */
export function initializeParams(projectDir: string): Record<string, unknown> {
  return {
    processId: null,
    capabilities: {},
    workspaceFolders: [{ uri: pathToFileURL(projectDir).href, name: 'game' }],
  };
}

/** Initializes a client on `projectDir` and returns the project id. */
export async function initialize(client: TestClient, projectDir: string): Promise<string> {
  const result = (await client.connection.sendRequest('initialize', initializeParams(projectDir))) as {
    projects: { projectId?: string; error?: { message: string } }[];
  };
  const project = result.projects[0];
  if (project?.projectId === undefined)
    throw new Error(`initialize did not open ${projectDir}: ${JSON.stringify(result.projects)}`);
  await client.connection.sendNotification('initialized', {});
  return project.projectId;
}

/** The error of a rejected request as plain data, or null for a value that is not a response error. */
export function responseErrorOf(error: unknown): { code: number; message: string; data?: unknown } | null {
  if (!(error instanceof ResponseError)) return null;
  return {
    code: error.code,
    message: error.message,
    ...(error.data !== undefined ? { data: error.data as unknown } : {}),
  };
}

/** A small seeded PRNG (mulberry32): the same seed gives the same sequence. */
export function seededRandom(seed: number): {
  next: () => number;
  int: (below: number) => number;
  pick: <T>(items: readonly T[]) => T;
} {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (below: number): number => Math.floor(next() * below);
  return { next, int, pick: (items) => items[int(items.length)]! };
}

/**
 * Every entry under `dir` by relative POSIX path: `dir/` for folders, a sha-256 of the content for files,
 * `-> target` for links. `skip` leaves out entries (and what lies below them) by relative path.
 */
export function treeOf(dir: string, skip: (path: string) => boolean = () => false): Map<string, string> {
  const tree = new Map<string, string>();
  const walk = (relative: string): void => {
    for (const name of readdirSync(relative === '' ? dir : join(dir, relative)).sort()) {
      const path = relative === '' ? name : `${relative}/${name}`;
      if (skip(path)) continue;
      const absolute = join(dir, path);
      const stats = lstatSync(absolute);
      if (stats.isDirectory()) {
        tree.set(path, 'dir/');
        walk(path);
      } else if (stats.isSymbolicLink()) tree.set(path, `-> ${readlinkSync(absolute)}`);
      else tree.set(path, createHash('sha256').update(readFileSync(absolute)).digest('hex').slice(0, 16));
    }
  };
  if (existsSync(dir)) walk('');
  return tree;
}

/** The differences between two trees, for failure messages; empty when equal. */
export function treeDifferences(expected: Map<string, string>, actual: Map<string, string>): string[] {
  const differences: string[] = [];
  for (const [path, value] of expected) {
    if (!actual.has(path)) differences.push(`missing ${path}`);
    else if (actual.get(path) !== value) differences.push(`changed ${path}`);
  }
  for (const path of actual.keys()) if (!expected.has(path)) differences.push(`extra ${path}`);
  return differences;
}
