/**
 * Watching one project: arms the watcher, runs the verification pass that catches what changed while it
 * armed (and while no packer ran), keeps file fingerprints in step with commits, falls back to periodic
 * verification when the watcher fails, and schedules auto-reconcile when asked to.
 */
import { compareStrings, lowerBound } from '../domain/crawl.js';
import { fingerprintOfStamp, stampsOfCrawl, verifyDisk, type VerifiedDisk } from './crawl-worker.js';
import { SliceClock } from '../pack/slice.js';
import { crawledAt } from '../project/loader.js';
import { CONTROL_FOLDER, isWithin } from '../domain/paths.js';
import { IndexedPaths } from '../domain/indexed-paths.js';
import type { Snapshot } from '../domain/snapshot.js';
import type { ProjectFs } from '../io/project-fs.js';
import type { EventLog } from '../project/event-log.js';
import {
  classifyPaths,
  DivergenceTracker,
  foldMoves,
  movesOf,
  touchedRoots,
  type DivergenceSource,
  type DivergentChange,
} from './divergence.js';
import type { FileAction } from '../mutations/effects.js';
import {
  fingerprintFiles,
  fingerprintOf,
  fingerprintOfStats,
  logCommitIntent,
  logFingerprintChanges,
  settleFailedCommit,
  sha256OfText,
  type CommitIntent,
  saveFingerprints,
  saveFingerprintsSync,
  type Fingerprints,
} from './fingerprint.js';
import type { WatcherFactory, WorkspaceWatcher } from './watcher.js';
import { yieldToClients } from '../io/turns.js';

/** How a project is watched. */
export interface WatchSettings {
  /** Starts the watcher; null turns watching off (the project is then verified only on reconcile). */
  factory: WatcherFactory | null;
  /** How long external changes must be quiet before they are classified. */
  readonly settleMs: number;
  /** How often the disk is verified when the watcher is degraded. */
  readonly verifyIntervalMs: number;
  autoReconcile: boolean;
}

/** What the watch needs from its project. */
export interface WatchedProject {
  readonly assetsDir: string;
  /** The project's confined file system seen from `assets/`. */
  readonly assetsFs: ProjectFs;
  readonly events: EventLog;
  snapshot(): Snapshot;
  registryText(): string | null;
  whenLaneIdle(): Promise<void>;
  /** Queues a reconcile operation (auto-reconcile). */
  scheduleReconcile(): void;
  /** Whether this process may write control data (holds or can take the writer lock). */
  canWriteControlData(): boolean;
}

/** The fingerprints of `files` within the stamps a crawl took, between turns of the event loop; unstamped files are left out. */
async function fingerprintsOfStamps(
  files: readonly string[],
  stamps: ReadonlyMap<string, string>,
): Promise<Fingerprints> {
  const fingerprints: Fingerprints = new Map();
  for (let index = 0; index < files.length; index++) {
    if (index > 0 && index % 1_000 === 0) await yieldToClients();
    const stamp = stamps.get(files[index]!);
    if (stamp !== undefined) fingerprints.set(files[index]!, fingerprintOfStamp(stamp));
  }
  return fingerprints;
}

/** How many files the passes after start look at between two looks at the clock (see `SliceClock`). */
const CLOCK_EVERY = 256;

