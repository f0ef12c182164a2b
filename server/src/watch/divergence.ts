/**
 * Divergence: what on disk no longer matches the current snapshot. The watcher's raw paths are batched
 * over a settle window, then classified against the snapshot (stat first; the text for anchors and the
 * registry), once the writer lane is idle so the packer's own writes are already in the snapshot. The
 * result is explicit state: never a silent repair, never a silent refresh.
 */
import { ANCHOR_FILE, compareStrings, crawlAssets, lowerBound } from '../domain/crawl.js';
import { isWithin, parentOf } from '../domain/paths.js';
import type { Snapshot } from '../domain/snapshot.js';
import type { ProjectFs } from '../io/project-fs.js';
import { SIZE_LIMITS } from '../io/size-limits.js';
import { fingerprintOf, type Fingerprints } from './fingerprint.js';

/** One divergent path. */
export interface DivergentChange {
  readonly path: string;
  readonly change: 'added' | 'changed' | 'removed' | 'moved';
  /** For a move: the root it was moved from (`path` is the root it is at now). */
  readonly from?: string;
  /** For a move: the `asset_uuid` that says both roots are one asset. */
  readonly assetUuid?: string;
}

/** A root moved from one folder to another, recognised by its `asset_uuid`. */
export interface RootMove {
  readonly from: string;
  readonly to: string;
  readonly assetUuid: string;
}

/** What the tracker needs from its project. */
export interface DivergenceSource {
  readonly assetsDir: string;
  /** The project's confined file system seen from `assets/`: every read of the classification goes through it. */
  readonly assetsFs: ProjectFs;
  snapshot(): Snapshot;
  /** The registry text the snapshot was built from. */
  registryText(): string | null;
  /** Fingerprints of the files of the current snapshot (filled by the verification pass and commits). */
  readonly fingerprints: Fingerprints;
  /** Resolves when no write runs or waits. */
  whenLaneIdle(): Promise<void>;
}

function hasFile(snapshot: Snapshot, path: string): boolean {
  return snapshot.crawl.files[lowerBound(snapshot.crawl.files, path)] === path;
}

function snapshotFilesUnder(snapshot: Snapshot, folder: string): string[] {
  return snapshot.crawl.files.filter((file) => isWithin(folder, file));
}

function kindOnDisk(assets: ProjectFs, path: string): 'file' | 'folder' | 'other' | 'missing' {
  try {
    const stats = assets.stat(path);
    if (stats === null) return 'missing';
    return stats.isFile() ? 'file' : stats.isDirectory() ? 'folder' : 'other';
  } catch {
    return 'missing';
  }
}

function readText(assets: ProjectFs, path: string, limit: number): string | null {
  try {
    return assets.readText(path, limit);
  } catch {
    return null;
  }
}

function readUuid(assets: ProjectFs, anchorPath: string): string | null {
  try {
    const value = JSON.parse(assets.readText(anchorPath, SIZE_LIMITS.declaration)) as { asset_uuid?: unknown };
    return typeof value.asset_uuid === 'string' ? value.asset_uuid : null;
  } catch {
    return null;
  }
}

/**
 * Classifies `paths` against `snapshot` and the disk: for each file below them, whether it was added,
 * removed or changed (null when it matches). Anchors removed in one place and added in another with the
 * same asset_uuid become one `moved` change of the root.
 */
export function classifyPaths(
  source: DivergenceSource,
  snapshot: Snapshot,
  paths: Iterable<string>,
): Map<string, DivergentChange | null> {
  // One scope for the classification: each folder is resolved once.
  return source.assetsFs.scope((assets) => classifyIn(source, assets, snapshot, paths));
}

