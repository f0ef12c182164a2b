/**
 * One open project: its root, its current snapshot, its writer lane, its writer lock, its event log and
 * the previews it handed out. Built from one options object; it exposes getters and reads only: every change
 * goes through the write scope its lane hands to the running operation.
 */
import { randomUUID } from 'node:crypto';
import { PackerErrorCodes } from '@prometeu/packer-protocol';
import { ProjectFs } from '../io/project-fs.js';
import { SIZE_LIMITS } from '../io/size-limits.js';
import { buildSnapshot, type Snapshot } from '../domain/snapshot.js';
import { checkRegistry, emptyRegistry, parseRegistry } from '../domain/registry.js';
import type { ProjectState } from '@prometeu/packer-protocol';
import { REGISTRY_PATH } from '../domain/registry.js';
import type { FileAction } from '../mutations/effects.js';
import {
  DiskChangedError,
  executeEffect,
  serializeCommittedRegistry,
  JOURNAL_PATH,
  recoverJournal,
  registryTextOf,
  type RegistryContent,
  removeStaleTemporaryFiles,
  stampOf,
  type RecoveryReport,
  type StepHook,
  writeFailed,
} from '../mutations/execute.js';
import { touchedFolders, type Allocations, type MutationPlan } from '../mutations/plan.js';
import { diffDiagnostics, diffPublishedAssets } from '../domain/snapshot-diff.js';
import { afterAnswer } from './after-answer.js';
import { EventLog } from './event-log.js';
import { assetsDirOf, loadQuarantine, noteCrawlTime, readRegistryText, snapshotAfterCommit } from './loader.js';
import { reloadedSnapshot } from './reload.js';
import { crawlForReloadInBackground } from '../watch/crawl-worker.js';
import { PreviewStore, type StoredPreview } from './preview-store.js';
import { WriterLane, type PublishCause, type WriteScope } from './writer-lane.js';
import { WriterLock } from './writer-lock.js';
import { ProjectWatch, type WatchSettings } from '../watch/project-watch.js';
import type { WatcherFactory } from '../watch/watcher.js';
import { carriedFormatResults, ProjectValidation } from '../validation/project-validation.js';
import { ANCHOR_FILE } from '../domain/crawl.js';
import { isWithin, joinAssetsPath } from '../domain/paths.js';
import { inBuildSet } from '../domain/snapshot.js';
import { yieldToClients } from '../io/turns.js';

export type { PublishCause } from './writer-lane.js';

/** Everything a project is built from; the host passes it once. */
export interface ProjectOptions {
  readonly id: string;
  /** The canonical folder path of the project root. */
  readonly rootPath: string;
  /** The canonical `file:` URI of the root. */
  readonly rootUri: string;
  readonly epoch: string;
  readonly now: () => Date;
  /**
   * The snapshot of revision 1. Absent for a project that is `loading`: the host builds that snapshot after
   * registering the project and hands it over with {@link Project.completeLoad}.
   */
  readonly initial?: Snapshot;
  /** For a loading project: whether `assets/.prometeu/index.json` exists (what its status says meanwhile). */
  readonly workspaceInitialized?: boolean;
  /** Makes a fresh asset_uuid; pinned in tests. */
  readonly newUuid?: () => string;
  readonly watch?: WatchSettings;
  /** What the journal recovery at open did, if it ran. */
  readonly lastRecovery?: RecoveryReport | null;
  /** The watcher to start once `assets/` exists, for a project opened without it. */
  readonly deferredWatcher?: WatcherFactory | null;
  /** Queues a reconcile of this project in its lane (the host owns operation ids). */
  readonly scheduleReconcile?: (project: Project) => void;
  /** Test hook for crash tests: called after each durable step of a commit. */
  readonly stepHook?: StepHook;
  /** See {@link Project.prepareAnswer}; absent, answers are serialised when sent. */
  readonly prepareAnswer?: (answer: object) => Promise<void>;
  /** Test hook: runs before each format validation round reads the disk. */
  readonly beforeValidationRound?: () => void | Promise<void>;
}

