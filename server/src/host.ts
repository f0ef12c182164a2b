/**
 * The packer host: the set of open projects of one server process, shared by every connection to it.
 * Opening the same folder twice gives the same project; each project has its own snapshot, lane and log.
 */
import { createHash, randomUUID } from 'node:crypto';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { PackerErrorCodes } from '@prometeu/packer-protocol';
import { PackerError, unknownProject } from './errors.js';
import { inspectProjectRoot, ProjectFs } from './io/project-fs.js';
import { parseRegistry } from './domain/registry.js';
import { buildSnapshot } from './domain/snapshot.js';
import type { EventListener } from './project/event-log.js';
import { assetsDirOf, loadSnapshot } from './project/loader.js';
import { Project } from './project/project.js';
import { WriterLock } from './project/writer-lock.js';
import { startWatcher, type WatcherFactory } from './watch/watcher.js';
import { reconcileOperation } from './operations/reconcile.js';
import { JOURNAL_PATH, recoverJournal, type RecoveryReport } from './mutations/execute.js';

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

  constructor(options: HostOptions = {}) {
    this.epoch = options.epoch ?? randomUUID();
    this.now = options.now ?? (() => new Date());
    this.newUuid = options.newUuid ?? randomUUID;
    this.options = options;
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
    const existing = this.projects.get(id);
    if (existing) {
      if (options.autoReconcile !== undefined) existing.watch.settings.autoReconcile = options.autoReconcile;
      return existing;
    }
    const pending = this.opening.get(id);
    if (pending) return pending;
    const opening = this.load(id, rootPath, options);
    this.opening.set(id, opening);
    try {
      return await opening;
    } finally {
      this.opening.delete(id);
    }
  }

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
    let recovery: RecoveryReport | null = null;
    const assetsFs = files.at('assets');
    const lock = new WriterLock(assetsFs);
    if (assetsExists && assetsFs.exists(JOURNAL_PATH) && lock.acquire().ok) {
      try {
        recovery = await recoverJournal(assetsFs);
      } finally {
        lock.release();
      }
    }
    const initial = assetsExists
      ? loadSnapshot(files, 1)
      : buildSnapshot(1, { anchors: [], files: [], symlinks: [], problems: [] }, parseRegistry(null));
    const choice = this.options.watcher === undefined ? 'auto' : this.options.watcher;
    const factory: WatcherFactory | null = choice === 'auto' ? startWatcher : choice;
    const project = new Project(id, rootPath, canonicalUri, this.epoch, this.now, initial, this.newUuid, {
      factory: assetsExists ? factory : null,
      settleMs: this.options.settleMs ?? 150,
      verifyIntervalMs: this.options.verifyIntervalMs ?? 5000,
      autoReconcile: options.autoReconcile ?? false,
    });
    project.lastRecovery = recovery;
    // A folder without assets/ has nothing to watch yet; initWorkspace starts watching once it made one.
    if (!assetsExists) project.deferredWatcher = factory;
    project.reconcileFactory = (target) => {
      void target.lane.enqueue(reconcileOperation(target, this.nextOperationId()));
    };
    project.events.subscribe((event) => {
      for (const listener of this.listeners) listener(event);
    });
    this.projects.set(id, project);
    project.announceOpen();
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
  }

  /** Releases every project's hold on its workspace; for process exit. */
  dispose(): void {
    for (const project of this.projects.values()) project.dispose();
  }

  /** Every open project. */
  list(): Project[] {
    return [...this.projects.values()];
  }

  /** A new operation id for a write the client did not name. */
  nextOperationId(): string {
    return `op-${++this.operationCounter}`;
  }

  /** Receives every event of every project, in each project's sequence order. Returns the unsubscribe function. */
  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