export class ProjectWatch implements DivergenceSource {
  /** Keyed by path, with the keys kept in order as well, so that `afterCommit` finds a folder's keys by search. */
  readonly fingerprints: IndexedPaths<string> = new IndexedPaths<string>();
  readonly tracker: DivergenceTracker;
  /** Invariant: changes found on open relative to the previous run's fingerprints; only reconcile clears them. */
  private betweenRuns = new Map<string, DivergentChange>();
  /** Invariant: the watching state the status shows; changed only through {@link setState}, which emits the event. */
  state: 'off' | 'starting' | 'watching' | 'degraded' = 'off';
  backend: 'chokidar' | 'parcel' | 'none' = 'none';
  reason: string | undefined;
  private watcher: WorkspaceWatcher | undefined;
  private verifyTimer: NodeJS.Timeout | undefined;
  private saveTimer: NodeJS.Timeout | undefined;
  private disposed = false;
  /** Invariant: true once the verification pass after start has compared the disk with the snapshot. */
  verified = false;
  /** How many verifications gathered their candidates a second time, at once, after a commit changed the crawl (for tests). */
  regathered = 0;
  /** Resolves when the verification pass after start is done. */
  ready: Promise<void> = Promise.resolve();
  /**
   * Invariant: when {@link start} ran (ms since the epoch), just after the snapshot it watches was read. A file
   * changed later may have been fingerprinted after the change, so its fingerprint proves nothing; the start's
   * crawl distrusts from when the snapshot's crawl began where the loader recorded it, and from this instant
   * where it did not (a snapshot built by hand).
   */
  private startedAt = 0;
  /** Invariant: true while {@link recover} tries to arm the watcher again; one attempt at a time. */
  private recovering = false;
  /** Invariant: how many times watching degraded; a watcher that faulted while it armed is not trusted. */
  private faults = 0;
  /**
   * Invariant: the log line of the intent {@link beforeCommit} logged for the commit running now, until
   * {@link afterCommit} logs its fingerprints (or a reconcile, which no commit runs beside, drops it); undefined
   * between commits. A save made meanwhile does not hold that commit, so the log keeps the line.
   */
  private openIntent: { readonly line: string; readonly intent: CommitIntent } | undefined;
  /**
   * Invariant: one list per save in progress, of the log lines appended since that save copied the fingerprints
   * (the open intent first): what the log must still hold once that saved file is in place.
   */
  private readonly carried = new Set<string[]>();

  constructor(
    private readonly project: WatchedProject,
    readonly settings: WatchSettings,
  ) {
    this.tracker = new DivergenceTracker(this, settings.settleMs, (fresh, snapshot) =>
      this.report(fresh, snapshot, false),
    );
  }

  get assetsDir(): string {
    return this.project.assetsDir;
  }
  get assetsFs(): ProjectFs {
    return this.project.assetsFs;
  }
  snapshot(): Snapshot {
    return this.project.snapshot();
  }
  registryText(): string | null {
    return this.project.registryText();
  }
  whenLaneIdle(): Promise<void> {
    return this.project.whenLaneIdle();
  }

  private setState(state: ProjectWatch['state'], reason?: string): void {
    this.state = state;
    this.reason = reason;
    this.project.events.append('watch.stateChanged', {
      state,
      backend: this.backend,
      ...(reason !== undefined ? { reason } : {}),
    });
  }

  private report(fresh: readonly DivergentChange[], snapshot: Snapshot, between: boolean): void {
    this.project.events.append('divergence.detected', {
      revision: snapshot.revision,
      changes: fresh.map((change) => ({ ...change })),
      assets: touchedRoots(snapshot, fresh).map((root) => ({ root })),
      between,
    });
    if (this.settings.autoReconcile) this.project.scheduleReconcile();
  }

  /**
   * Starts watching a project that had nothing to watch when it opened (its `assets/` was created by
   * initWorkspace since). Does nothing when watching already runs or is turned off for the host.
   */
  enable(factory: WatcherFactory | null): void {
    if (factory === null || this.settings.factory !== null || this.disposed) return;
    this.settings.factory = factory;
    this.start();
  }

  /** Arms the watcher, then verifies the disk against the snapshot (and the previous run) in the background. */
  start(): void {
    // `starting` at once, so the answer that opened the project says so; the work itself starts two turns
    // later, after that answer is written.
    if (this.settings.factory !== null) this.setState('starting');
    this.startedAt = Date.now();
    this.ready = new Promise<void>((resolve) => setImmediate(() => setImmediate(resolve))).then(() => this.run());
  }

