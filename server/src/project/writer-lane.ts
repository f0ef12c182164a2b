/**
 * The single writer lane of a project: write operations run one at a time, in arrival order, and each one
 * is an observable operation (queued, started, progress, exactly one terminal event). Nothing else may
 * change a project's state.
 */
import type { OperationClass } from '@prometeu/packer-protocol';
import { describeError } from '../errors.js';
import type { EventLog } from './event-log.js';

/** What a running operation may do besides its work. */
export interface OperationContext {
  readonly operationId: string;
  /** Aborted when the caller cancels; check it at safe points. */
  readonly signal: AbortSignal;
  /** Reports progress as an `operation.progress` event. */
  progress(done: number, total?: number, unit?: string, message?: string): void;
  /**
   * Takes the writer lock now (see {@link WriteOperation.claimsWriterItself}); returns the refusal to
   * fail with when another process holds it. Taking it again is a no-op.
   */
  claimWriter(): { code: number; message: string; data?: unknown } | undefined;
}

/**
 * How an operation ended, as a value. `succeeded` and `failed` both carry the response the request
 * answers with (a rejected apply is `failed` with its reasons); `cancelled` means it stopped without
 * changing anything.
 */
export type OperationResult<R> =
  | { readonly status: 'succeeded'; readonly response: R; readonly revision?: number }
  | { readonly status: 'failed'; readonly response: R; readonly revision?: number }
  | {
      readonly status: 'failed';
      readonly error: { code: number; message: string; data?: unknown };
      readonly revision?: number;
    }
  | { readonly status: 'cancelled' };

/** What the lane reports to the caller. `error` is an exception thrown by the operation (a bug or an I/O failure). */
export type LaneOutcome<R> =
  | OperationResult<R>
  | { readonly status: 'cancelledBeforeStart' }
  | { readonly status: 'error'; readonly error: unknown };

/** A write to run in the lane. */
export interface WriteOperation<R> {
  readonly operationId: string;
  /** The operation's name in events, for example `initWorkspace`. */
  readonly operation: string;
  readonly operationClass: OperationClass;
  /** Cancels the operation: before it starts it is dropped; once started, `run` decides at its safe points. */
  readonly signal?: AbortSignal;
  /**
   * When true, the lane does not take the writer lock before `run`; `run` calls `context.claimWriter()`
   * before its first write. For operations that often write nothing (an `initWorkspace` on a valid
   * workspace, a reconcile without a journal), so they work on a read-only project.
   */
  readonly claimsWriterItself?: boolean;
  run(context: OperationContext): Promise<OperationResult<R>>;
}

interface Job {
  readonly operation: WriteOperation<unknown>;
  readonly finish: (outcome: LaneOutcome<unknown>) => void;
  readonly controller: AbortController;
  detach: () => void;
  /** Set for internal work of the server (see {@link WriterLane.runInternal}): no events, no lock, not counted. */
  readonly internal?: () => void | Promise<void>;
}

/** Observes the lane, for status and tests. */
export interface LaneStatus {
  readonly running: { operationId: string; operation: string } | null;
  readonly queued: number;
}

export class WriterLane {
  /** Invariant: jobs waiting to run, in arrival order; the running job is never in it. */
  private readonly queue: Job[] = [];
  /** Invariant: the job whose `run` is in progress, or null; at most one at any time. */
  private running: Job | null = null;
  private readonly idleWaiters: (() => void)[] = [];

  /**
   * @param guard Runs before each write starts; an error it returns fails the write without running it
   *   (the writer lock lives behind it).
   */
  constructor(
    private readonly events: EventLog,
    private readonly currentRevision: () => number,
    private readonly guard: () => { code: number; message: string; data?: unknown } | undefined = () => undefined,
  ) {}

  /** What runs now and how many wait. */
  status(): LaneStatus {
    return {
      running:
        this.running && !this.running.internal
          ? { operationId: this.running.operation.operationId, operation: this.running.operation.operation }
          : null,
      queued: this.visibleQueued(),
    };
  }

  private visibleQueued(): number {
    let count = 0;
    for (const job of this.queue) if (!job.internal) count++;
    return count;
  }

