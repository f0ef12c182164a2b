/** Private copies of cached workspaces in a temporary folder, for benchmarks that write into the tree they measure; one pooled copy per workspace, restored between users. */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  type Stats,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

/** A copy of a project folder that is deleted (or handed back to its pool) when the benchmark is done with it. */
export interface PrivateCopy {
  /** The copied project folder (it holds `assets/`). */
  readonly projectDir: string;
  /** Milliseconds the copy took (or, for a pooled copy handed out again, its restore took). */
  readonly copyMs: number;
  /** Deletes the copy and its temporary parent, or hands a pooled copy back to its pool. */
  remove(): void;
}

/** What restoring a pooled copy found and did. */
export interface RestoreReport {
  /** Folders and other entries the restore looked at (every one of the copy's). */
  readonly visited: number;
  /** Entries copied back from the source (a changed file counts once, a folder with all it holds once). */
  readonly copiedBack: number;
  /** Entries deleted because the source does not have them. */
  readonly deleted: number;
  readonly ms: number;
}

/**
 * Copies `sourceDir` into a new folder under the system's temporary folder, which is on the same file system
 * as the cached workspaces on this machine (checked with `df`), so writes and fsyncs cost the same as they
 * would in place. `label` names the temporary folder. While a pool is installed ({@link installCopyPool}),
 * the copy comes from the pool instead, and `remove` hands it back.
 */
export function copyToTemporary(sourceDir: string, label: string): PrivateCopy {
  return installedPool !== undefined ? installedPool.acquire(sourceDir, label) : freshCopy(sourceDir, label);
}

/**
 * Runs a coreutils command to completion; false when it could not run or failed (the caller then does the
 * same work in Node). On Linux `cp -a` and `rm -rf` do a tree of 300k small files several times faster than
 * Node 20's `cpSync` and `rmSync` (its recursive removal is a JavaScript walk): docs/performance-history.md, "Bench
 * under 10 minutes".
 */
function runNative(command: string, args: readonly string[]): boolean {
  const result = spawnSync(command, args, { stdio: 'ignore' });
  return result.error === undefined && result.status === 0;
}

/** Copies the tree `sourceDir` to the new path `targetDir` (links copied as links, modes and times kept). */
export function copyTree(sourceDir: string, targetDir: string): void {
  if (process.platform === 'linux' && runNative('cp', ['-a', '--', sourceDir, targetDir])) return;
  rmSync(targetDir, { recursive: true, force: true });
  cpSync(sourceDir, targetDir, { recursive: true, verbatimSymlinks: true });
}

/** Deletes the tree at `path`, if there is one. */
export function removeTree(path: string): void {
  if (process.platform === 'linux' && runNative('rm', ['-rf', '--', path])) return;
  rmSync(path, { recursive: true, force: true });
}

function freshCopy(sourceDir: string, label: string): PrivateCopy & { readonly parent: string } {
  const parent = mkdtempSync(join(tmpdir(), `prometeu-bench-${label}-`));
  const projectDir = join(parent, 'project');
  const started = performance.now();
  try {
    copyTree(sourceDir, projectDir);
  } catch (error) {
    removeTree(parent);
    throw error;
  }
  const copyMs = performance.now() - started;
  return { parent, projectDir, copyMs, remove: () => removeTree(parent) };
}

/** Blocks the thread for `ms` (the restore's clock margin; see {@link PrivateCopyPool}). */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** One pooled copy and what the pool knows of it. */
interface PooledCopy {
  readonly sourceDir: string;
  /** What the temporary folder's name says (and the kept folder's, see {@link PrivateCopyPool}). */
  readonly label: string;
  readonly parent: string;
  readonly projectDir: string;
  /**
   * Invariant: every entry of the copy whose status changed (ctime) at or before this wall-clock time, in
   * ms, is as in the source; an entry changed after it may differ. Set after each copy or restore.
   */
  cleanUntil: number;
  /** Whether a user holds the copy now (a second user of the same source gets a fresh, unpooled copy). */
  leased: boolean;
}