  private async run(): Promise<void> {
    // Watching off: no watcher, no fingerprints; the disk is read again only by reconcile.
    if (this.settings.factory === null) return;
    const snapshot = this.project.snapshot();
    // The watcher arms first (its backend crawls on a thread of its own): from then on it reports every change.
    // What changed before, since the snapshot's crawl, only a crawl after that can find, so exactly one is made,
    // once the watcher is armed: it fingerprints every file and is compared with the snapshot at once. A file
    // the crawl finds changed (its change or modification time) after the snapshot's crawl began gets no
    // fingerprint, so it is verified as changed (anchors and the registry are compared by text, so for them the
    // report is exact); the change time moves with every write and rename and cannot be set back, so a file it
    // does not name held, when the snapshot was crawled, what it holds now. A change the watcher reports
    // meanwhile finds no fingerprint yet (changed) or one the crawl took after it (still changed). A commit that
    // ran meanwhile refreshed its own entries; those are kept.
    let armed: { watcher: WorkspaceWatcher } | { error: Error };
    try {
      armed = {
        watcher: await this.settings.factory(this.project.assetsDir, {
          onChanges: (paths) => this.tracker.note(paths),
          onFault: (reason) => this.degrade(reason),
        }),
      };
    } catch (error) {
      armed = { error: error as Error };
    }
    if ('error' in armed) this.degrade(`The watcher could not start: ${armed.error.message}`);
    else {
      this.watcher = armed.watcher;
      this.backend = armed.watcher.backend;
      if (this.disposed) {
        await armed.watcher.close();
        return;
      }
    }
    // Taken in the verification crawl's worker, with the fingerprints the previous run saved (read and parsed
    // there too): the main thread only takes in its answer, in time slices.
    const since = crawledAt(snapshot.crawl, '') ?? this.startedAt;
    let disk: VerifiedDisk;
    try {
      disk = await verifyDisk(this.project.assetsFs, { withSaved: true, changedSince: since });
    } catch (error) {
      // No fingerprint at all: watching says why, and the periodic verification tries again.
      this.degrade(`assets/ cannot be read: ${(error as Error).message}`);
      this.verified = true;
      return;
    }
    const betweenRuns = await this.takeFingerprints(snapshot, disk);
    if (betweenRuns.length > 0) {
      const folded = foldMoves(betweenRuns, movesOf(snapshot)).sort((a, b) => compareStrings(a.path, b.path));
      for (const change of folded) this.betweenRuns.set(change.path, change);
      this.report(folded, snapshot, true);
    }
    // What a watcher armed during the open reported before the watch took it over: judged now, with the
    // crawl's fingerprints in (a change the snapshot's crawl already saw then matches them, and one after it
    // has none), so it is neither lost nor reported when the snapshot holds it.
    const held = 'watcher' in armed ? armed.watcher.heldPaths : undefined;
    if (held !== undefined && held.length > 0) this.tracker.note(held);
    // Look for anything that changed since the snapshot was crawled, with the same crawl.
    await this.verifyAgainst(disk.fingerprints);
    this.verified = true;
    // Only now is the snapshot known to match the disk (or the divergence known): `starting` until then.
    if (this.state === 'starting' && !this.disposed) this.setState('watching');
  }