function classifyIn(
  source: DivergenceSource,
  assets: ProjectFs,
  snapshot: Snapshot,
  paths: Iterable<string>,
): Map<string, DivergentChange | null> {
  const files = new Set<string>();
  for (const path of paths) {
    if (path === '.prometeu/index.json') {
      files.add(path);
      continue;
    }
    const kind = kindOnDisk(assets, path);
    if (kind === 'folder') {
      for (const file of crawlAssets(assets, path).files) files.add(file);
      for (const file of snapshotFilesUnder(snapshot, path)) files.add(file);
    } else if (kind === 'missing') {
      files.add(path);
      for (const file of snapshotFilesUnder(snapshot, path)) files.add(file);
    } else files.add(path);
  }
  const result = new Map<string, DivergentChange | null>();
  for (const file of [...files].sort(compareStrings)) {
    if (file === '.prometeu/index.json') {
      const text = readText(assets, file, SIZE_LIMITS.registry);
      const known = source.registryText();
      result.set(
        file,
        text === known
          ? null
          : { path: file, change: known === null ? 'added' : text === null ? 'removed' : 'changed' },
      );
      continue;
    }
    const known = hasFile(snapshot, file);
    const present = kindOnDisk(assets, file) === 'file';
    if (!known && !present) result.set(file, null);
    else if (known && !present) result.set(file, { path: file, change: 'removed' });
    else if (!known && present) result.set(file, { path: file, change: 'added' });
    else if (file.endsWith(`/${ANCHOR_FILE}`)) {
      const root = parentOf(file);
      const text = readText(assets, file, SIZE_LIMITS.declaration);
      result.set(file, text === snapshot.parsedAnchors.get(root)?.text ? null : { path: file, change: 'changed' });
    } else {
      const now = fingerprintOf(assets, file);
      const then = source.fingerprints.get(file);
      result.set(file, now !== null && now === then ? null : { path: file, change: 'changed' });
    }
  }
  // Fold a removed root and an added root with the same asset_uuid into one move.
  const removedRoots = new Map<string, string>();
  for (const [file, change] of result) {
    if (change?.change !== 'removed' || !file.endsWith(`/${ANCHOR_FILE}`)) continue;
    const uuid = snapshot.parsedAnchors.get(parentOf(file))?.parsed.assetUuid;
    if (uuid) removedRoots.set(uuid, parentOf(file));
  }
  for (const [file, change] of [...result]) {
    if (change?.change !== 'added' || !file.endsWith(`/${ANCHOR_FILE}`)) continue;
    const uuid = readUuid(assets, file);
    const from = uuid !== null ? removedRoots.get(uuid) : undefined;
    if (from === undefined) continue;
    const to = parentOf(file);
    for (const [other] of result) if (isWithin(from, other) || isWithin(to, other)) result.set(other, null);
    result.set(to, { path: to, change: 'moved', from, assetUuid: uuid! });
  }
  return result;
}

/**
 * The moves a snapshot shows by itself: registered roots whose `asset.json` is gone while an unregistered
 * root carries their `asset_uuid` (the `root-moved` diagnostics). Found without any fingerprint, so a move
 * made while no packer ran is recognised on open even when no earlier run left fingerprints.
 */
export function movesOf(snapshot: Snapshot): RootMove[] {
  const moves: RootMove[] = [];
  for (const record of snapshot.assets) {
    if (record.state !== 'missing' || record.entry === null) continue;
    const moved = record.diagnostics.find((diagnostic) => diagnostic.code === 'root-moved');
    const to = moved?.safeFix?.mutation.kind === 'relocate' ? moved.safeFix.mutation.to : undefined;
    if (to !== undefined) moves.push({ from: record.root, to, assetUuid: record.entry.asset_uuid });
  }
  return moves;
}

/**
 * Replaces the added and removed files of each moved root with one `moved` change of the root. A move no
 * change touches (made before the fingerprints were saved) is left out: it is not news.
 */
export function foldMoves(changes: readonly DivergentChange[], moves: readonly RootMove[]): DivergentChange[] {
  const touching = (move: RootMove, change: DivergentChange): boolean =>
    isWithin(move.from, change.path) || isWithin(move.to, change.path);
  const news = moves.filter((move) => changes.some((change) => touching(move, change)));
  if (news.length === 0) return [...changes];
  const folded = changes.filter((change) => !news.some((move) => touching(move, change)));
  for (const move of news) folded.push({ path: move.to, change: 'moved', from: move.from, assetUuid: move.assetUuid });
  return folded;
}

