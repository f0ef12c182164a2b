/**
 * The packer host: the set of open projects of one server process, shared by every connection to it.
 * Opening the same folder twice gives the same project; each project has its own snapshot, lane and log.
 */
import { createHash, randomUUID } from 'node:crypto';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { PackerErrorCodes, isTerminalKind, type PackerEvent } from '@prometeu/packer-protocol';
import { PackerError, unknownProject } from './errors.js';
import { inspectProjectRoot, ProjectFs } from './io/project-fs.js';
import { parseRegistry, REGISTRY_PATH } from './domain/registry.js';
import { buildSnapshot, type Snapshot } from './domain/snapshot.js';
import type { EventListener } from './project/event-log.js';
import { assetsDirOf } from './project/loader.js';
import { loadSnapshotInBackground, startLoadThread } from './project/load-worker.js';
import { Project } from './project/project.js';
import { WriterLock } from './project/writer-lock.js';
import { hasInterruptedPromotion, recoverBuildPromotion } from './pack/build-output.js';
import { armEarly } from './watch/early-watcher.js';
import { startWatcher, type WatcherFactory } from './watch/watcher.js';
import { reconcileOperation } from './writes/reconcile.js';
import {
  claimForRecovery,
  JOURNAL_PATH,
  recoverJournalAtOpen,
  type RecoveryReport,
  type StepHook,
} from './mutations/execute.js';

/** Options of a host; tests pin the clock and the epoch. */
export interface HostOptions {
  readonly epoch?: string;
  readonly now?: () => Date;
  /** Makes asset_uuids for created and adopted assets; tests pin it. */
  readonly newUuid?: () => string;
  /**
   * How projects are watched: `'auto'` (default) picks the native backend when it loads, null turns watching
   * off, a factory is used as given (tests feed events through one).
   */
  readonly watcher?: WatcherFactory | null | 'auto';
  /** Settle window for external changes, in ms (default 150). */
  readonly settleMs?: number;
  /** Verification interval when watching is degraded, in ms (default 5000). */
  readonly verifyIntervalMs?: number;
  /** Test hook for crash tests: called after each durable step of every commit of this host's projects. */
  readonly stepHook?: StepHook;
  /**
   * Prepares a large frozen answer of a write for sending before its operation ends (see `Project.prepareAnswer`):
   * the stdio server passes the transport's `serialiseAhead`, so the layers below the transport never import it.
   */
  readonly prepareAnswer?: (answer: object) => Promise<void>;
  /**
   * Test hook: awaited while a project is `loading`, before anything is read (tests hold a load there to
   * show the state without any timing).
   */
  readonly beforeLoad?: (projectId: string) => Promise<void>;
  /** Test hook: runs before each format validation round of a project reads the disk (tests edit files there). */
  readonly beforeValidationRound?: (projectId: string) => void | Promise<void>;
  /**
   * Leave the crawl threads to {@link PackerHost.startLoadThreads} (the stdio server calls it once its
   * `initialize` result is out) instead of starting them with the host: two threads booting beside the main
   * one on two cores delay the `initialize` answer by tens of ms. The first load starts them in any case.
   */
  readonly deferLoadThreads?: boolean;
}

/**
 * One step of work the server started itself (an auto-reconcile, the watcher's verification pass), which
 * no client request carries a progress token for: a connection whose client announced
 * `window.workDoneProgress` creates a token for it and sends these steps as `$/progress`.
 */
export type ServerWorkStep =
  | {
      readonly step: 'begin';
      readonly workId: string;
      readonly projectId: string;
      readonly title: string;
      readonly message?: string;
    }
  | { readonly step: 'report'; readonly workId: string; readonly message?: string; readonly percentage?: number }
  | { readonly step: 'end'; readonly workId: string; readonly message?: string };

/** Receives the steps of the work the server starts itself. */
export type ServerWorkListener = (step: ServerWorkStep) => void;

/** Whether `assets/.prometeu/index.json` is a file (a link on the way is not: the load then reports it). */
function registryFileExists(files: ProjectFs): boolean {
  try {
    return files.kind(`assets/${REGISTRY_PATH}`) === 'file';
  } catch {
    return false;
  }
}