  /**
   * Takes the fingerprints of the files `snapshot` holds from the crawl after start (one added since it was
   * crawled stays without one), in time slices: those a commit refreshed meanwhile are kept, and a file the crawl
   * found changed since the snapshot's crawl gets none (see {@link run}). Returns how the crawl differs from the
   * fingerprints the previous run saved (none when it saved none), leaving out the files a commit rewrote.
   */
  private async takeFingerprints(snapshot: Snapshot, disk: VerifiedDisk): Promise<DivergentChange[]> {
    const changes: DivergentChange[] = [];
    const saved = disk.saved ?? undefined;
    const files = snapshot.crawl.files;
    const clock = new SliceClock();
    for (let index = 0; index < files.length; index++) {
      if (index % CLOCK_EVERY === 0) await clock.pause();
      const file = files[index]!;
      const fingerprint = disk.fingerprints.get(file);
      if (fingerprint === undefined || this.fingerprints.has(file)) continue;
      if (saved !== undefined) {
        const before = saved.get(file);
        if (before === undefined) changes.push({ path: file, change: 'added' });
        else if (before !== fingerprint) changes.push({ path: file, change: 'changed' });
      }
      if (disk.changed?.has(file) !== true) this.fingerprints.set(file, fingerprint);
    }
    if (saved === undefined) return changes;
    let visited = 0;
    for (const path of saved.keys()) {
      if (++visited % CLOCK_EVERY === 0) await clock.pause();
      if (!disk.fingerprints.has(path) || files[lowerBound(files, path)] !== path)
        changes.push({ path, change: 'removed' });
    }
    return changes;
  }

  /**
   * Crawls the whole workspace and classifies every path that differs from the snapshot. Returns false when
   * `assets/` could not be read (watching is then degraded).
   */
  async verifyNow(): Promise<boolean> {
    let disk;
    try {
      disk = await verifyDisk(this.project.assetsFs);
    } catch (error) {
      this.degrade(`assets/ cannot be read: ${(error as Error).message}`);
      return false;
    }
    await this.verifyAgainst(disk.fingerprints);
    return true;
  }

  /** Classifies every path where `disk` (a crawl's fingerprints) differs from the snapshot and the fingerprints. */
  private async verifyAgainst(disk: Fingerprints): Promise<void> {
    // Compare with the snapshot of a moment when no write runs, so the lane's own writes are in it.
    await this.project.whenLaneIdle();
    let snapshot = this.project.snapshot();
    let candidates = await this.candidates(disk, snapshot, true);
    const latest = this.project.snapshot();
    if (latest.crawl !== snapshot.crawl) {
      // A write committed between two slices: gathered again, at once, against the snapshot it published.
      this.regathered++;
      await this.project.whenLaneIdle();
      snapshot = this.project.snapshot();
      candidates = await this.candidates(disk, snapshot, false);
    } else {
      // Published on the same crawl (a validation round's batches, a commit that wrote only the registry, which
      // is always a candidate): the candidates depend on the crawl's files alone, so they stand; classified
      // against the newest snapshot. Gathering them again at once held the main thread for a walk of every file
      // whenever the open's round published during the verification pass.
      snapshot = latest;
    }
    this.tracker.apply(classifyPaths(this, snapshot, candidates), false);
  }

  /**
   * The paths the verification classifies: files whose fingerprint is new or differs, and files the snapshot
   * has that are gone (classification then reads anchors' text, so an anchor is never judged by its
   * fingerprint alone). In time slices between turns of the event loop when `inSlices`.
   */
  private async candidates(disk: Fingerprints, snapshot: Snapshot, inSlices: boolean): Promise<Set<string>> {
    const candidates = new Set<string>(['.prometeu/index.json']);
    const clock = new SliceClock();
    let visited = 0;
    for (const [file, fingerprint] of disk) {
      if (inSlices && ++visited % CLOCK_EVERY === 0) await clock.pause();
      if (this.fingerprints.get(file) !== fingerprint) candidates.add(file);
    }
    for (const file of snapshot.crawl.files) {
      if (inSlices && ++visited % CLOCK_EVERY === 0) await clock.pause();
      if (!disk.has(file)) candidates.add(file);
    }
    return candidates;
  }

  private degrade(reason: string): void {
    if (this.disposed) return;
    this.faults++;
    void this.watcher?.close().catch(() => undefined);
    this.watcher = undefined;
    const interval = this.settings.verifyIntervalMs;
    const described = `${reason} Verifying the disk every ${interval < 1000 ? `${interval} ms` : `${Math.round(interval / 1000)} s`} instead.`;
    // Periodic verification fails the same way at every pass while assets/ is gone: say it once.
    if (this.state !== 'degraded' || this.reason !== described) this.setState('degraded', described);
    if (this.verifyTimer === undefined) {
      this.verifyTimer = setInterval(() => void this.recover().catch(() => undefined), this.settings.verifyIntervalMs);
      this.verifyTimer.unref();
    }
  }