export class Project {
  readonly #id: string;
  readonly #rootPath: string;
  readonly #rootUri: string;
  readonly #assetsDir: string;
  /** The project's confined file system (the only way to its files), rooted at the project root. */
  readonly #fs: ProjectFs;
  /** {@link #fs} seen from `assets/`. */
  readonly #assetsFs: ProjectFs;
  readonly #events: EventLog;
  readonly #lane: WriterLane;
  readonly #lock: WriterLock;
  readonly #watch: ProjectWatch;
  readonly #newUuid: () => string;
  readonly #now: () => Date;
  readonly #previews = new PreviewStore();
  readonly #stepHook: StepHook | undefined;
  readonly #prepareAnswer: ((answer: object) => Promise<void>) | undefined;
  readonly #deferredWatcher: WatcherFactory | null;
  readonly #scheduleReconcile: ((project: Project) => void) | undefined;
  /**
   * Invariant: the newest published snapshot. Replaced only by {@link #publish}, which runs only inside
   * the lane (through a {@link WriteScope}); its revision only grows. Readers pin it by reading it once.
   */
  #current: Snapshot;
  /** Invariant: set when the project could not be loaded; reads other than status are refused. */
  #failure: string | undefined;
  /**
   * Invariant: the registry content the current snapshot was built from (the text read) or that its commit
   * wrote (the canonical bytes, decoded only when asked for), null when absent.
   */
  #registryText: RegistryContent | null;
  /** Invariant: the stamp (inode, size, mtime) of index.json when {@link #registryText} was read or written. */
  #registryStamp: string | undefined;
  /** Invariant: what the last journal recovery did (on open, or before a write of this process), for the status. */
  #lastRecovery: RecoveryReport | null;
  /** Invariant: true while a reconcile this project scheduled itself waits in the lane. */
  #reconcileQueued = false;
  /** Format validation of the snapshots; its results are published from inside the lane (cause `validation`). */
  readonly #validation: ProjectValidation;
  /**
   * Invariant: true from construction without an initial snapshot until {@link completeLoad} or
   * {@link failLoad}; meanwhile {@link #current} is the empty snapshot of revision 0 and the lane holds every
   * write behind the load.
   */
  #loading: boolean;
  /** Resolves when the load ends (the first snapshot is published, or the load failed). */
  readonly #loaded: Promise<void>;
  #markLoaded: () => void = () => undefined;