/**
 * One private copy per source folder, made on first use and handed out again and again: each user gets it
 * restored to the source's state, and the copies are deleted once, at {@link dispose}. At 100k roots a copy
 * (300,810 files) takes about 30 s to make and longer to delete, where a restore takes a crawl.
 *
 * The restore trusts the kernel's ctime, which every write, rename, link, chmod or utimes of an entry moves
 * (and which no user can set back): the crawl lstats every entry of the copy, and only an entry changed
 * after the copy was last clean is compared with the source: a changed file is copied back, a changed folder
 * has its listing compared (extra entries deleted, missing ones copied back) before the crawl goes on into
 * it. A folder whose contents changed has a new ctime itself, so nothing is missed; a file the source does
 * not have is always inside a changed folder. Because the kernel stamps ctimes from a coarse clock, the
 * pool waits 20 ms on each side of the mark.
 *
 * With `keepIn`, the copies outlive the run: {@link dispose} moves each into that folder with its mark
 * (`pool.json`), and the next pool with the same `keepIn` takes it (an atomic rename, so two runs never
 * share one) and restores it instead of copying again, as long as the source's stamp (its folder's and its
 * top-level entries' inode and times: a regenerated workspace has others) is unchanged. The invariant holds
 * across runs because nothing can set a ctime back.
 */
export class PrivateCopyPool {
  /** Invariant: one entry per source folder, the copy on disk until {@link dispose}. */
  private readonly copies = new Map<string, PooledCopy>();
  /** Restores done so far (for the log). */
  readonly restores: RestoreReport[] = [];

  constructor(
    private readonly log: (message: string) => void = () => undefined,
    private readonly keepIn?: string,
  ) {}

  /** Where a copy of `sourceDir` is kept between runs. */
  private keptPath(sourceDir: string): string {
    const digest = createHash('sha256').update(sourceDir).digest('hex').slice(0, 12);
    return join(this.keepIn!, `${basename(sourceDir)}-${digest}`);
  }

  /** The copy of `sourceDir` a previous run kept, claimed and checked, or undefined. */
  private claimKept(sourceDir: string, label: string): PooledCopy | undefined {
    if (this.keepIn === undefined) return undefined;
    const kept = this.keptPath(sourceDir);
    const parent = join(tmpdir(), `prometeu-bench-${label}-${process.pid}-${basename(kept)}`);
    try {
      renameSync(kept, parent);
    } catch {
      return undefined; // None kept, or another run holds it.
    }
    try {
      const record = JSON.parse(readFileSync(join(parent, 'pool.json'), 'utf8')) as KeptRecord;
      if (record.sourceDir === sourceDir && record.stamp === sourceStamp(sourceDir))
        return {
          sourceDir,
          label,
          parent,
          projectDir: join(parent, 'project'),
          cleanUntil: record.cleanUntil,
          leased: false,
        };
    } catch {
      // No record or an unreadable one: not a copy to trust.
    }
    this.log(`the kept copy of ${sourceDir} is of another source or state; deleting it`);
    removeTree(parent);
    return undefined;
  }

  /** A copy of `sourceDir` no one else holds: the pooled one (restored if used before) or, while it is held, a fresh one. */
  acquire(sourceDir: string, label: string): PrivateCopy {
    let pooled = this.copies.get(sourceDir);
    if (pooled === undefined) {
      pooled = this.claimKept(sourceDir, label);
      if (pooled !== undefined) {
        this.copies.set(sourceDir, pooled);
        this.log(`private copy of ${sourceDir} kept by an earlier run, in ${pooled.projectDir}`);
      }
    }
    if (pooled === undefined) {
      const copy = freshCopy(sourceDir, label);
      const entry: PooledCopy = {
        sourceDir,
        label,
        parent: copy.parent,
        projectDir: copy.projectDir,
        cleanUntil: markClean(),
        leased: true,
      };
      this.copies.set(sourceDir, entry);
      this.log(`private copy of ${sourceDir} in ${copy.projectDir} (${(copy.copyMs / 1000).toFixed(1)} s)`);
      return this.lease(entry, copy.copyMs);
    }
    if (pooled.leased) return freshCopy(sourceDir, label);
    const report = restoreCopy(pooled.sourceDir, pooled.projectDir, pooled.cleanUntil);
    pooled.cleanUntil = markClean();
    pooled.leased = true;
    this.restores.push(report);
    this.log(
      `private copy of ${sourceDir} restored in ${(report.ms / 1000).toFixed(1)} s (${report.visited} entries, ${report.copiedBack} copied back, ${report.deleted} deleted)`,
    );
    return this.lease(pooled, report.ms);
  }

  private lease(entry: PooledCopy, copyMs: number): PrivateCopy {
    let held = true;
    return {
      projectDir: entry.projectDir,
      copyMs,
      remove: () => {
        if (!held) return;
        held = false;
        entry.leased = false;
      },
    };
  }

  /** Deletes every pooled copy, or with `keepIn` puts each away for the next run; returns the milliseconds it took. */
  dispose(): number {
    const started = performance.now();
    for (const entry of this.copies.values()) {
      if (this.keepIn !== undefined && !entry.leased && this.putAway(entry)) continue;
      removeTree(entry.parent);
    }
    this.copies.clear();
    return performance.now() - started;
  }

