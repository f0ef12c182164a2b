/**
 * Format validation off the main thread: a worker per project that reads, hashes and checks the assets it is
 * sent, keeping its result cache between rounds that follow each other closely. A worker left idle ends (its
 * V8 heap, hundreds of MiB after a 100k open's round, is unmapped; what it allocated through malloc may stay in
 * the process's allocator, docs/performance-history.md, "Memory watching, sixth round") and the next round starts a new
 * one. Falls back to the same work inline (in small steps that let reads through) when a worker cannot be
 * started, for example when running from TypeScript sources in tests.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { checkAsset, type ValidationAnswer, type ValidationJob } from './check-asset.js';
import { yieldToClients } from '../io/turns.js';

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
    await yieldToClients();
    answers.push(checkAsset(assetsDir, job));
  }
  return answers;
}

/**
 * How long a validation worker waits for more work before it ends. Rounds come after an open, a commit or a
 * reconcile; a worker restarts in tens of milliseconds, while an idle one at 100k roots held 239 MiB
 * (docs/performance-history.md, "the memory of a 100k server").
 */
export const VALIDATION_IDLE_MS = 10_000;

/**
 * How long a validation worker waits for more work after a run of at least {@link LARGE_ROUND_JOBS} jobs (an open's or a reload's round) before it ends. Such a worker's heap is the largest (about 240 MiB after
 * a 100k open's round, docs/performance-history.md, "Memory watching, sixth round"), and what its cache would save on a
 * next round is least: a reload carries results over by stamps without asking the worker, and a commit's round
 * validates the few assets it touched, whose new declarations are not in the cache anyway. The trade: a round
 * that comes later starts a worker again (tens of milliseconds) and validates everything it is sent.
 */
export const VALIDATION_IDLE_AFTER_LARGE_MS = 250;

/** From this many jobs in one run on, the worker ends {@link VALIDATION_IDLE_AFTER_LARGE_MS} after it. */
export const LARGE_ROUND_JOBS = 1_000;

/** How many jobs one message to the validation worker carries (its copy takes about a millisecond). */
const JOB_CHUNK = 100;

/** What a {@link ValidationRunner} can be told. */
export interface ValidationRunnerOptions {
  /** How long an idle worker lives ({@link VALIDATION_IDLE_MS} by default). */
  readonly idleMs?: number;
  /** How long it lives after a large run ({@link VALIDATION_IDLE_AFTER_LARGE_MS} by default). */
  readonly idleAfterLargeMs?: number;
}

/**
 * Runs validation jobs in one worker thread (started on first use, ended when idle), or inline where none
 * can start.
 */
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
  /** Invariant: set while a worker runs with nothing waiting; ends it when it fires. */
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly idleMs: number;
  private readonly idleAfterLargeMs: number;
  /** Invariant: whether the last {@link run} had at least {@link LARGE_ROUND_JOBS} jobs. */
  private lastRunLarge = false;
  /** How many workers ended for being idle (for tests and logs). */
  idleEnds = 0;

  constructor(options: ValidationRunnerOptions = {}) {
    this.idleMs = options.idleMs ?? VALIDATION_IDLE_MS;
    this.idleAfterLargeMs = Math.min(this.idleMs, options.idleAfterLargeMs ?? VALIDATION_IDLE_AFTER_LARGE_MS);
  }

  /** Whether a worker thread is running now. */
  get running(): boolean {
    return this.worker !== undefined && this.worker !== null;
  }

  /**
   * Validates `jobs`; rejects only when the worker fails (the caller may then validate inline). The jobs go to
   * the worker in messages of {@link JOB_CHUNK}, one per turn of the event loop, and come back the same way:
   * copying the open's 100k jobs (each with its declaration) into one message held the main thread for a second.
   * `onReply`, when given, is called with each message's answers as it arrives, in the jobs' order (the worker
   * answers its messages in turn), so a caller can use them before the last one is in; not where the jobs run
   * inline.
   */
  async run(
    assetsDir: string,
    jobs: readonly ValidationJob[],
    onReply?: (answers: readonly ValidationAnswer[]) => void,
  ): Promise<ValidationAnswer[]> {
    if (jobs.length === 0) return [];
    const worker = this.disposed ? null : this.workerOrNull();
    if (worker === null) return validateInline(assetsDir, jobs);
    this.lastRunLarge = jobs.length >= LARGE_ROUND_JOBS;
    const replies: Promise<ValidationAnswer[]>[] = [];
    for (let start = 0; start < jobs.length; start += JOB_CHUNK) {
      if (start > 0) await yieldToClients();
      const sent = this.send(worker, assetsDir, jobs.slice(start, start + JOB_CHUNK));
      // Replies resolve in the order the worker sent them, so each one's callback runs in the jobs' order.
      const reply = onReply === undefined ? sent : sent.then((answers) => (onReply(answers), answers));
      // Rejected together with every other request when the worker fails; Promise.all below reports it.
      reply.catch(() => undefined);
      replies.push(reply);
    }
    return (await Promise.all(replies)).flat();
  }

  /** Sends one request to `worker`; rejects at once when it is no longer this runner's worker (it failed or was stopped). */
  private send(worker: Worker, assetsDir: string, jobs: readonly ValidationJob[]): Promise<ValidationAnswer[]> {
    if (this.worker !== worker) return Promise.reject(new Error('The validation worker was stopped.'));
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
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
      if (this.waiting.size === 0) this.endWhenIdle(worker);
      if (reply.ok) waiter.resolve(reply.answers);
      else waiter.reject(new Error(reply.error));
    });
    const fail = (error: Error): void => {
      // A worker ended for being idle or by dispose was forgotten first: what waits belongs to another one.
      if (this.worker !== worker) return;
      this.worker = undefined;
      this.rejectWaiting(error);
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`The validation worker exited with ${code}.`)));
    // An idle validation worker must not keep the process alive (after the listeners: adding one refs it again).
    worker.unref();
    this.worker = worker;
    return worker;
  }

  /**
   * Ends `worker` once it has been idle for {@link idleMs}, or for {@link idleAfterLargeMs} after a run of at
   * least {@link LARGE_ROUND_JOBS} jobs; a new request clears the timer first.
   */
  private endWhenIdle(worker: Worker): void {
    clearTimeout(this.idleTimer);
    const delay = this.lastRunLarge ? this.idleAfterLargeMs : this.idleMs;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      if (this.worker !== worker || this.waiting.size > 0) return;
      // Forgotten first: its exit is then no failure of a request, and the next round starts a new worker.
      this.worker = undefined;
      this.idleEnds++;
      void worker.terminate();
    }, delay);
    // The timer must not keep the process alive either.
    this.idleTimer.unref();
  }

  /** Stops the worker; requests still waiting are rejected. */
  dispose(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.disposed = true;
    const worker = this.worker;
    this.worker = null;
    if (worker) void worker.terminate();
    this.rejectWaiting(new Error('The validation worker was stopped.'));
  }

  private rejectWaiting(error: Error): void {
    for (const waiter of this.waiting.values()) waiter.reject(error);
    this.waiting.clear();
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
