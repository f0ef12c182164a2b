/**
 * Format validation off the main thread: a long-lived worker per project that reads, hashes and checks the
 * assets it is sent, keeping its result cache between rounds. Falls back to the same work inline (in small
 * steps that let reads through) when a worker cannot be started, for example when running from TypeScript
 * sources in tests.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { checkAsset, type ValidationAnswer, type ValidationJob } from './check-asset.js';

const WORKER_TAG = 'prometeu-packer-validation';

interface WorkRequest {
  readonly id: number;
  readonly assetsDir: string;
  readonly jobs: readonly ValidationJob[];
}

type WorkReply =
  | { readonly id: number; readonly ok: true; readonly answers: ValidationAnswer[] }
  | { readonly id: number; readonly ok: false; readonly error: string };

/** Validates on the main thread, yielding to the event loop between assets so reads are answered meanwhile. */
export async function validateInline(assetsDir: string, jobs: readonly ValidationJob[]): Promise<ValidationAnswer[]> {
  const answers: ValidationAnswer[] = [];
  for (const job of jobs) {
    await new Promise((resolve) => setImmediate(resolve));
    answers.push(checkAsset(assetsDir, job));
  }
  return answers;
}

/** Runs validation jobs in one worker thread (started on first use), or inline where none can start. */
export class ValidationRunner {
  /** Invariant: the worker, null when none can be started here, undefined before the first attempt or after it died. */
  private worker: Worker | null | undefined;
  private nextId = 0;
  /** Invariant: the requests sent to the worker and not answered yet, by id. */
  private readonly waiting = new Map<
    number,
    { resolve(answers: ValidationAnswer[]): void; reject(error: Error): void }
  >();
  private disposed = false;

  /** Validates `jobs`; rejects only when the worker fails (the caller may then validate inline). */
  run(assetsDir: string, jobs: readonly ValidationJob[]): Promise<ValidationAnswer[]> {
    if (jobs.length === 0) return Promise.resolve([]);
    const worker = this.disposed ? null : this.workerOrNull();
    if (worker === null) return validateInline(assetsDir, jobs);
    return new Promise((resolve, reject) => {
      const id = ++this.nextId;
      this.waiting.set(id, { resolve, reject });
      const request: WorkRequest = { id, assetsDir, jobs };
      worker.postMessage(request);
    });
  }

  private workerOrNull(): Worker | null {
    if (this.worker !== undefined) return this.worker;
    const url = new URL(import.meta.url);
    // Compiled (dist/*.js) or bundled (dist/bundle/main.cjs): never the TypeScript sources tests run from.
    if (!/\.c?js$/.test(url.pathname)) return (this.worker = null);
    let worker: Worker;
    try {
      // The worker runs its own entry script beside this module (in dist/ and in the bundle alike).
      worker = new Worker(new URL('./validation-worker-entry.js', url), {
        workerData: { tag: WORKER_TAG },
        execArgv: [],
      });
    } catch {
      return (this.worker = null);
    }
    worker.on('message', (reply: WorkReply) => {
      const waiter = this.waiting.get(reply.id);
      if (waiter === undefined) return;
      this.waiting.delete(reply.id);
      if (reply.ok) waiter.resolve(reply.answers);
      else waiter.reject(new Error(reply.error));
    });
    const fail = (error: Error): void => {
      if (this.worker === worker) this.worker = undefined;
      for (const waiter of this.waiting.values()) waiter.reject(error);
      this.waiting.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`The validation worker exited with ${code}.`)));
    // An idle validation worker must not keep the process alive (after the listeners: adding one refs it again).
    worker.unref();
    this.worker = worker;
    return worker;
  }

  /** Stops the worker; requests still waiting are rejected. */
  dispose(): void {
    this.disposed = true;
    const worker = this.worker;
    this.worker = null;
    if (worker) void worker.terminate();
  }
}

if (!isMainThread && parentPort !== null && (workerData as { tag?: unknown } | null)?.tag === WORKER_TAG) {
  const port = parentPort;
  port.on('message', (request: WorkRequest) => {
    let reply: WorkReply;
    try {
      reply = { id: request.id, ok: true, answers: request.jobs.map((job) => checkAsset(request.assetsDir, job)) };
    } catch (error) {
      reply = { id: request.id, ok: false, error: error instanceof Error ? error.message : String(error) };
    }
    port.postMessage(reply);
  });
}
