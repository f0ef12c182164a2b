/**
 * One open project: its root, its current snapshot, its writer lane, its writer lock, its event log and
 * the previews it handed out.
 */
import { randomUUID } from 'node:crypto';
import { PackerErrorCodes } from '@prometeu/packer-protocol';
import type { Snapshot } from '../domain/snapshot.js';
import { serializeRegistry } from '../domain/registry.js';
import { executeEffect, type RecoveryReport, type StepHook } from '../mutations/execute.js';
import { touchedFolders, type MutationPlan } from '../mutations/plan.js';
import { EventLog } from './event-log.js';
import { assetsDirOf, loadSnapshot, readRegistryText, snapshotAfterCommit } from './loader.js';
import { PreviewStore } from './preview-store.js';
import { WriterLane } from './writer-lane.js';
import { WriterLock } from './writer-lock.js';

/** Why a snapshot was published. */
export type PublishCause = 'open' | 'initWorkspace' | 'mutation' | 'reconcile' | 'recovery';

export class Project {
  readonly assetsDir: string;
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
  /** What the last journal recovery did, for the status. */
  lastRecovery: RecoveryReport | null = null;
  /** Test hook for crash tests: called after each durable step of a commit. */
  stepHook: StepHook | undefined;

  constructor(
    readonly id: string,
    readonly rootPath: string,
    readonly rootUri: string,
    epoch: string,
    now: () => Date,
    initial: Snapshot,
    /** Makes a fresh asset_uuid; pinned in tests. */
    readonly newUuid: () => string = randomUUID,
  ) {
    this.assetsDir = assetsDirOf(rootPath);
    this.events = new EventLog(id, epoch, now);
    this.lock = new WriterLock(this.assetsDir);
    this.lane = new WriterLane(
      this.events,
      () => this.current.revision,
      () => this.claimWriter(),
    );
    this.current = initial;
    this.registryText = readRegistryText(this.assetsDir).text;
  }

  /** Publishes the initial snapshot's event; called once by the host after it started listening. */
  announceOpen(): void {
    const recovery = this.lastRecovery;
    this.events.append('snapshot.published', { revision: this.current.revision, previousRevision: null, cause: recovery ? 'recovery' : 'open' }, recovery?.operationId);
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
    const attempt = this.lock.acquire();
    if (attempt.ok) return undefined;
    return {
      code: PackerErrorCodes.WriterUnavailable,
      message: `Another packer process${attempt.holderPid !== undefined ? ` (pid ${attempt.holderPid})` : ''} holds the writer lock of this project (${attempt.lockPath}); this server serves reads only. Close the other one, or delete the lock if that process is gone.`,
      data: { projectId: this.id, ...(attempt.holderPid !== undefined ? { holderPid: attempt.holderPid } : {}), lockPath: attempt.lockPath },
    };
  }

  private publish(next: Snapshot, cause: PublishCause, operationId?: string): Snapshot {
    const previous = this.current.revision;
    this.current = next;
    this.events.append('snapshot.published', { revision: next.revision, previousRevision: previous, cause }, operationId);
    return next;
  }

  /**
   * Reloads the whole workspace into a new snapshot with the next revision and publishes it. Must only be
   * called from inside the writer lane, after the operation's files are durably written.
   */
  reload(cause: PublishCause, operationId?: string): Snapshot {
    let next: Snapshot;
    try {
      next = loadSnapshot(this.rootPath, this.current.revision + 1, this.current);
    } catch (error) {
      this.failure = `assets/ could not be read: ${(error as Error).message}`;
      throw error;
    }
    this.failure = undefined;
    this.registryText = readRegistryText(this.assetsDir).text;
    return this.publish(next, cause, operationId);
  }

  /**
   * Commits a plan durably (journaled when it touches several files), then publishes the next snapshot.
   * Must only be called from inside the writer lane. Throws `DiskChangedError` before touching anything
   * when the disk no longer matches the plan.
   */
  async commit(plan: MutationPlan, operationId: string): Promise<Snapshot> {
    const registryAfter = plan.effect.registry !== null ? serializeRegistry(plan.effect.registry) : null;
    await executeEffect(this.assetsDir, operationId, plan.effect.actions, this.registryText, registryAfter, this.stepHook);
    if (registryAfter !== null) this.registryText = registryAfter;
    const next = snapshotAfterCommit(this.current, this.assetsDir, plan.effect.registry, touchedFolders(plan.effect.actions));
    return this.publish(next, 'mutation', operationId);
  }

  /** Releases what the project holds in the workspace (the writer lock). */
  dispose(): void {
    this.lock.release();
  }
}