  /** Moves `entry` into {@link keepIn} with its mark; false when it could not (another run kept one first). */
  private putAway(entry: PooledCopy): boolean {
    try {
      const record: KeptRecord = {
        sourceDir: entry.sourceDir,
        stamp: sourceStamp(entry.sourceDir),
        cleanUntil: entry.cleanUntil,
      };
      writeFileSync(join(entry.parent, 'pool.json'), `${JSON.stringify(record)}\n`);
      mkdirSync(this.keepIn!, { recursive: true });
      renameSync(entry.parent, this.keptPath(entry.sourceDir));
      return true;
    } catch {
      return false;
    }
  }
}

/** What a kept copy's `pool.json` says: whose copy it is, of which state of it, and its mark. */
interface KeptRecord {
  readonly sourceDir: string;
  readonly stamp: string;
  readonly cleanUntil: number;
}

/** The inode and times of `sourceDir` and of each of its top-level entries: another generation of it has others. */
function sourceStamp(sourceDir: string): string {
  const stampOf = (path: string): string => {
    const stats = lstatSync(path);
    return `${stats.ino}:${stats.ctimeMs}:${stats.mtimeMs}:${stats.size}`;
  };
  return [
    stampOf(sourceDir),
    ...readdirSync(sourceDir)
      .sort()
      .map((name) => `${name}=${stampOf(join(sourceDir, name))}`),
  ].join(' ');
}

/** Waits out the coarse ctime clock on both sides of a mark, and returns the mark (wall-clock ms). */
function markClean(): number {
  pause(20);
  const mark = Date.now();
  pause(20);
  return mark;
}

let installedPool: PrivateCopyPool | undefined;

/** Makes {@link copyToTemporary} hand out `pool`'s copies (or fresh ones again, with `undefined`). */
export function installCopyPool(pool: PrivateCopyPool | undefined): void {
  installedPool = pool;
}

function kindOf(stats: Stats): 'folder' | 'file' | 'link' | 'other' {
  if (stats.isDirectory()) return 'folder';
  if (stats.isFile()) return 'file';
  if (stats.isSymbolicLink()) return 'link';
  return 'other';
}

function copyBack(source: string, target: string): void {
  const stats = lstatSync(source);
  if (stats.isSymbolicLink()) symlinkSync(readlinkSync(source), target);
  else cpSync(source, target, { recursive: true, verbatimSymlinks: true });
}

/**
 * Brings `copyDir` back to `sourceDir`'s tree (names, kinds, file contents and link targets), trusting that
 * every entry of the copy whose ctime is at or before `cleanUntil` still matches the source (see
 * {@link PrivateCopyPool}). Exported for its tests.
 */
export function restoreCopy(sourceDir: string, copyDir: string, cleanUntil: number): RestoreReport {
  const started = performance.now();
  let visited = 0;
  let copiedBack = 0;
  let deleted = 0;
  const changed = (stats: Stats): boolean => stats.ctimeMs > cleanUntil;
  // Folders known to exist in both trees with the same kind; each is entered once.
  const pending: [source: string, copy: string, changed: boolean][] = [
    [sourceDir, copyDir, changed(lstatSync(copyDir))],
  ];
  while (pending.length > 0) {
    const [source, copy, folderChanged] = pending.pop()!;
    const names = readdirSync(copy);
    if (folderChanged) {
      const sourceNames = new Set(readdirSync(source));
      const present = new Set(names);
      for (const name of names)
        if (!sourceNames.has(name)) {
          rmSync(join(copy, name), { recursive: true, force: true });
          deleted++;
        }
      for (const name of sourceNames)
        if (!present.has(name)) {
          copyBack(join(source, name), join(copy, name));
          copiedBack++;
        }
    }
    for (const name of names) {
      const target = join(copy, name);
      let stats: Stats;
      try {
        stats = lstatSync(target);
      } catch {
        continue; // Deleted above: the source does not have it.
      }
      visited++;
      const kind = kindOf(stats);
      if (kind === 'folder' && !changed(stats)) {
        pending.push([join(source, name), target, false]);
        continue;
      }
      if (!changed(stats)) continue;
      const origin = join(source, name);
      const originKind = kindOf(lstatSync(origin));
      if (kind === 'folder' && originKind === 'folder') {
        pending.push([origin, target, true]);
        continue;
      }
      rmSync(target, { recursive: true, force: true });
      copyBack(origin, target);
      copiedBack++;
    }
  }
  return { visited, copiedBack, deleted, ms: performance.now() - started };
}
