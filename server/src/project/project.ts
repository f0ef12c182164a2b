/**
 * One open project: its root, its current snapshot, its writer lane and its event log.
 */
import type { Snapshot } from '../domain/snapshot.js';
import { EventLog } from './event-log.js';
import { assetsDirOf, loadSnapshot } from './loader.js';
import { WriterLane } from './writer-lane.js';

/** Why a snapshot was published. */
export type PublishCause = 'open' | 'initWorkspace' | 'mutation' | 'reconcile' | 'recovery';

export class Project {
  readonly assetsDir: string;
  readonly events: EventLog;
  readonly lane: WriterLane;
  /**
   * Invariant: the newest published snapshot. Replaced only by {@link publish}, which the loader and
   * operations running inside the lane call; its revision only grows. Readers pin it by reading it once.
   */
  private current: Snapshot;
  /** Invariant: set when the project could not be loaded; reads other than status are refused. */
  private failure: string | undefined;

  constructor(
    readonly id: string,
    readonly rootPath: string,
    readonly rootUri: string,
    epoch: string,
    now: () => Date,
    initial: Snapshot,
  ) {
    this.assetsDir = assetsDirOf(rootPath);
    this.events = new EventLog(id, epoch, now);
    this.lane = new WriterLane(this.events, () => this.current.revision);
    this.current = initial;
  }

  /** Publishes the initial snapshot's event; called once by the host after it started listening. */
  announceOpen(): void {
    this.events.append('snapshot.published', { revision: this.current.revision, previousRevision: null, cause: 'open' });
  }

  /** The current snapshot. A caller that keeps the returned object keeps a consistent view. */
  snapshot(): Snapshot {
    return this.current;
  }

  /** Why the project failed, if it did. */
  failed(): string | undefined {
    return this.failure;
  }

  /**
   * Reloads the workspace into a new snapshot with the next revision and publishes it. Must only be
   * called from inside the writer lane, after the operation's files are durably written.
   */
  reload(cause: PublishCause, operationId?: string): Snapshot {
    let next: Snapshot;
    try {
      next = loadSnapshot(this.rootPath, this.current.revision + 1);
    } catch (error) {
      this.failure = `assets/ could not be read: ${(error as Error).message}`;
      throw error;
    }
    this.failure = undefined;
    const previous = this.current.revision;
    this.current = next;
    this.events.append('snapshot.published', { revision: next.revision, previousRevision: previous, cause }, operationId);
    return next;
  }
}
