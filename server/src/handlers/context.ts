/**
 * What handlers receive. Read handlers get a pinned snapshot and a read-only view of the project: they
 * cannot reach the writer lane. Write handlers build an operation that the transport runs in the lane.
 */
import type { ProjectStatus } from '@prometeu/packer-protocol';
import type { Snapshot } from '../domain/snapshot.js';
import type { PackerHost } from '../host.js';
import type { Project } from '../project/project.js';
import type { Replay } from '../project/event-log.js';
import type { StatusSource } from '../wire/convert.js';
import type { PreviewStore } from '../project/preview-store.js';
import type { WriteOperation } from '../project/writer-lane.js';

/** The parts of a project a read may see: what its status shows, and more. */
export interface ProjectReadView extends StatusSource {
  readonly assetsDir: string;
  readonly epoch: string;
  /** The previews of this project; a preview is remembered so an apply can name it. */
  readonly previews: PreviewStore;
  /** Makes a fresh asset_uuid (pinned in tests). */
  newUuid(): string;
  replay(afterSequence: number, options: { operationId?: string; limit?: number }): Replay;
}

/** The context of a read handler. */
export interface ReadContext {
  /** The snapshot the whole answer is computed from; pinned once when the request started. */
  readonly snapshot: Snapshot;
  readonly project: ProjectReadView;
  readonly signal: AbortSignal;
}

/** The context of handlers that manage projects (open, close) and of write preparation. */
export interface ServerContext {
  readonly host: PackerHost;
  readonly signal: AbortSignal;
  /** What this connection's `initialize` asked for projects it opens. */
  readonly defaults?: { autoReconcile?: boolean };
}

/** A write ready to be queued: the project whose lane runs it, and the operation. Preparing may open a project, so it is async. */
export interface PreparedWrite<R> {
  readonly project: Project;
  readonly operation: WriteOperation<R>;
  /** The `workDoneToken` the request carried, if any. */
  readonly workDoneToken?: string | number;
}

/** Makes the read view of a project, capturing its lane status now. */
export function readViewOf(project: Project): ProjectReadView {
  return {
    id: project.id,
    rootUri: project.rootUri,
    assetsDir: project.assetsDir,
    epoch: project.events.epoch,
    failure: project.failed(),
    lane: project.lane.status(),
    // A getter: only the status asks, and asking reads the lock file.
    get writer() {
      return project.lock.state();
    },
    lastRecovery: project.lastRecovery,
    get watching() {
      return watchingOf(project);
    },
    get divergence() {
      const divergence = project.watch.divergence();
      return {
        diverged: divergence.diverged,
        sinceRevision: divergence.sinceRevision,
        changes: divergence.changes.map((change) => ({ ...change })),
      };
    },
    previews: project.previews,
    newUuid: project.newUuid,
    replay: (afterSequence, options) => project.events.replay(afterSequence, options),
  };
}

function watchingOf(project: Project): ProjectStatus['watching'] {
  return {
    state: project.watch.state,
    backend: project.watch.backend,
    ...(project.watch.reason !== undefined ? { reason: project.watch.reason } : {}),
    autoReconcile: project.watch.settings.autoReconcile,
  };
}
