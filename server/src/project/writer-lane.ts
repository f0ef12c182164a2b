/**
 * The single writer lane of a project: write operations run one at a time, in arrival order, and each one
 * is an observable operation (queued, started, progress, exactly one terminal event). The queue itself is
 * p-queue (FIFO, removal of a queued task by its AbortSignal, idle waiting); the lane adds what is the
 * packer's: the events at queue and start, outcomes as values, the guard, and the write scope only it
 * hands out. Nothing else may change a project's state.
 */
import PQueue from 'p-queue';
import { PackerErrorCodes, type OperationClass, type PackerErrorDataOf } from '@prometeu/packer-protocol';
import type { Snapshot } from '../domain/snapshot.js';
import type { RecoveryReport } from '../mutations/execute.js';
import type { MutationPlan } from '../mutations/plan.js';
import { toWireError } from '../wire/errors.js';
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
  /**
   * Says that cancelling can no longer stop the operation (it passed its last checkpoint), so `$/progress`
   * can stop offering a cancel button. Only meaningful for operations that are cancellable once started.
   */
  pastLastCheckpoint(): void;
}

/** Why a snapshot was published. */
export type PublishCause = 'open' | 'initWorkspace' | 'mutation' | 'reconcile' | 'recovery' | 'validation';

/**
 * The write capability: the only way to change a project's state. Only the lane creates one, for the
 * operation it is running, and hands it to that operation's `run`; code outside the lane cannot get one.
 * Every change it makes is attributed to the running operation.
 */
export interface WriteScope {
  /** The operation this scope belongs to. */
  readonly operationId: string;
  /**
   * Commits a plan durably (journaled when it touches several files), then publishes the next snapshot.
   * Throws `DiskChangedError` before touching anything when the disk no longer matches the plan.
   */
  commit(plan: MutationPlan): Promise<Snapshot>;
  /**
   * The current snapshot once its pending format checks are done, publishing their results first (cause
   * `validation`, attributed to this operation); a pack packs only a validated snapshot.
   */
  validatedSnapshot(): Promise<Snapshot>;
  /**
   * Reloads the whole workspace into a new snapshot with the next revision and publishes it; the crawl and
   * the parse run off the main thread, and reads are answered from the current snapshot until then.
   */
  reload(cause: PublishCause): Promise<Snapshot>;
  /**
   * Finishes or undoes a write a stopped writer left in the journal, then publishes the recovered disk.
   * Returns null when there is no journal.
   */
  recoverInterruptedWrite(): Promise<RecoveryReport | null>;
  /** Starts watching a workspace whose `assets/` folder the operation just created. */
  startDeferredWatching(): void;
  /** Tells the project a reconcile it scheduled itself has started, so the next divergence can schedule another. */
  reconcileStarted(): void;
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
  | { readonly status: 'refused'; readonly error: OperationIdInUse }
  | { readonly status: 'error'; readonly error: unknown };

/** Why the lane refused to queue an operation: its id is already used in the project. */
export interface OperationIdInUse {
  readonly code: typeof PackerErrorCodes.OperationIdInUse;
  readonly message: string;
  readonly data: PackerErrorDataOf<typeof PackerErrorCodes.OperationIdInUse>;
}

/** A write to run in the lane. */
export interface WriteOperation<R> {
  readonly operationId: string;
  /** The operation's name in events, for example `initWorkspace`. */
  readonly operation: string;
  readonly operationClass: OperationClass;
  /** Cancels the operation: before it starts it is dropped; once started, `run` decides at its safe points. */
  readonly signal?: AbortSignal;
  /**
   * Whether cancelling can still stop the operation once it started (true for a pack, which checks at
   * every asset until it promotes `build/`; false, the default, for writes that commit in one step).
   * `$/progress` says `cancellable` accordingly.
   */
  readonly cancellableOnceStarted?: boolean;
  /**
   * When true, the lane does not take the writer lock before `run`; `run` calls `context.claimWriter()`
   * before its first write. For operations that often write nothing (an `initWorkspace` on a valid
   * workspace, a reconcile without a journal), so they work on a read-only project.
   */
  readonly claimsWriterItself?: boolean;
  /** Does the work; `scope` is the only way it can change the project. */
  run(context: OperationContext, scope: WriteScope): Promise<OperationResult<R>>;
}

/** Observes the lane, for status and tests. */
export interface LaneStatus {
  readonly running: { operationId: string; operation: string } | null;
  readonly queued: number;
}

/** What a lane needs from its project. */
export interface WriterLaneOptions {
  /** The project the lane belongs to, named in refusals. */
  readonly projectId: string;
  readonly events: EventLog;
  readonly currentRevision: () => number;
  /**
   * Runs before each write starts; an error it returns fails the write without running it (the writer
   * lock lives behind it).
   */
  readonly guard?: () => { code: number; message: string; data?: unknown } | undefined;
  /** Makes the write scope of one operation; called only by the lane, for the operation it starts. */
  readonly openScope: (operationId: string) => WriteScope;
}

export class WriterLane {
  /** Invariant: runs one task at a time (concurrency 1), in arrival order; a queued task whose signal aborts is removed. */
  readonly #queue = new PQueue({ concurrency: 1 });
  /** Invariant: the operation whose `run` is in progress, or null; at most one at any time. */
  #running: WriteOperation<unknown> | null = null;
  /** Invariant: how many tasks of {@link runInternal} wait in the queue (they are not shown as queued). */
  #internalQueued = 0;
  /** Invariant: the ids of every operation queued or running; an id is in it from enqueue until its outcome. */
  readonly #inFlight = new Set<string>();
  readonly #projectId: string;
  readonly #events: EventLog;
  readonly #currentRevision: () => number;
  readonly #guard: () => { code: number; message: string; data?: unknown } | undefined;
  readonly #openScope: (operationId: string) => WriteScope;
  /** Invariant: the listeners told when a running operation passed its last checkpoint. */
  readonly #checkpointListeners = new Set<(operationId: string) => void>();