  constructor(options: ProjectOptions) {
    this.#id = options.id;
    this.#rootPath = options.rootPath;
    this.#rootUri = options.rootUri;
    this.#newUuid = options.newUuid ?? randomUUID;
    this.#now = options.now;
    this.#stepHook = options.stepHook;
    this.#prepareAnswer = options.prepareAnswer;
    this.#deferredWatcher = options.deferredWatcher ?? null;
    this.#scheduleReconcile = options.scheduleReconcile;
    this.#lastRecovery = options.lastRecovery ?? null;
    this.#assetsDir = assetsDirOf(options.rootPath);
    this.#fs = ProjectFs.openRoot(options.rootPath);
    this.#assetsFs = this.#fs.at('assets');
    this.#events = new EventLog(options.id, options.epoch, options.now);
    this.#lock = new WriterLock(this.#assetsFs);
    this.#lane = new WriterLane({
      projectId: options.id,
      events: this.#events,
      currentRevision: () => this.#current.revision,
      guard: () => this.#claimWriter(),
      openScope: (operationId) => this.#scopeFor(operationId),
    });
    this.#loading = options.initial === undefined;
    this.#loaded = this.#loading ? new Promise<void>((resolve) => (this.#markLoaded = resolve)) : Promise.resolve();
    // Before the first snapshot: revision 0, nothing counted, and whether the registry file exists.
    this.#current = options.initial ?? {
      ...buildSnapshot(0, { anchors: [], files: [], symlinks: [], problems: [] }, checkRegistry(emptyRegistry())),
      workspaceInitialized: options.workspaceInitialized ?? false,
      registry: null,
    };
    // Writes wait behind the load: the lane starts nothing before the first snapshot.
    if (this.#loading) void this.#lane.runInternal(() => this.#loaded);
    this.#validation = new ProjectValidation({
      assetsDir: this.#assetsDir,
      snapshot: () => this.#current,
      inLane: (task) => this.#lane.runInternal(task),
      publish: (next, operationId) => void this.#publish(next, 'validation', operationId),
      inputsChanged: (paths) => this.#inputsChangedUnderSnapshot(paths),
      ...(options.beforeValidationRound !== undefined ? { beforeRound: options.beforeValidationRound } : {}),
    });
    this.#registryText = null;
    this.#registryStamp = undefined;
    if (!this.#loading) this.#settleControlData();
    this.#watch = new ProjectWatch(
      {
        assetsDir: this.#assetsDir,
        assetsFs: this.#assetsFs,
        events: this.#events,
        snapshot: () => this.#current,
        registryText: () => registryTextOf(this.#registryText),
        whenLaneIdle: () => this.#lane.whenIdle(),
        scheduleReconcile: () => this.#queueReconcile(),
        canWriteControlData: () => this.#lock.state() === 'owned',
      },
      options.watch ?? { factory: null, settleMs: 150, verifyIntervalMs: 5000, autoReconcile: false },
    );
  }

  /** The project handle clients name it by. */
  get id(): string {
    return this.#id;
  }
  /** The canonical folder path of the root. */
  get rootPath(): string {
    return this.#rootPath;
  }
  /** The canonical `file:` URI of the root. */
  get rootUri(): string {
    return this.#rootUri;
  }
  /** The project's `assets/` folder. */
  get assetsDir(): string {
    return this.#assetsDir;
  }
  /** The project's event log: its sequence, its replay and its subscribers. */
  get events(): EventLog {
    return this.#events;
  }
  /** The project's single writer lane: the only way in for a write. */
  get lane(): WriterLane {
    return this.#lane;
  }
  /** The writer lock of the workspace. */
  get lock(): WriterLock {
    return this.#lock;
  }
  /** Watching, divergence and fingerprints. */
  get watch(): ProjectWatch {
    return this.#watch;
  }
  /** Makes a fresh asset_uuid (pinned in tests). */
  get newUuid(): () => string {
    return this.#newUuid;
  }
  /** The host's clock (pinned in tests). */
  get now(): () => Date {
    return this.#now;
  }
  /** What the last journal recovery did (on open, or before a write of this process), for the status. */
  get lastRecovery(): RecoveryReport | null {
    return this.#lastRecovery;
  }

  /** Keeps a preview's plan so an apply can name it by `previewId`. */
  rememberPreview(plan: MutationPlan, allocations: Allocations): StoredPreview {
    return this.#previews.remember(plan, allocations);
  }

  /** The preview with this id, if still kept. */
  preview(previewId: string): StoredPreview | undefined {
    return this.#previews.get(previewId);
  }

  /** The write scope of the operation the lane is starting; handed only to the lane. */
  #scopeFor(operationId: string): WriteScope {
    return {
      operationId,
      commit: (plan) => this.#commit(plan, operationId),
      validatedSnapshot: () => this.#validation.validatedSnapshot(operationId),
      reload: (cause) => this.#reload(cause, operationId),
      recoverInterruptedWrite: () => this.#recoverInterruptedWrite(operationId),
      startDeferredWatching: () => this.#watch.enable(this.#deferredWatcher),
      reconcileStarted: () => {
        this.#reconcileQueued = false;
      },
    };
  }

  /** Queues one reconcile unless one this project scheduled is already waiting. */
  #queueReconcile(): void {
    if (this.#reconcileQueued || this.#scheduleReconcile === undefined) return;
    this.#reconcileQueued = true;
    this.#scheduleReconcile(this);
  }

  /**
   * Cleans the control folder and reads the registry text the first snapshot was built from: when the
   * project is built with its snapshot, or when its load completes (after the journal recovery).
   */
  #settleControlData(): void {
    // A writer killed inside an atomic write of the registry or the journal left its temporary file in
    // the control folder (journal recovery cleans the other folders it wrote to). Only files of dead
    // processes go, and none while a live process (perhaps on another host) holds the writer lock.
    if (this.#lock.state() !== 'heldByOther') removeStaleTemporaryFiles(this.#assetsFs, '.prometeu');
    this.#registryText = readRegistryText(this.#assetsFs).text;
  }

  /** Whether the project is `loading`: its first snapshot is not built yet. */
  get loading(): boolean {
    return this.#loading;
  }

  /** Resolves once the load has ended: the first snapshot is published, or the load failed. */
  whenLoaded(): Promise<void> {
    return this.#loaded;
  }

  /** The state the status shows now. */
  #state(): ProjectState {
    if (this.#loading) return 'loading';
    if (this.#failure !== undefined) return 'failed';
    return this.#watch.divergence().diverged ? 'diverged' : 'ready';
  }

  /**
   * Runs `change` and emits `project.stateChanged` when it moved the project into or out of `loading` or
   * `failed` (the divergence states are told by `divergence.detected` and by a reconcile's publication).
   */
  #transition(change: () => void): void {
    const previousState = this.#state();
    change();
    const state = this.#state();
    if (state !== previousState) this.#emitState(state, previousState);
  }

  #emitState(state: ProjectState, previousState: ProjectState | null): void {
    this.#events.append('project.stateChanged', {
      state,
      previousState,
      revision: this.#current.revision,
      ...(this.#failure !== undefined ? { failure: this.#failure } : {}),
    });
  }

  /** Says the project is `loading`; called once by the host, after it started listening, for a project built without a snapshot. */
  announceLoading(): void {
    if (this.#loading) this.#emitState('loading', null);
  }

  /**
   * Ends the load with its first snapshot (and what the journal recovery before it did): publishes it, says
   * the state that follows `loading`, starts validating and lets the lane run. Called once by the host.
   */
  completeLoad(initial: Snapshot, lastRecovery: RecoveryReport | null): void {
    if (!this.#loading) throw new Error(`Project ${this.#id} is not loading.`);
    this.#current = initial;
    this.#lastRecovery = lastRecovery;
    this.#settleControlData();
    this.#loading = false;
    this.announceOpen();
    this.#emitState(this.#state(), 'loading');
    this.#markLoaded();
  }

  /** Ends a load that failed: says the project `failed` (the host forgets it) and releases what waits for it. */
  failLoad(reason: string): void {
    if (!this.#loading) return;
    this.#transition(() => {
      this.#loading = false;
      this.#failure = reason;
    });
    this.#markLoaded();
  }

  /** Publishes the initial snapshot's event; called once by the host after it started listening. */
  announceOpen(): void {
    const recovery = this.#lastRecovery;
    this.#events.append(
      'snapshot.published',
      { revision: this.#current.revision, previousRevision: null, cause: recovery ? 'recovery' : 'open' },
      recovery?.operationId,
    );
    // After the answer to the open: the round's first step (finding the jobs and handing them to the worker)
    // is synchronous and costs about as much as the join, so it waits until the answer has left the process
    // (`afterAnswer`); `validationSettled` schedules at once when it is asked first.
    afterAnswer(() => this.#validation.schedule());
  }

  /**
   * Resolves once the project is loaded and the format checks of the current snapshot are published (tests
   * and one-shot tools wait on it).
   */
  async validationSettled(): Promise<void> {
    await this.#loaded;
    return this.#validation.settled();
  }

  /** The project's confined file system, rooted at the project root: the only way to its files. */
  get fs(): ProjectFs {
    return this.#fs;
  }

  /** {@link fs} seen from `assets/`. */
  get assetsFs(): ProjectFs {
    return this.#assetsFs;
  }

  /** The current snapshot. A caller that keeps the returned object keeps a consistent view. */
  snapshot(): Snapshot {
    return this.#current;
  }

  /** Why the project failed, if it did. */
  failed(): string | undefined {
    return this.#failure;
  }

  /** Takes the writer lock for this process, or says who holds it. Called by the lane before every write. */
  #claimWriter(): { code: number; message: string; data: unknown } | undefined {
    let attempt;
    try {
      attempt = this.#lock.acquire();
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
        projectId: this.#id,
        ...(attempt.holderPid !== undefined ? { holderPid: attempt.holderPid } : {}),
        lockPath: attempt.lockPath,
      },
    };
  }

  /**
   * Makes `next` the current snapshot and says so: `snapshot.published` with the assets it changed, then
   * `diagnostics.changed` when any asset's diagnostics differ, both attributed to the operation; then starts the
   * format validation of what is pending: at once, once the answer being sent has left (`afterAnswer`), or once
   * the write operation holding the lane has ended (`afterOperation`).
   */
  #publish(
    next: Snapshot,
    cause: PublishCause,
    operationId?: string,
    validate: 'now' | 'afterAnswer' | 'afterOperation' = 'now',
  ): Snapshot {
    const previous = this.#current;
    this.#current = next;
    const diff = diffPublishedAssets(previous, next);
    const entry = (asset: { root: string; assetUuid: string | null; assetId?: number }) => ({
      root: asset.root,
      ...(asset.assetUuid !== null ? { assetUuid: asset.assetUuid } : {}),
      ...(asset.assetId !== undefined ? { assetId: asset.assetId } : {}),
    });
    this.#events.append(
      'snapshot.published',
      {
        revision: next.revision,
        previousRevision: previous.revision,
        cause,
        assets: {
          added: diff.added.map(entry),
          removed: diff.removed.map(entry),
          changed: diff.changed.map(entry),
          moved: diff.moved,
        },
      },
      operationId,
    );
    const diagnostics = diffDiagnostics(previous, next);
    if (diagnostics !== null)
      this.#events.append(
        'diagnostics.changed',
        { revision: next.revision, previousRevision: previous.revision, ...diagnostics },
        operationId,
      );
    // A commit's round (finding the pending records, handing their jobs to the worker, its own publish in the
    // lane) is no part of the commit: it starts once the commit's answer has left the process, as the open's does.
    if (validate === 'afterAnswer') afterAnswer(() => this.#validation.schedule());
    else if (validate === 'afterOperation')
      void this.#lane.runInternal(() => this.#validation.schedule()).catch(() => undefined);
    else this.#validation.schedule();
    return next;
  }

  /**
   * Reloads the whole workspace into a new snapshot with the next revision and publishes it. Reached only
   * through a {@link WriteScope}, after the operation's files are durably written.
   */
  async #reload(cause: PublishCause, operationId?: string): Promise<Snapshot> {
    let next: Snapshot;
    let registryText: string | null;
    try {
      const previous = this.#current;
      // Crawled off the main thread, each file's stamp taken in the same walk, so reads go on from the current
      // snapshot meanwhile. The lane is held throughout, so nothing else publishes before this snapshot does.
      // Taken before the crawl: whatever it lists was last changed before this instant, or is distrusted.
      const at = Date.now();
      const { crawl, stamps } = await crawlForReloadInBackground(this.#assetsFs, previous.crawl.files.length);
      noteCrawlTime(crawl, at);
      // The inputs' content may have changed on disk: only results whose inputs are unchanged are kept.
      const carried = await carriedFormatResults(previous, this.#assetsFs, stamps);
      // The registry as it is now: when it is the very text the current snapshot was built from, that
      // snapshot's parse stands for it, and the new one is patched where the crawl found changes.
      const registry = readRegistryText(this.#assetsFs);
      registryText = registry.text;
      const unchanged = registry.text !== null && registry.text === registryTextOf(this.#registryText);
      next = await reloadedSnapshot(
        previous.revision + 1,
        previous,
        crawl,
        loadQuarantine(this.#assetsFs),
        unchanged ? null : parseRegistry(registry.text, registry.readError),
        carried,
      );
    } catch (error) {
      this.#transition(() => (this.#failure = `assets/ could not be read: ${(error as Error).message}`));
      throw error;
    }
    this.#registryText = registryText;
    this.#registryStamp = undefined;
    let published = next;
    // A reload that succeeds ends a `failed` state. Its validation round starts once the operation that reloads
    // (a reconcile, a recovery) has ended, so that the round's publish always follows the operation's answer:
    // started here, it raced the rest of the operation (a reconcile's fingerprints and their save), and which
    // of the two the client heard first depended on the machine's load.
    this.#transition(() => {
      this.#failure = undefined;
      published = this.#publish(next, cause, operationId, 'afterOperation');
    });
    return published;
  }

  /**
   * Commits a plan durably (journaled when it touches several files), then publishes the next snapshot.
   * Reached only through a {@link WriteScope}. Throws `DiskChangedError` before touching anything
   * when the disk no longer matches the plan.
   */
  async #commit(plan: MutationPlan, operationId: string): Promise<Snapshot> {
    const recovered = await this.#recoverInterruptedWrite(operationId);
    if (recovered !== null) {
      throw new DiskChangedError(
        JOURNAL_PATH,
        `A write that a stopped packer process left unfinished (${recovered.operationId}) was ${recovered.outcome === 'completed' ? 'completed' : 'rolled back'} first, so this mutation was planned against an outdated snapshot.`,
      );
    }
    const registryAfter = plan.effect.registry !== null ? await serializeCommittedRegistry(plan.effect.registry) : null;
    // Logged before the first write: a kill between the commit's last write and `afterCommit` below must not make
    // the next run report this commit as a change made while no packer ran.
    this.#watch.beforeCommit(plan.effect.actions);
    await executeEffect(
      this.#assetsFs,
      operationId,
      plan.effect.actions,
      this.#registryText,
      registryAfter,
      this.#stepHook,
      this.#registryStamp,
      { before: this.#current.registry, after: plan.effect.registry },
    );
    if (registryAfter !== null) {
      this.#registryText = registryAfter;
      this.#registryStamp = stampOf(this.#assetsFs, REGISTRY_PATH) ?? undefined;
    }
    const folders = touchedFolders(plan.effect.actions);
    const next = snapshotAfterCommit(this.#current, this.#assetsFs, plan.effect.registry, folders);
    // A turn of the event loop after the re-crawl and the patch answers the reads that wait. The lane is held
    // throughout, so nothing else publishes meanwhile, and the watcher classifies only once the lane is idle,
    // after the fingerprints. The publish and the fingerprints of the touched files (a few stats and one
    // append, found by search, not a walk) then run in one task, so that the published event leaves with the
    // operation's terminal event and its answer in one write to the client: each write of its own woke the
    // client once more before the answer (about 0.4 ms of a rename at 10k on this machine).
    await yieldToClients();
    this.#publish(next, 'mutation', operationId, 'afterAnswer');
    this.#watch.afterCommit(folders);
    return next;
  }

  /**
   * Validation found these inputs changed after the crawl that listed them: the snapshot never saw their
   * bytes. They are divergence like any change behind the packer's back (reported, and cleared only by a
   * reconcile), and their fingerprints prove nothing any more, so the watcher reports them as changed too.
   */
  #inputsChangedUnderSnapshot(paths: readonly string[]): void {
    for (const path of paths) this.#watch.fingerprints.delete(path);
    this.#watch.tracker.apply(new Map(paths.map((path) => [path, { path, change: 'changed' as const }])), false);
  }

  /**
   * The divergent paths the project reports on what a pack of `snapshot` would read: the `asset.json` and the
   * inputs of every asset in the build set, and the inputs validation found changed under the snapshot.
   * A pack refuses them all (`diverged`), even where the bytes still hash as validated. Sorted.
   */
  divergedInputs(snapshot: Snapshot): string[] {
    const stalled = this.#validation.changedInputs(snapshot);
    const changes = this.#watch.divergence().changes;
    // Nothing changed: no set of every path the pack reads to build (it held a pack's start for milliseconds).
    if (stalled.length === 0 && changes.length === 0) return [];
    const read = new Set<string>();
    for (const record of snapshot.assets) {
      if (!inBuildSet(record)) continue;
      read.add(joinAssetsPath(record.root, ANCHOR_FILE));
      for (const input of record.inputs) if (input.assetsPath !== null) read.add(input.assetsPath);
    }
    const paths = new Set(stalled.filter((path) => read.has(path)));
    for (const change of changes) {
      const changed = change.from !== undefined ? [change.path, change.from] : [change.path];
      if (
        changed.some((path) => read.has(path) || [...read].some((file) => isWithin(path, file) || isWithin(file, path)))
      )
        paths.add(change.path);
    }
    return [...paths].sort();
  }

  /**
   * Prepares `answer` (frozen) for sending, in slices of the event loop's time, before the write that made it
   * ends: a pack's answer names every asset of the build set, megabytes at 100k roots, and serialised when its
   * response and its terminal event were sent it held the main thread for hundreds of milliseconds. The
   * transport provides how (the host's `prepareAnswer` option); without it this does nothing.
   */
  async prepareAnswer(answer: object): Promise<void> {
    await this.#prepareAnswer?.(answer);
  }

  /** Whether a journal of an interrupted write is on disk (a reconcile needs the lock only then). */
  hasInterruptedWrite(): boolean {
    return this.#assetsFs.exists(JOURNAL_PATH);
  }

  /**
   * Finishes or undoes a write left in the journal by a writer that stopped mid-commit (another process
   * whose stale lock this one took over, or this one after an I/O error), then publishes the recovered
   * disk as a new snapshot (cause `recovery`, attributed to `operationId`) and records the report in
   * {@link lastRecovery}. Returns null when there is no journal. Reached only through a {@link WriteScope},
   * with the writer lock held: a live writer's journal is never touched. A write must run
   * this before it writes anything, because writing over the journal would lose the interrupted write,
   * and rolling it forward later would overwrite the registry that this write committed.
   */
  async #recoverInterruptedWrite(operationId: string): Promise<RecoveryReport | null> {
    if (!this.#assetsFs.exists(JOURNAL_PATH)) return null;
    let folders: string[] = [];
    try {
      folders = touchedFolders(
        (JSON.parse(this.#assetsFs.readText(JOURNAL_PATH, SIZE_LIMITS.journal)) as { actions: FileAction[] }).actions,
      );
    } catch {
      // An unreadable journal never started its actions; recovery discards it.
    }
    const report = await recoverJournal(this.#assetsFs);
    if (report === null) return null;
    this.#lastRecovery = report;
    await this.#reload('recovery', operationId);
    this.#watch.afterCommit(folders);
    return report;
  }

  /** Stops watching and releases what the project holds in the workspace (the writer lock). */
  dispose(): void {
    this.#validation.dispose();
    void this.#watch.dispose();
    this.#lock.release();
  }
}
