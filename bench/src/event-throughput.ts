/** The event-throughput benchmark (issue "Single-writer lane"): `packer/event` delivery to one client against naive and raw senders. */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { PassThrough } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { PackerHost, serveConnection } from '@prometeu/packer-server';
import { StreamMessageReader, StreamMessageWriter, createMessageConnection } from 'vscode-jsonrpc/node';
import type { ConsumerReport } from './event-consumer.js';

/** The three senders, all feeding the same kind of consumer. */
export type EventSender = 'packer' | 'naive' | 'raw';

/** One timed delivery of every event. */
export interface EventTrial {
  readonly sender: EventSender;
  readonly events: number;
  /** From the first event produced to the consumer's report that it counted them all, in ms. */
  readonly elapsedMs: number;
  readonly report: ConsumerReport;
}

/** What the event-throughput benchmark found. */
export interface EventThroughputResult {
  readonly events: number;
  readonly chunk: number;
  readonly trials: readonly EventTrial[];
}

/** The operation the progress events belong to. */
const OPERATION_ID = 'op-bench-events';

/** A consumer child process and the lines it printed. */
interface Consumer {
  readonly child: ChildProcess;
  readonly stdin: NodeJS.WritableStream;
  /** Resolves with the next line starting with `prefix` (one already printed counts). */
  line(prefix: string, timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

function frame(message: object): string {
  const body = JSON.stringify(message);
  return `Content-Length: ${Buffer.byteLength(body, 'utf8')}\r\n\r\n${body}`;
}

async function startConsumer(expected: number): Promise<Consumer> {
  const script = fileURLToPath(new URL('./event-consumer.js', import.meta.url));
  const child = spawn(process.execPath, [script, String(expected)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: string[] = [];
  const waiters: { prefix: string; resolve: (line: string) => void }[] = [];
  createInterface({ input: child.stdout }).on('line', (text) => {
    const index = waiters.findIndex((waiter) => text.startsWith(waiter.prefix));
    if (index >= 0) waiters.splice(index, 1)[0]!.resolve(text);
    else lines.push(text);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const consumer: Consumer = {
    child,
    stdin: child.stdin,
    line(prefix, timeoutMs = 120_000) {
      const index = lines.findIndex((text) => text.startsWith(prefix));
      if (index >= 0) return Promise.resolve(lines.splice(index, 1)[0]!);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`the event consumer did not print "${prefix}" within ${timeoutMs} ms`)),
          timeoutMs,
        );
        waiters.push({
          prefix,
          resolve: (text) => {
            clearTimeout(timer);
            resolve(text);
          },
        });
        void exited.then(() => reject(new Error(`the event consumer exited before printing "${prefix}"`)));
      });
    },
    async stop() {
      child.stdin.end();
      const deadline = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(deadline);
    },
  };
  await consumer.line('ready');
  return consumer;
}

function reportOf(line: string): ConsumerReport {
  return JSON.parse(line.slice('done '.length)) as ConsumerReport;
}

/** The packer's own path: an in-process host and connection, events appended to the project's log. */
async function packerTrial(events: number, chunk: number, projectUri: string): Promise<EventTrial> {
  const consumer = await startConsumer(events);
  const host = new PackerHost({ watcher: null });
  const input = new PassThrough();
  const served = serveConnection({
    input,
    output: consumer.stdin,
    host,
    onExit: () => undefined,
    log: () => undefined,
  });
  try {
    input.write(
      frame({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { processId: null, rootUri: null, capabilities: {}, workspaceFolders: null },
      }),
    );
    await consumer.line('answered');
    input.write(frame({ jsonrpc: '2.0', method: 'initialized', params: {} }));
    const project = await host.open(projectUri);
    for (let turn = 0; turn < 3; turn++) await nextTurn();
    collectGarbage();
    const started = performance.now();
    for (let sent = 0; sent < events;) {
      for (const end = Math.min(events, sent + chunk); sent < end; sent++) {
        project.events.append(
          'operation.progress',
          { done: sent + 1, total: events, unit: 'assets', message: `asset_${sent + 1}` },
          OPERATION_ID,
        );
      }
      await nextTurn();
    }
    const report = reportOf(await consumer.line('done'));
    return { sender: 'packer', events, elapsedMs: performance.now() - started, report };
  } finally {
    served.dispose();
    host.dispose();
    input.end();
    await consumer.stop();
  }
}

/** The floor the issue measured first: one `sendNotification` per event through vscode-jsonrpc's StreamMessageWriter. */
async function naiveTrial(events: number, chunk: number): Promise<EventTrial> {
  const consumer = await startConsumer(events);
  const connection = createMessageConnection(
    new StreamMessageReader(new PassThrough()),
    new StreamMessageWriter(consumer.stdin),
  );
  connection.listen();
  const envelope = { projectId: 'prj-bench', epoch: randomUUID() };
  try {
    collectGarbage();
    const started = performance.now();
    for (let sent = 0; sent < events;) {
      for (const end = Math.min(events, sent + chunk); sent < end; sent++) {
        const event = {
          ...envelope,
          sequence: sent + 1,
          operationId: OPERATION_ID,
          time: new Date().toISOString(),
          kind: 'operation.progress',
          body: { done: sent + 1, total: events, unit: 'assets', message: `asset_${sent + 1}` },
        };
        void connection.sendNotification('packer/event', event).catch(() => undefined);
      }
      await nextTurn();
    }
    const report = reportOf(await consumer.line('done'));
    return { sender: 'naive', events, elapsedMs: performance.now() - started, report };
  } finally {
    connection.dispose();
    await consumer.stop();
  }
}

/** The upper floor: the same frames, serialised and framed before the clock starts, one write per chunk. */
async function rawTrial(events: number, chunk: number): Promise<EventTrial> {
  const consumer = await startConsumer(events);
  const envelope = { jsonrpc: '2.0', method: 'packer/event' };
  const epoch = randomUUID();
  const chunks: string[] = [];
  for (let sent = 0; sent < events;) {
    let text = '';
    for (const end = Math.min(events, sent + chunk); sent < end; sent++) {
      text += frame({
        ...envelope,
        params: {
          projectId: 'prj-bench',
          epoch,
          sequence: sent + 1,
          operationId: OPERATION_ID,
          time: new Date().toISOString(),
          kind: 'operation.progress',
          body: { done: sent + 1, total: events, unit: 'assets', message: `asset_${sent + 1}` },
        },
      });
    }
    chunks.push(text);
  }
  try {
    collectGarbage();
    const started = performance.now();
    for (const text of chunks) {
      consumer.stdin.write(text);
      await nextTurn();
    }
    const report = reportOf(await consumer.line('done'));
    return { sender: 'raw', events, elapsedMs: performance.now() - started, report };
  } finally {
    await consumer.stop();
  }
}

/**
 * Delivers `events` `operation.progress` events to one consumer process, `chunk` events per turn of the
 * event loop, with each sender, `repetitions` times in a rotating order (after one untimed warm-up of
 * each with a tenth of the events). The packer sender is an in-process `PackerHost` and `serveConnection`
 * whose output is the consumer's stdin, fed by appending to a project's event log; a tiny empty project
 * is created for it in a temporary folder.
 */
export async function measureEventThroughput(options: {
  readonly events: number;
  readonly chunk: number;
  readonly repetitions: number;
}): Promise<EventThroughputResult> {
  const parent = mkdtempSync(join(tmpdir(), 'prometeu-bench-events-'));
  try {
    mkdirSync(join(parent, 'assets'));
    const projectUri = pathToFileURL(parent).href;
    const run = (sender: EventSender, events: number): Promise<EventTrial> =>
      sender === 'packer'
        ? packerTrial(events, options.chunk, projectUri)
        : sender === 'naive'
          ? naiveTrial(events, options.chunk)
          : rawTrial(events, options.chunk);
    const senders: EventSender[] = ['packer', 'naive', 'raw'];
    for (const sender of senders) await run(sender, Math.max(options.chunk, Math.round(options.events / 10)));
    const trials: EventTrial[] = [];
    for (let repetition = 0; repetition < options.repetitions; repetition++) {
      for (let index = 0; index < senders.length; index++) {
        const trial = await run(senders[(index + repetition) % senders.length]!, options.events);
        if (trial.report.events !== options.events)
          throw new Error(
            `the ${trial.sender} sender delivered ${trial.report.events} events, expected ${options.events}`,
          );
        trials.push(trial);
      }
    }
    return { events: options.events, chunk: options.chunk, trials };
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
}