  /**
   * One periodic pass while degraded: verify the disk, then try to arm the watcher again (it may have failed
   * for a reason that has gone: `assets/` deleted and created again, a watch limit raised, a backend
   * restarted). On success watching returns to `watching` with an event, periodic verification stops, and a
   * last verification catches what changed while the watcher armed.
   */
  async recover(): Promise<void> {
    const factory = this.settings.factory;
    if (this.recovering || this.disposed || factory === null || this.state !== 'degraded') return;
    this.recovering = true;
    try {
      if (!(await this.verifyNow())) return;
      const faults = this.faults;
      let watcher: WorkspaceWatcher;
      try {
        watcher = await factory(this.project.assetsDir, {
          onChanges: (paths) => this.tracker.note(paths),
          onFault: (reason) => this.degrade(reason),
        });
      } catch {
        // Still failing: stay degraded (the reason already said why) and try again at the next pass.
        return;
      }
      if (this.disposed || this.state !== 'degraded' || this.faults !== faults) {
        // Closed, recovered meanwhile, or this very watcher failed while it armed: not a recovery.
        await watcher.close().catch(() => undefined);
        return;
      }
      this.watcher = watcher;
      this.backend = watcher.backend;
      if (this.verifyTimer) clearInterval(this.verifyTimer);
      this.verifyTimer = undefined;
      this.setState('watching');
      await this.verifyNow();
    } finally {
      this.recovering = false;
    }
  }

  /** The divergence the status shows: live divergence plus what changed between runs. */
  divergence(): { diverged: boolean; sinceRevision: number | null; changes: DivergentChange[] } {
    const live = this.tracker.current();
    if (this.betweenRuns.size === 0) return live;
    const merged = new Map<string, DivergentChange>(this.betweenRuns);
    for (const change of live.changes) merged.set(change.path, change);
    return {
      diverged: true,
      sinceRevision: live.sinceRevision ?? 1,
      changes: [...merged.values()].sort((a, b) => compareStrings(a.path, b.path)),
    };
  }

  /** A divergent path within (or containing) one of `paths`, if any. */
  touches(paths: readonly string[]): DivergentChange | undefined {
    const live = this.tracker.touches(paths);
    if (live !== undefined) return live;
    for (const change of this.betweenRuns.values())
      for (const path of paths) if (isWithin(path, change.path) || isWithin(change.path, path)) return change;
    return undefined;
  }

  /**
   * Before a commit's first write: logs what it is about to do (see `CommitIntent`), so that a packer killed
   * after its last write but before {@link afterCommit} logged its fingerprints does not make the next run report
   * the commit as a change made while no packer ran. Costs one hash of each text the commit writes or replaces
   * and one append; a moved folder's files are found by binary search in the crawl's sorted files.
   */
  beforeCommit(actions: readonly FileAction[]): void {
    if (this.settings.factory === null || !this.project.canWriteControlData()) return;
    // The commit before this one failed without logging its fingerprints (an I/O failure undid it, rewriting what
    // it had written): settled now, as the next run would settle it, so this process's fingerprints hold what the
    // undo wrote and no later save makes the next run report it.
    if (this.openIntent !== undefined) {
      const { intent } = this.openIntent;
      this.openIntent = undefined;
      try {
        const settled = settleFailedCommit(this.project.assetsFs, this.fingerprints, intent);
        this.logged(logFingerprintChanges(this.project.assetsFs, settled.set, settled.removed));
      } catch {
        // The log is a cache: without the line a crash may make the next run report the undone commit.
      }
    }
    const written: Record<string, string> = {};
    const replaced: Record<string, string> = {};
    const moved: { from: string; to: string; files: Record<string, string> }[] = [];
    const deleted: string[] = [];
    for (const action of actions) {
      if (action.kind === 'writeFile') {
        written[action.path] = sha256OfText(action.content);
        if (action.before !== null) replaced[action.path] = sha256OfText(action.before);
      } else if (action.kind === 'deleteFolder') deleted.push(action.path);
      else moved.push({ from: action.from, to: action.to, files: this.filesOfFolder(action.from) });
    }
    const intent: CommitIntent = { written, replaced, moved, deleted };
    try {
      const line = this.logged(logCommitIntent(this.project.assetsFs, intent));
      if (line !== undefined) this.openIntent = { line, intent };
    } catch {
      // The log is a cache: without the intent a crash right after the commit may make the next run report it.
    }
  }