  constructor(options: WriterLaneOptions) {
    this.#projectId = options.projectId;
    this.#events = options.events;
    this.#currentRevision = options.currentRevision;
    this.#guard = options.guard ?? (() => undefined);
    this.#openScope = options.openScope;
  }

  /** What runs now and how many wait. */
  status(): LaneStatus {
    const running = this.#running;
    return {
      running: running ? { operationId: running.operationId, operation: running.operation } : null,
      queued: this.#visibleQueued(),
    };
  }

  /** How many writes wait: the queue less the internal tasks waiting in it. */
  #visibleQueued(): number {
    return this.#queue.size - this.#internalQueued;
  }

  /**
   * Runs `task` inside the lane, in arrival order with the writes, as internal work of the server: no
   * operation, no events, no writer lock, not shown in the status. It must not write the disk; it may
   * publish (validation results are published this way). Resolves when it ran; an exception rejects.
   */
  runInternal(task: () => void | Promise<void>): Promise<void> {
    this.#internalQueued++;
    return this.#queue.add(async () => {
      this.#internalQueued--;
      await task();
    });
  }

  /**
   * Says why `operationId` cannot name a new operation of this project: one with this id is queued or
   * running, or the event log still retains events of one. Undefined when the id is free.
   */
  operationIdInUse(operationId: string): OperationIdInUse | undefined {
    const usedBy = this.#inFlight.has(operationId)
      ? 'inFlight'
      : this.#events.retainsOperation(operationId)
        ? 'retained'
        : undefined;
    if (usedBy === undefined) return undefined;
    return {
      code: PackerErrorCodes.OperationIdInUse,
      message: `The operation id ${JSON.stringify(operationId)} is already used in project ${this.#projectId} (${usedBy === 'inFlight' ? 'an operation with it is queued or running' : 'the event log still holds events of an earlier operation with it'}); nothing was queued. Send the write again with a new operationId.`,
      data: { projectId: this.#projectId, operationId, usedBy },
    };
  }

  /**
   * Queues a write; resolves with its outcome once it ended. Never rejects. An operation whose id is
   * already used in the project is refused (`refused`) before anything is queued or recorded, so every
   * operation id names one operation with exactly one terminal event.
   */
  enqueue<R>(operation: WriteOperation<R>): Promise<LaneOutcome<R>> {
    const inUse = this.operationIdInUse(operation.operationId);
    if (inUse !== undefined) return Promise.resolve({ status: 'refused', error: inUse });
    const operationId = operation.operationId;
    this.#inFlight.add(operationId);
    const settled = (): void => {
      this.#inFlight.delete(operationId);
    };
    const head = { operation: operation.operation, operationClass: operation.operationClass };
    this.#events.append(
      'operation.queued',
      { ...head, position: this.#visibleQueued() + (this.#running !== null ? 1 : 0) },
      operation.operationId,
    );
    // The caller's signal removes the task only while it waits: p-queue gets a signal of its own that is
    // aborted only then, because once the task runs the operation decides at its safe points.
    const whileQueued = new AbortController();
    const running = new AbortController();
    let started = false;
    const onAbort = (): void => {
      if (started) {
        running.abort();
        return;
      }
      this.#events.append('operation.cancelled', { ...head, started: false }, operation.operationId);
      whileQueued.abort();
    };
    const signal = operation.signal;
    signal?.addEventListener('abort', onAbort, { once: true });
    const detach = (): void => signal?.removeEventListener('abort', onAbort);
    if (signal?.aborted) {
      detach();
      onAbort();
      settled();
      return Promise.resolve({ status: 'cancelledBeforeStart' });
    }
    const task = this.#queue.add(
      async (): Promise<LaneOutcome<R>> => {
        started = true;
        this.#running = operation;
        try {
          return await this.#run(operation, running.signal);
        } finally {
          this.#running = null;
          detach();
        }
      },
      { signal: whileQueued.signal },
    );
    return task.then(
      (outcome) => {
        settled();
        return outcome;
      },
      (): LaneOutcome<R> => {
        detach();
        settled();
        return { status: 'cancelledBeforeStart' };
      },
    );
  }

  /** Calls `listener` with the id of each running operation that passed its last checkpoint; returns the unsubscribe function. */
  onPastLastCheckpoint(listener: (operationId: string) => void): () => void {
    this.#checkpointListeners.add(listener);
    return () => this.#checkpointListeners.delete(listener);
  }

  /** Resolves once nothing runs and nothing waits. */
  whenIdle(): Promise<void> {
    return this.#queue.onIdle();
  }

  async #run<R>(operation: WriteOperation<R>, signal: AbortSignal): Promise<LaneOutcome<R>> {
    const head = { operation: operation.operation, operationClass: operation.operationClass };
    this.#events.append('operation.started', { ...head, baseRevision: this.#currentRevision() }, operation.operationId);
    const context: OperationContext = {
      operationId: operation.operationId,
      signal,
      progress: (done, total, unit, message) => {
        this.#events.append(
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
      claimWriter: () => this.#guard(),
      pastLastCheckpoint: () => {
        for (const listener of [...this.#checkpointListeners]) listener(operation.operationId);
      },
    };
    let outcome: OperationResult<R> | { readonly status: 'error'; readonly error: unknown };
    try {
      const refusal = operation.claimsWriterItself ? undefined : this.#guard();
      outcome =
        refusal !== undefined
          ? { status: 'failed', error: refusal }
          : await operation.run(context, this.#openScope(operation.operationId));
    } catch (error) {
      outcome = { status: 'error', error };
    }
    switch (outcome.status) {
      case 'succeeded':
        this.#events.append(
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
        this.#events.append(
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
        this.#events.append('operation.cancelled', { ...head, started: true }, operation.operationId);
        break;
      case 'error': {
        this.#events.append(
          'operation.failed',
          { ...head, outcome: {}, error: toWireError(outcome.error) },
          operation.operationId,
        );
        break;
      }
    }
    return outcome;
  }
}

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : { value };
}
