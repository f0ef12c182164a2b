/**
 * One open project: its root, its current snapshot, its writer lane, its writer lock, its event log and
 * the previews it handed out.
 */
import { randomUUID } from 'node:crypto';
import { PackerErrorCodes } from '@prometeu/packer-protocol';
import { ProjectFs } from '../io/project-fs.js';
import { SIZE_LIMITS } from '../io/size-limits.js';
import type { Snapshot } from '../domain/snapshot.js';
import { REGISTRY_PATH, serializeRegistry } from '../domain/registry.js';
import type { FileAction } from '../mutations/effects.js';
import {
  DiskChangedError,
  executeEffect,
  JOURNAL_PATH,
  recoverJournal,
  removeStaleTemporaryFiles,
  stampOf,
  type RecoveryReport,
  type StepHook,
  writeFailed,
} from '../mutations/execute.js';
import { touchedFolders, type MutationPlan } from '../mutations/plan.js';
import { EventLog } from './event-log.js';
import { assetsDirOf, loadSnapshot, readRegistryText, snapshotAfterCommit } from './loader.js';
import { PreviewStore } from './preview-store.js';
import { WriterLane } from './writer-lane.js';
import { WriterLock } from './writer-lock.js';
import { ProjectWatch, type WatchSettings } from '../watch/project-watch.js';
import type { WatcherFactory } from '../watch/watcher.js';

/** Why a snapshot was published. */
export type PublishCause = 'open' | 'initWorkspace' | 'mutation' | 'reconcile' | 'recovery';

export class Project {
  readonly assetsDir: string;
  /** The project's confined file system (the only way to its files), rooted at {@link rootPath}. */
  readonly fs: ProjectFs;
  /** {@link fs} seen from `assets/`. */
  readonly assetsFs: ProjectFs;
  readonly events: EventLog;
  readonly lane: WriterLane;
  readonly lock: WriterLock;
  readonly previews = new PreviewStore();
  /**
   * Invariant: the newest published snapshot. Replaced only by {@link publish}, which the loader and
   * operations running inside the lane call; its revision only grows. Readers pin it by reading it once.
   */
  private current: Snapshot;
  /** Invariant: set when the project could not be loaded; reads other than status are refused. */
  private failure: string | undefined;
  /** Invariant: the registry text the current snapshot was built from (or wrote), null when absent. */
  private registryText: string | null;
  /** Invariant: the stamp (inode, size, mtime) of index.json when {@link registryText} was read or written. */
  private registryStamp: string | undefined;
  /** What the last journal recovery did (on open, or before a write of this process), for the status. */
  lastRecovery: RecoveryReport | null = null;
  /** Test hook for crash tests: called after each durable step of a commit. */
  stepHook: StepHook | undefined;
  /** Watching, divergence and fingerprints. */
  readonly watch: ProjectWatch;
  /** Invariant: true while a reconcile this project scheduled itself waits in the lane. */
  private reconcileQueued = false;
  /** The watcher to start once `assets/` exists, for a project opened without it (set by the host). */
  deferredWatcher: WatcherFactory | null = null;
  /** Builds the reconcile operation (set by the host, which owns operation ids). */
  reconcileFactory: ((project: Project) => void) | undefined;

  constructor(
    readonly id: string,
    readonly rootPath: string,
    readonly rootUri: string,
    epoch: string,
    now: () => Date,
    initial: Snapshot,
    /** Makes a fresh asset_uuid; pinned in tests. */
    readonly newUuid: () => string = randomUUID,
    watchSettings: WatchSettings = { factory: null, settleMs: 150, verifyIntervalMs: 5000, autoReconcile: false },
  ) {
    this.assetsDir = assetsDirOf(rootPath);
    this.fs = ProjectFs.openRoot(rootPath);
    this.assetsFs = this.fs.at('assets');
    this.events = new EventLog(id, epoch, now);
    this.lock = new WriterLock(this.assetsFs);
    this.lane = new WriterLane(
      this.events,
      () => this.current.revision,
      () => this.claimWriter(),
    );
    this.current = initial;
    // A writer killed inside an atomic write of the registry or the journal left its temporary file in
    // the control folder (journal recovery cleans the other folders it wrote to). Only files of dead
    // processes go, and none while a live process (perhaps on another host) holds the writer lock.
    if (this.lock.state() !== 'heldByOther') removeStaleTemporaryFiles(this.assetsFs, '.prometeu');
    this.registryText = readRegistryText(this.assetsFs).text;
    this.registryStamp = undefined;
    this.watch = new ProjectWatch(
      {
        assetsDir: this.assetsDir,
        assetsFs: this.assetsFs,
        events: this.events,
        snapshot: () => this.current,
        registryText: () => this.registryText,
        whenLaneIdle: () => this.lane.whenIdle(),
        scheduleReconcile: () => this.scheduleReconcile(),
        canWriteControlData: () => this.lock.state() === 'owned',
      },
      watchSettings,
    );
  }

  /** Queues one reconcile unless one this project scheduled is already waiting. */
  private scheduleReconcile(): void {
    if (this.reconcileQueued || this.reconcileFactory === undefined) return;
    this.reconcileQueued = true;
    this.reconcileFactory(this);
  }

  /** Called by the reconcile operation when it starts, so the next divergence can schedule another. */
  reconcileStarted(): void {
    this.reconcileQueued = false;
  }