  /**
   * Runs `task` inside the lane, in arrival order with the writes, as internal work of the server: no
   * operation, no events, no writer lock, not shown in the status. It must not write the disk; it may
   * publish (validation results are published this way). Resolves when it ran; an exception rejects.
   */
  runInternal(task: () => void | Promise<void>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let failure: unknown;
      const job: Job = {
        // A placeholder: an internal job is run through `internal`, never as an operation.
        operation: {
          operationId: '',
          operation: 'internal',
          operationClass: 'runtime-state',
          run: () => Promise.reject(),
        },
        finish: () => (failure === undefined ? resolve() : reject(failure)),
        controller: new AbortController(),
        detach: () => undefined,
        internal: async () => {
          try {
            await task();
          } catch (error) {
            failure = error ?? new Error('internal lane task failed');
          }
        },
      };
      this.queue.push(job);
      this.pump();
    });
  }

  /** Queues a write; resolves with its outcome once it ended. Never rejects. */
  enqueue<R>(operation: WriteOperation<R>): Promise<LaneOutcome<R>> {
    return new Promise<LaneOutcome<R>>((resolve) => {
      const head = { operation: operation.operation, operationClass: operation.operationClass };
      this.events.append(
        'operation.queued',
        { ...head, position: this.visibleQueued() + (this.running && !this.running.internal ? 1 : 0) },
        operation.operationId,
      );
      const controller = new AbortController();
      const job: Job = {
        operation: operation as WriteOperation<unknown>,
        finish: resolve as (outcome: LaneOutcome<unknown>) => void,
        controller,
        detach: () => undefined,
      };
      const onAbort = (): void => {
        const index = this.queue.indexOf(job);
        if (index >= 0) {
          this.queue.splice(index, 1);
          job.detach();
          this.events.append('operation.cancelled', { ...head, started: false }, operation.operationId);
          resolve({ status: 'cancelledBeforeStart' });
        } else {
          controller.abort();
        }
      };
      if (operation.signal) {
        const signal = operation.signal;
        signal.addEventListener('abort', onAbort, { once: true });
        job.detach = () => signal.removeEventListener('abort', onAbort);
      }
      this.queue.push(job);
      if (operation.signal?.aborted) onAbort();
      this.pump();
    });
  }

  /** Resolves once nothing runs and nothing waits. */
  whenIdle(): Promise<void> {
    if (this.running === null && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    if (this.running !== null) return;
    const job = this.queue.shift();
    if (job === undefined) {
      for (const waiter of this.idleWaiters.splice(0)) waiter();
      return;
    }
    this.running = job;
    void this.runJob(job).finally(() => {
      job.detach();
      this.running = null;
      this.pump();
    });
  }

  private async runJob(job: Job): Promise<void> {
    if (job.internal) {
      await job.internal();
      job.finish({ status: 'cancelledBeforeStart' });
      return;
    }
    const { operation } = job;
    const head = { operation: operation.operation, operationClass: operation.operationClass };
    this.events.append('operation.started', { ...head, baseRevision: this.currentRevision() }, operation.operationId);
    const context: OperationContext = {
      operationId: operation.operationId,
      signal: job.controller.signal,
      progress: (done, total, unit, message) => {
        this.events.append(
          'operation.progress',
          {
            done,
            ...(total !== undefined ? { total } : {}),
            ...(unit !== undefined ? { unit } : {}),
            ...(message !== undefined ? { message } : {}),
          },
          operation.operationId,
        );
      },
      claimWriter: () => this.guard(),
    };
    let outcome: OperationResult<unknown> | { readonly status: 'error'; readonly error: unknown };
    try {
      const refusal = operation.claimsWriterItself ? undefined : this.guard();
      outcome = refusal !== undefined ? { status: 'failed', error: refusal } : await operation.run(context);
    } catch (error) {
      outcome = { status: 'error', error };
    }
    switch (outcome.status) {
      case 'succeeded':
        this.events.append(
          'operation.succeeded',
          {
            ...head,
            ...(outcome.revision !== undefined ? { revision: outcome.revision } : {}),
            outcome: asRecord(outcome.response),
          },
          operation.operationId,
        );
        break;
      case 'failed':
        this.events.append(
          'operation.failed',
          {
            ...head,
            ...(outcome.revision !== undefined ? { revision: outcome.revision } : {}),
            ...('error' in outcome ? { outcome: {}, error: outcome.error } : { outcome: asRecord(outcome.response) }),
          },
          operation.operationId,
        );
        break;
      case 'cancelled':
        this.events.append('operation.cancelled', { ...head, started: true }, operation.operationId);
        break;
      case 'error': {
        this.events.append(
          'operation.failed',
          { ...head, outcome: {}, error: describeError(outcome.error) },
          operation.operationId,
        );
        break;
      }
    }
    job.finish(outcome);
  }
}

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : { value };
}