/** The asset roots a set of changes touches (the enclosing root of each path, old or new). */
export function touchedRoots(snapshot: Snapshot, changes: Iterable<DivergentChange>): string[] {
  const roots = new Set<string>();
  for (const change of changes) {
    for (const path of change.from !== undefined ? [change.path, change.from] : [change.path]) {
      if (snapshot.byRoot.has(path)) roots.add(path);
      else if (path.endsWith(`/${ANCHOR_FILE}`)) roots.add(parentOf(path));
      else
        for (let folder = parentOf(path); folder !== ''; folder = parentOf(folder))
          if (snapshot.byRoot.has(folder)) {
            roots.add(folder);
            break;
          }
    }
  }
  return [...roots].sort(compareStrings);
}

/** Receives what a settle found new. */
export type DivergenceListener = (added: readonly DivergentChange[], snapshot: Snapshot) => void;

export class DivergenceTracker {
  /** Invariant: paths the watcher reported since the last classification. */
  private pending = new Set<string>();
  /** Invariant: the current divergence: the disk differs from the current snapshot at exactly these paths. */
  private changes = new Map<string, DivergentChange>();
  /** Invariant: the snapshot revision the divergence is relative to, or null when not diverged. */
  private since: number | null = null;
  /** Invariant: true when the changes were found on open (made while no packer was running). */
  between = false;
  private timer: NodeJS.Timeout | undefined;
  private settling: Promise<void> | undefined;

  constructor(
    private readonly source: DivergenceSource,
    private readonly settleMs: number,
    private readonly listener: DivergenceListener,
  ) {}

  /** Paths the watcher reported; classified after the settle window. */
  note(paths: readonly string[]): void {
    for (const path of paths) this.pending.add(path);
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.settle(), this.settleMs);
    this.timer.unref();
  }

  /** Classifies what is pending now (tests call it instead of waiting for the window). */
  settle(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const previous = this.settling ?? Promise.resolve();
    this.settling = previous.then(() => this.classifyPending());
    return this.settling;
  }

  private async classifyPending(): Promise<void> {
    await this.source.whenLaneIdle();
    if (this.pending.size === 0) return;
    const paths = [
      ...this.pending,
      ...this.changes.keys(),
      ...[...this.changes.values()].flatMap((change) => (change.from ? [change.from] : [])),
    ];
    this.pending.clear();
    this.apply(classifyPaths(this.source, this.source.snapshot(), paths), false);
  }

  /** Records a classification; tells the listener what is new. */
  apply(classified: Map<string, DivergentChange | null>, between: boolean): void {
    const snapshot = this.source.snapshot();
    const fresh: DivergentChange[] = [];
    for (const [path, change] of classified) {
      if (change === null) {
        this.changes.delete(path);
        continue;
      }
      const known = this.changes.get(path);
      if (known?.change !== change.change || known.from !== change.from) fresh.push(change);
      this.changes.set(path, change);
    }
    if (this.changes.size === 0) {
      this.since = null;
      this.between = false;
    } else if (this.since === null) {
      this.since = snapshot.revision;
      this.between = between;
    }
    if (fresh.length > 0) this.listener(fresh, snapshot);
  }

  /** The divergence now. */
  current(): { diverged: boolean; sinceRevision: number | null; changes: DivergentChange[] } {
    return {
      diverged: this.changes.size > 0,
      sinceRevision: this.since,
      changes: [...this.changes.values()].sort((a, b) => compareStrings(a.path, b.path)),
    };
  }

  /** Whether any divergent path lies within one of `paths` (or contains it). */
  touches(paths: readonly string[]): DivergentChange | undefined {
    for (const change of this.changes.values()) {
      for (const path of paths) {
        for (const changed of change.from !== undefined ? [change.path, change.from] : [change.path]) {
          if (isWithin(path, changed) || isWithin(changed, path)) return change;
        }
      }
    }
    return undefined;
  }

  /** The paths the watcher reported that are not classified yet. */
  pendingPaths(): string[] {
    return [...this.pending];
  }

  /** Forgets everything: a reconcile accepted the disk. Returns how many paths it cleared. */
  clear(): number {
    const count = this.changes.size;
    this.changes.clear();
    this.pending.clear();
    this.since = null;
    this.between = false;
    return count;
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
  }
}