  /** Publishes the initial snapshot's event; called once by the host after it started listening. */
  announceOpen(): void {
    const recovery = this.lastRecovery;
    this.events.append(
      'snapshot.published',
      { revision: this.current.revision, previousRevision: null, cause: recovery ? 'recovery' : 'open' },
      recovery?.operationId,
    );
  }

  /** The current snapshot. A caller that keeps the returned object keeps a consistent view. */
  snapshot(): Snapshot {
    return this.current;
  }

  /** Why the project failed, if it did. */
  failed(): string | undefined {
    return this.failure;
  }

  /** Takes the writer lock for this process, or says who holds it. Called by the lane before every write. */
  private claimWriter(): { code: number; message: string; data: unknown } | undefined {
    let attempt;
    try {
      attempt = this.lock.acquire();
    } catch (error) {
      // The lock file cannot be created (a read-only or full disk): a write failure, with nothing changed.
      const failure = writeFailed(this.rootPath, error, 'writer-lock', 'assets/.prometeu/writer.lock', [], true);
      return { code: failure.code, message: failure.message, data: failure.data };
    }
    if (attempt.ok) return undefined;
    return {
      code: PackerErrorCodes.WriterUnavailable,
      message: `Another packer process${attempt.holderPid !== undefined ? ` (pid ${attempt.holderPid})` : ''} holds the writer lock of this project (${attempt.lockPath}); this server serves reads only. Close the other one, or delete the lock if that process is gone.`,
      data: {
        projectId: this.id,
        ...(attempt.holderPid !== undefined ? { holderPid: attempt.holderPid } : {}),
        lockPath: attempt.lockPath,
      },
    };
  }

  private publish(next: Snapshot, cause: PublishCause, operationId?: string): Snapshot {
    const previous = this.current.revision;
    this.current = next;
    this.events.append(
      'snapshot.published',
      { revision: next.revision, previousRevision: previous, cause },
      operationId,
    );
    return next;
  }

  /**
   * Reloads the whole workspace into a new snapshot with the next revision and publishes it. Must only be
   * called from inside the writer lane, after the operation's files are durably written.
   */
  reload(cause: PublishCause, operationId?: string): Snapshot {
    let next: Snapshot;
    try {
      next = loadSnapshot(this.fs, this.current.revision + 1, this.current);
    } catch (error) {
      this.failure = `assets/ could not be read: ${(error as Error).message}`;
      throw error;
    }
    this.failure = undefined;
    this.registryText = readRegistryText(this.assetsFs).text;
    this.registryStamp = undefined;
    return this.publish(next, cause, operationId);
  }

  /**
   * Commits a plan durably (journaled when it touches several files), then publishes the next snapshot.
   * Must only be called from inside the writer lane. Throws `DiskChangedError` before touching anything
   * when the disk no longer matches the plan.
   */
  async commit(plan: MutationPlan, operationId: string): Promise<Snapshot> {
    const recovered = await this.recoverInterruptedWrite(operationId);
    if (recovered !== null) {
      throw new DiskChangedError(
        JOURNAL_PATH,
        `A write that a stopped packer process left unfinished (${recovered.operationId}) was ${recovered.outcome === 'completed' ? 'completed' : 'rolled back'} first, so this mutation was planned against an outdated snapshot.`,
      );
    }
    const registryAfter = plan.effect.registry !== null ? serializeRegistry(plan.effect.registry) : null;
    await executeEffect(
      this.assetsFs,
      operationId,
      plan.effect.actions,
      this.registryText,
      registryAfter,
      this.stepHook,
      this.registryStamp,
    );
    if (registryAfter !== null) {
      this.registryText = registryAfter;
      this.registryStamp = stampOf(this.assetsFs, REGISTRY_PATH) ?? undefined;
    }
    const folders = touchedFolders(plan.effect.actions);
    const next = snapshotAfterCommit(this.current, this.assetsFs, plan.effect.registry, folders);
    this.publish(next, 'mutation', operationId);
    this.watch.afterCommit(folders);
    return next;
  }

  /** Whether a journal of an interrupted write is on disk (a reconcile needs the lock only then). */
  hasInterruptedWrite(): boolean {
    return this.assetsFs.exists(JOURNAL_PATH);
  }

  /**
   * Finishes or undoes a write left in the journal by a writer that stopped mid-commit (another process
   * whose stale lock this one took over, or this one after an I/O error), then publishes the recovered
   * disk as a new snapshot (cause `recovery`, attributed to `operationId`) and records the report in
   * {@link lastRecovery}. Returns null when there is no journal. Must only be called from inside the
   * writer lane, with the writer lock held: a live writer's journal is never touched. A write must run
   * this before it writes anything, because writing over the journal would lose the interrupted write,
   * and rolling it forward later would overwrite the registry that this write committed.
   */
  async recoverInterruptedWrite(operationId: string): Promise<RecoveryReport | null> {
    if (!this.assetsFs.exists(JOURNAL_PATH)) return null;
    let folders: string[] = [];
    try {
      folders = touchedFolders(
        (JSON.parse(this.assetsFs.readText(JOURNAL_PATH, SIZE_LIMITS.journal)) as { actions: FileAction[] }).actions,
      );
    } catch {
      // An unreadable journal never started its actions; recovery discards it.
    }
    const report = await recoverJournal(this.assetsFs);
    if (report === null) return null;
    this.lastRecovery = report;
    this.reload('recovery', operationId);
    this.watch.afterCommit(folders);
    return report;
  }

  /** Stops watching and releases what the project holds in the workspace (the writer lock). */
  dispose(): void {
    void this.watch.dispose();
    this.lock.release();
  }
}
