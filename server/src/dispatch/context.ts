/**
 * What handlers receive. Read handlers get a pinned snapshot and a read view of the project with nothing
 * mutable in it: they cannot reach the writer lane. Write preparations build an operation and hand the
 * transport only a way to submit it into its project's lane and to follow that project's events.
 */
import type { PackerEvent, ProjectStatus } from '@prometeu/packer-protocol';
import type { Snapshot } from '../domain/snapshot.js';
import type { Allocations, MutationPlan } from '../mutations/plan.js';
import type { Replay } from '../project/event-log.js';
import type { Project } from '../project/project.js';
import type { LaneOutcome, WriteOperation } from '../project/writer-lane.js';
import { PackerError } from '../errors.js';
import { toDivergenceSummary, type StatusSource } from '../wire/convert.js';

/** The parts of a project a read may see: what its status shows, and more. Nothing in it changes the project. */
export interface ProjectReadView extends StatusSource {
  readonly assetsDir: string;
  readonly epoch: string;
  /** Keeps a preview's plan so an apply can name it; returns its `previewId`. */
  rememberPreview(plan: MutationPlan, allocations: Allocations): string;
  /** Makes a fresh asset_uuid (pinned in tests). */
  newUuid(): string;
  /** The current time, ISO 8601 (pinned in tests). */
  now(): string;
  replay(afterSequence: number, options: { operationId?: string; limit?: number }): Replay;
}

/** The context of a read handler. */
export interface ReadContext {
  /** The snapshot the whole answer is computed from; pinned once when the request started. */
  readonly snapshot: Snapshot;
  readonly project: ProjectReadView;
  readonly signal: AbortSignal;
}

/**
 * What handlers that manage projects and prepare writes need of the host: the `PackerHost` provides it.
 * Declared here, not imported, so that the host can build the writes it schedules itself (auto-reconcile)
 * without an import cycle.
 */
export interface ProjectDirectory {
  /** Opens the project at `rootUri`, or returns it when already open. */
  open(rootUri: string, options?: { allowMissingAssets?: boolean; autoReconcile?: boolean }): Promise<Project>;
  /** The open project with this id, or an `UnknownProject` error. */
  get(projectId: string): Project;
  /** Closes a project once its lane is idle. */
  close(projectId: string): Promise<void>;
  /** A new operation id for a write the client did not name. */
  nextOperationId(): string;
}

/** The context of handlers that manage projects (open, close) and of write preparation. */
export interface ServerContext {
  readonly host: ProjectDirectory;
  readonly signal: AbortSignal;
  /** Whether the request was cancelled: what `signal.aborted` says, without making a signal not made yet. */
  cancelled(): boolean;
  /** What this connection's `initialize` asked for projects it opens. */
  readonly defaults?: { autoReconcile?: boolean };
}

/** What the transport may do with a project's lane: submit an operation, follow the project's events. */
export interface LaneAccess {
  /** Queues `operation` in the project's writer lane; resolves with its outcome. Never rejects. */
  submit<R>(operation: WriteOperation<R>): Promise<LaneOutcome<R>>;
  /** Follows the project's events; returns the unsubscribe function. */
  subscribe(listener: (event: PackerEvent) => void): () => void;
  /** Calls `listener` with the id of each running operation that passed its last checkpoint. */
  onPastLastCheckpoint(listener: (operationId: string) => void): () => void;
}

/** A write ready to be queued: the lane that runs it, and the operation. */
export interface PreparedWrite<R> {
  readonly lane: LaneAccess;
  readonly operation: WriteOperation<R>;
  /** The `workDoneToken` the request carried, if any. */
  readonly workDoneToken?: string | number;
}

/** What every write request may carry besides its own params. */
interface WriteParams {
  readonly operationId?: string | undefined;
  readonly workDoneToken?: string | number | undefined;
}

/**
 * Prepares a write on `project`: picks the operation id (the client's, or a new one) and keeps the progress
 * token. A client-chosen id already used in the project is refused here with `OperationIdInUse`, before
 * anything is queued (the lane refuses it again, should one arrive between here and the queue).
 */
export function prepareWrite<R>(
  context: ServerContext,
  project: Project,
  params: WriteParams,
  build: (operationId: string) => WriteOperation<R>,
): PreparedWrite<R> {
  if (params.operationId !== undefined) {
    const inUse = project.lane.operationIdInUse(params.operationId);
    if (inUse !== undefined) throw new PackerError(inUse.code, inUse.message, inUse.data);
  }
  const operation = build(params.operationId ?? context.host.nextOperationId());
  const lane: LaneAccess = {
    submit: (submitted) => project.lane.enqueue(submitted),
    subscribe: (listener) => project.events.subscribe(listener),
    onPastLastCheckpoint: (listener) => project.lane.onPastLastCheckpoint(listener),
  };
  return { lane, operation, ...(params.workDoneToken !== undefined ? { workDoneToken: params.workDoneToken } : {}) };
}

/** The read view of each project, made once: every field that can change is a getter. */
const readViews = new WeakMap<Project, ProjectReadView>();

/**
 * The read view of a project. It is made once per project and reused by every read: each field that can
 * change (failure, loading, lane, writer, recovery, watching, divergence, epoch) is a getter, read when a
 * handler asks for it, and every handler that shows them reads them synchronously, in one turn, as the
 * answer is built. A read pays nothing for the fields it does not show (the writer field reads the lock file).
 */
export function readViewOf(project: Project): ProjectReadView {
  let view = readViews.get(project);
  if (view === undefined) {
    view = {
      id: project.id,
      rootUri: project.rootUri,
      assetsDir: project.assetsDir,
      get epoch() {
        return project.events.epoch;
      },
      get failure() {
        return project.failed();
      },
      get loading() {
        return project.loading;
      },
      get lane() {
        return project.lane.status();
      },
      get writer() {
        return project.lock.state();
      },
      get lastRecovery() {
        return project.lastRecovery;
      },
      get watching() {
        return watchingOf(project);
      },
      get divergence() {
        return toDivergenceSummary(project.watch.divergence());
      },
      rememberPreview: (plan, allocations) => project.rememberPreview(plan, allocations).previewId,
      newUuid: () => project.newUuid(),
      now: () => project.now().toISOString(),
      replay: (afterSequence, options) => project.events.replay(afterSequence, options),
    };
    readViews.set(project, view);
  }
  return view;
}

function watchingOf(project: Project): ProjectStatus['watching'] {
  return {
    state: project.watch.state,
    backend: project.watch.backend,
    ...(project.watch.reason !== undefined ? { reason: project.watch.reason } : {}),
    autoReconcile: project.watch.settings.autoReconcile,
  };
}