/** The stable project id of a canonical root path. */
export function projectIdOf(rootPath: string): string {
  return `prj-${createHash('sha256').update(rootPath).digest('hex').slice(0, 16)}`;
}

/** Resolves a `file:` URI to a canonical folder path, or throws `ProjectRootInvalid`. */
export function resolveProjectRoot(rootUri: string): string {
  let path: string;
  try {
    path = fileURLToPath(new URL(rootUri));
  } catch (error) {
    throw new PackerError(
      PackerErrorCodes.ProjectRootInvalid,
      `${rootUri} is not a valid file: URI (${(error as Error).message}).`,
      { rootUri, reason: 'not a file: URI' },
    );
  }
  let root;
  try {
    root = inspectProjectRoot(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new PackerError(
      PackerErrorCodes.ProjectRootInvalid,
      `The project folder ${path} ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${code})`}.`,
      {
        rootUri,
        reason: code === 'ENOENT' ? 'does not exist' : `unreadable (${code})`,
      },
    );
  }
  if (!root.isFolder) {
    throw new PackerError(
      PackerErrorCodes.ProjectRootInvalid,
      `${path} is not a folder; a project is a folder holding assets/.`,
      { rootUri, reason: 'not a folder' },
    );
  }
  return root.realPath;
}

export class PackerHost {
  readonly epoch: string;
  readonly now: () => Date;
  readonly newUuid: () => string;
  /** Invariant: every open project by id; an id is derived from the canonical root, so one root has one entry. */
  private readonly projects = new Map<string, Project>();
  private readonly listeners = new Set<EventListener>();
  /** Invariant: projects being loaded, so two concurrent opens of one folder load it once. */
  private readonly opening = new Map<string, Promise<Project>>();
  /** Invariant: counts generated operation ids, so each is unique within the epoch. */
  private operationCounter = 0;
  private readonly workListeners = new Set<ServerWorkListener>();
  /** Invariant: the operations the host queued itself (auto-reconcile), by `projectId` and `operationId`, until they end. */
  private readonly serverOperations = new Set<string>();
  /** Invariant: the begin step of every server-started work that began and has not ended, by work id. */
  private readonly activeWork = new Map<string, Extract<ServerWorkStep, { step: 'begin' }>>();
  /** Invariant: the work id of each project's verification pass while its watching is `starting`. */
  private readonly verifying = new Map<string, string>();
  /** Invariant: counts work ids, so each is unique within the host. */
  private workCounter = 0;

  constructor(options: HostOptions = {}) {
    this.epoch = options.epoch ?? randomUUID();
    this.now = options.now ?? (() => new Date());
    this.newUuid = options.newUuid ?? randomUUID;
    this.options = options;
    // The first open then finds the crawl thread running instead of starting it on its own time.
    if (options.deferLoadThreads !== true) startLoadThread();
  }

  /** Starts the process's crawl threads unless they run already, so the next open finds them ready. */
  startLoadThreads(): void {
    startLoadThread();
  }

  private readonly options: HostOptions;

  /**
   * Opens the project at `rootUri`, or returns it when already open. Refuses a folder without `assets/`
   * unless `allowMissingAssets` is set (for `initWorkspace`, which creates it). A write a crash
   * interrupted is finished or undone first (when this process can take the writer lock), so the first
   * snapshot never shows a half-done write.
   */
  async open(
    rootUri: string,
    options: { allowMissingAssets?: boolean; autoReconcile?: boolean } = {},
  ): Promise<Project> {
    const rootPath = resolveProjectRoot(rootUri);
    const id = projectIdOf(rootPath);
    // A project still loading is known by its id, and an open of it joins its load.
    const pending = this.opening.get(id);
    if (pending) return pending;
    const existing = this.projects.get(id);
    if (existing) {
      if (options.autoReconcile !== undefined) existing.watch.settings.autoReconcile = options.autoReconcile;
      return existing;
    }
    const opening = this.load(id, rootPath, options);
    this.opening.set(id, opening);
    try {
      return await opening;
    } finally {
      this.opening.delete(id);
    }
  }

  /**
   * Registers the project under its id in state `loading` (announced by `project.stateChanged`), then
   * builds its first snapshot without holding the main thread (see `project/load-worker.ts`) and publishes
   * it. A load that fails forgets the project again (its last event says `failed`) and rejects.
   */
  private async load(
    id: string,
    rootPath: string,
    options: { allowMissingAssets?: boolean; autoReconcile?: boolean },
  ): Promise<Project> {
    const assetsDir = assetsDirOf(rootPath);
    const files = ProjectFs.openRoot(rootPath);
    // `assets` itself is below the root, so it is confined too: a link there is never followed.
    const assetsKind = files.kind('assets');
    const assetsExists = assetsKind === 'folder';
    const canonicalUri = pathToFileURL(rootPath).href;
    if (assetsKind === 'link' || assetsKind === 'other') {
      throw new PackerError(
        PackerErrorCodes.AssetsFolderMissing,
        `${assetsDir} is ${assetsKind === 'link' ? 'a symbolic link' : 'not a folder'}; the packer never follows links, so ${rootPath} has no assets/ folder it can use.`,
        { rootUri: canonicalUri, assetsPath: assetsDir },
      );
    }
    if (!assetsExists && !options.allowMissingAssets) {
      throw new PackerError(
        PackerErrorCodes.AssetsFolderMissing,
        `${rootPath} has no assets/ folder, so it is not a Prometeu project. Create it with packer/initWorkspace.`,
        {
          rootUri: canonicalUri,
          assetsPath: assetsDir,
        },
      );
    }
    const choice = this.options.watcher === undefined ? 'auto' : this.options.watcher;
    const factory: WatcherFactory | null = choice === 'auto' ? startWatcher : choice;
    // The watcher's subscribe runs beside the open rather than after its answer; the watch takes it over when
    // it starts, and its verification crawl still follows the arming (watch/early-watcher.ts).
    const early = assetsExists && factory !== null ? armEarly(factory, assetsDir) : null;
    const project = new Project({
      id,
      rootPath,
      rootUri: canonicalUri,
      epoch: this.epoch,
      now: this.now,
      workspaceInitialized: assetsExists && registryFileExists(files),
      newUuid: this.newUuid,
      watch: {
        factory: early?.factory ?? null,
        settleMs: this.options.settleMs ?? 150,
        verifyIntervalMs: this.options.verifyIntervalMs ?? 5000,
        autoReconcile: options.autoReconcile ?? false,
      },
      // A folder without assets/ has nothing to watch yet; initWorkspace starts watching once it made one.
      deferredWatcher: assetsExists ? null : factory,
      scheduleReconcile: (target) => {
        const operationId = this.nextOperationId();
        this.serverOperations.add(JSON.stringify([target.id, operationId]));
        void target.lane.enqueue(reconcileOperation(target, operationId));
      },
      ...(this.options.stepHook !== undefined ? { stepHook: this.options.stepHook } : {}),
      ...(this.options.prepareAnswer !== undefined ? { prepareAnswer: this.options.prepareAnswer } : {}),
      ...(this.options.beforeValidationRound !== undefined
        ? { beforeValidationRound: () => this.options.beforeValidationRound!(id) }
        : {}),
    });
    project.events.subscribe((event) => {
      for (const listener of this.listeners) listener(event);
      this.trackServerWork(event);
    });
    this.projects.set(id, project);
    project.announceLoading();
    let initial: Snapshot;
    let recovery: RecoveryReport | null = null;
    try {
      await this.options.beforeLoad?.(id);
      const assetsFs = files.at('assets');
      const lock = new WriterLock(assetsFs);
      // On a disk that refuses writes the journal stays, and the project opens with it pending.
      if (assetsExists && assetsFs.exists(JOURNAL_PATH)) recovery = await recoverJournalAtOpen(assetsFs, lock);
      // A pack killed between its two renames left build/ absent beside the old pack: it is put back now,
      // when this process can take the writer lock, so build/ holds one whole pack from the first read on.
      if (assetsExists && hasInterruptedPromotion(files) && claimForRecovery(lock)) {
        try {
          await recoverBuildPromotion(files);
        } finally {
          lock.release();
        }
      }
      initial = assetsExists
        ? await loadSnapshotInBackground(files, 1)
        : buildSnapshot(1, { anchors: [], files: [], symlinks: [], problems: [] }, parseRegistry(null));
    } catch (error) {
      void early?.discard();
      this.projects.delete(id);
      project.failLoad(`The project could not be loaded: ${(error as Error).message}`);
      project.dispose();
      throw error;
    }
    if (this.projects.get(id) !== project) {
      // Closed while it loaded (the host was disposed): nothing to publish.
      void early?.discard();
      project.failLoad('The project was closed while it loaded.');
      throw unknownProject(id, [...this.projects.keys()]);
    }
    project.completeLoad(initial, recovery);
    project.watch.start();
    return project;
  }

  /** The open project with this id, or an `UnknownProject` error. */
  get(projectId: string): Project {
    const project = this.projects.get(projectId);
    if (!project) throw unknownProject(projectId, [...this.projects.keys()]);
    return project;
  }

  /** Closes a project once its lane is idle, releasing its writer lock. */
  async close(projectId: string): Promise<void> {
    const project = this.get(projectId);
    await project.lane.whenIdle();
    this.projects.delete(projectId);
    project.dispose();
    // Work of a closed project ends with it.
    for (const [workId, begin] of [...this.activeWork])
      if (begin.projectId === projectId) this.emitWork({ step: 'end', workId, message: 'The project was closed.' });
    this.verifying.delete(projectId);
  }

  /** Receives the steps of the work the server starts itself; returns the unsubscribe function. */
  subscribeServerWork(listener: ServerWorkListener): () => void {
    this.workListeners.add(listener);
    return () => this.workListeners.delete(listener);
  }

  /** The begin steps of the server-started work in progress now, oldest first. */
  serverWorkInProgress(): Extract<ServerWorkStep, { step: 'begin' }>[] {
    return [...this.activeWork.values()];
  }

  /** Turns the events of server-started work (auto-reconcile, verification) into work steps. */
  private trackServerWork(event: PackerEvent): void {
    if (event.kind === 'watch.stateChanged') {
      const current = this.verifying.get(event.projectId);
      if (event.body.state === 'starting' && current === undefined) {
        const workId = `work-${++this.workCounter}`;
        this.verifying.set(event.projectId, workId);
        this.emitWork({
          step: 'begin',
          workId,
          projectId: event.projectId,
          title: 'Verifying assets/',
          message: 'Comparing the disk with the snapshot and with the previous run.',
        });
      } else if (event.body.state !== 'starting' && current !== undefined) {
        this.verifying.delete(event.projectId);
        this.emitWork({ step: 'end', workId: current, message: `Watching is ${event.body.state}.` });
      }
      return;
    }
    if (event.operationId === undefined) return;
    const key = JSON.stringify([event.projectId, event.operationId]);
    if (!this.serverOperations.has(key)) return;
    const workId = `${event.projectId}/${event.operationId}`;
    if (event.kind === 'operation.started')
      this.emitWork({
        step: 'begin',
        workId,
        projectId: event.projectId,
        title: 'Auto-reconcile',
        message: 'Accepting changes made outside the packer.',
      });
    else if (event.kind === 'operation.progress' && event.body.message !== undefined)
      this.emitWork({ step: 'report', workId, message: event.body.message });
    else if (isTerminalKind(event.kind)) {
      this.serverOperations.delete(key);
      if (this.activeWork.has(workId))
        this.emitWork({ step: 'end', workId, message: event.kind.slice('operation.'.length) });
    }
  }

  private emitWork(step: ServerWorkStep): void {
    if (step.step === 'begin') this.activeWork.set(step.workId, step);
    else if (step.step === 'end') this.activeWork.delete(step.workId);
    for (const listener of [...this.workListeners]) {
      try {
        listener(step);
      } catch {
        // A failing listener (a closed connection) must not stop the others.
      }
    }
  }

  /** Releases every project's hold on its workspace; for process exit. */
  dispose(): void {
    for (const project of this.projects.values()) project.dispose();
  }

  /** Every open project. */
  list(): Project[] {
    return [...this.projects.values()];
  }

  /**
   * A new operation id for a write the client did not name: never one already used in an open project
   * (a client may have chosen `op-7` itself).
   */
  nextOperationId(): string {
    for (;;) {
      const candidate = `op-${++this.operationCounter}`;
      if ([...this.projects.values()].every((project) => project.lane.operationIdInUse(candidate) === undefined))
        return candidate;
    }
  }

  /** Receives every event of every project, in each project's sequence order. Returns the unsubscribe function. */
  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