  /** Notes a line just appended to the log for every save in progress (see {@link carried}); returns it. */
  private logged(line: string | null): string | undefined {
    if (line === null) return undefined;
    for (const lines of this.carried) lines.push(line);
    return line;
  }

  /** A new list of what a save that copies the fingerprints now must leave in the log (see {@link carried}). */
  private carriedFromNow(): string[] {
    return this.openIntent !== undefined ? [this.openIntent.line] : [];
  }

  /**
   * The fingerprints of the files in `folder` now, relative to it: from the fingerprints kept for the crawl's
   * files, or, for a folder in the control folder (a quarantined asset being restored), from its own lstat walk.
   */
  private filesOfFolder(folder: string): Record<string, string> {
    const files: Record<string, string> = {};
    if (isWithin(CONTROL_FOLDER, folder)) {
      try {
        this.project.assetsFs.walkFolders(
          folder,
          (walked) => {
            const subfolders: string[] = [];
            for (const entry of walked.entries) {
              if (entry.isDirectory()) subfolders.push(entry.name);
              else if (entry.isFile()) {
                const stats = walked.stat(entry.name);
                if (stats?.isFile() === true)
                  files[`${walked.path}/${entry.name}`.slice(folder.length + 1)] = fingerprintOfStats(stats);
              }
            }
            return subfolders;
          },
          () => undefined,
        );
      } catch {
        // Unreadable: its files are then reported as added if the commit was cut short.
      }
      return files;
    }
    const crawled = this.project.snapshot().crawl.files;
    const prefix = `${folder}/`;
    for (let at = lowerBound(crawled, prefix); at < crawled.length && crawled[at]!.startsWith(prefix); at++) {
      const fingerprint = this.fingerprints.get(crawled[at]!);
      if (fingerprint !== undefined) files[crawled[at]!.slice(prefix.length)] = fingerprint;
    }
    return files;
  }

  /** After a commit: refresh the fingerprints of what the commit touched, and save them soon. */
  afterCommit(folders: readonly string[]): void {
    if (this.settings.factory === null) return;
    const snapshot = this.project.snapshot();
    const prefixes = folders.map((folder) => `${folder}/`);
    // The keys within the folders, found by search in the map's sorted keys: testing every key cost a commit
    // a pass over 400k paths at 100k roots. Those the folders still hold are set again below, not deleted
    // first (a deleted key set again waits to be sorted back into the keys).
    const removed = new Set<string>(this.fingerprints.keysWithin(folders));
    const set: Record<string, string> = {};
    // The crawl's files are sorted: those within a folder are one run of them, found by binary search.
    const files = snapshot.crawl.files;
    const found = new Set<number>();
    for (const [index, folder] of folders.entries()) {
      const exact = lowerBound(files, folder);
      if (files[exact] === folder) found.add(exact);
      for (
        let at = lowerBound(files, prefixes[index]!);
        at < files.length && files[at]!.startsWith(prefixes[index]!);
        at++
      )
        found.add(at);
    }
    // In one scope: the folders on the way are resolved once, not once per file.
    this.project.assetsFs.scope((scoped) => {
      for (const file of [...found].sort((a, b) => a - b).map((at) => files[at]!)) {
        const fingerprint = fingerprintOf(scoped, file);
        if (fingerprint === null) continue;
        this.fingerprints.set(file, fingerprint);
        set[file] = fingerprint;
        removed.delete(file);
      }
    });
    for (const path of removed) this.fingerprints.delete(path);
    // Logged now (cheap, and it survives a kill), folded into the saved file later. The commit's intent is then
    // settled by this line, so a save need not keep it any more.
    this.openIntent = undefined;
    if (this.project.canWriteControlData()) {
      try {
        this.logged(logFingerprintChanges(this.project.assetsFs, set, [...removed]));
      } catch {
        // The log is a cache: without it a crash may make the next run report this commit as a change.
      }
    }
    this.scheduleSave();
  }

  /** After a reconcile: the disk is the truth again. Returns how many divergent paths were cleared. */
  async afterReconcile(): Promise<DivergentChange[]> {
    const cleared = this.divergence().changes;
    // What the watcher reported and nothing classified yet may have been written after the reload's crawl read
    // it: noted again below, once the fingerprints are the new snapshot's, so it is classified against that
    // snapshot (a path the reload already holds as on disk comes out unchanged).
    const unclassified = this.tracker.pendingPaths();
    this.tracker.clear();
    this.betweenRuns.clear();
    // No commit runs beside a reconcile: an intent still open is a commit that failed, and the disk is now read.
    this.openIntent = undefined;
    if (this.settings.factory === null) return cleared;
    const { crawl } = this.project.snapshot();
    // The reload's crawl took every file's stamp in its walk, the very moment it read the declarations: its
    // fingerprints are those of what the snapshot holds (a file written since differs from them, so it is
    // reported), and no second pass stats every file. A snapshot not made by that crawl is fingerprinted now.
    const stamps = stampsOfCrawl(crawl);
    const fresh =
      stamps !== undefined
        ? await fingerprintsOfStamps(crawl.files, stamps)
        : await fingerprintFiles(this.project.assetsFs, crawl.files);
    this.fingerprints.clear();
    for (const [path, fingerprint] of fresh) this.fingerprints.set(path, fingerprint);
    if (unclassified.length > 0) this.tracker.note(unclassified);
    await this.save();
    return cleared;
  }

  private scheduleSave(): void {
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = setTimeout(() => void this.save().catch(() => undefined), 1000);
    this.saveTimer.unref();
  }

  /** Saves the fingerprints for the next run, unless divergence is pending (that would hide it). */
  async save(): Promise<void> {
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    if (!this.maySave()) return;
    // The fingerprints are copied as the save starts; commits go on while it writes, so it leaves in the log what
    // it does not hold.
    const carried = this.carriedFromNow();
    this.carried.add(carried);
    try {
      await saveFingerprints(this.project.assetsFs, this.fingerprints, () => carried);
    } finally {
      this.carried.delete(carried);
    }
  }

  /** Whether the fingerprints may be saved now: nothing divergent to hide, the writer lock held, something to save. */
  private maySave(): boolean {
    return !this.divergence().diverged && this.project.canWriteControlData() && this.fingerprints.size > 0;
  }

  /** Stops watching; a save a commit scheduled is done first, synchronously, while the writer lock is still held. */
  async dispose(): Promise<void> {
    this.disposed = true;
    this.tracker.dispose();
    if (this.verifyTimer) clearInterval(this.verifyTimer);
    if (this.saveTimer) {
      clearTimeout(this.saveTimer);
      this.saveTimer = undefined;
      // The project releases its writer lock as soon as this returns, so the save cannot wait: without it the
      // next run would compare the disk with older fingerprints and report this run's own commits as changes.
      if (this.maySave()) {
        try {
          saveFingerprintsSync(this.project.assetsFs, this.fingerprints, this.carriedFromNow());
        } catch {
          // The file is a cache: without it the next run only cannot tell what changed while no packer ran.
        }
      }
    }
    await this.watcher?.close().catch(() => undefined);
  }
}
