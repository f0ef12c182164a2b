/**
 * The writer lock: `assets/.prometeu/writer.lock` names the one packer process that may write a project.
 * It is taken lazily by the first write and released when the project closes. A lock whose process is
 * gone (same host, pid no longer alive) is stale and is taken over; a live holder makes this process
 * refuse writes while it keeps serving reads.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { isProcessAlive } from '../io/process.js';
import { folderFs, type FolderLocation, type ProjectFs } from '../io/project-fs.js';
import { SIZE_LIMITS } from '../io/size-limits.js';

/** The lock file, relative to `assets/`. */
export const LOCK_PATH = '.prometeu/writer.lock';

/** Who holds a lock, as written in the file. */
interface LockContent {
  readonly pid: number;
  readonly hostname: string;
  readonly token: string;
}

/** The result of trying to take the lock. */
export type LockAttempt =
  { readonly ok: true } | { readonly ok: false; readonly holderPid?: number; readonly lockPath: string };

export class WriterLock {
  private readonly assets: ProjectFs;
  /** Invariant: true exactly while this instance's token is in the lock file. */
  private owned = false;
  /**
   * Invariant: while owned, the identity (device, inode, size, modification and change times) of the lock file
   * when this instance last found or put its token in it; undefined when unknown. A file with that identity
   * still holds the token: a replaced or rewritten lock has another inode or change time.
   */
  private identity: string | undefined;
  private readonly token = randomBytes(8).toString('hex');

  constructor(assetsDir: FolderLocation) {
    this.assets = folderFs(assetsDir);
  }

  /** Whether this instance holds the lock, another live process does, or nobody. */
  state(): 'owned' | 'heldByOther' | 'available' {
    if (this.owned) return 'owned';
    const holder = this.read();
    return holder !== null && !this.isStale(holder) ? 'heldByOther' : 'available';
  }

  /**
   * Takes the lock if free or stale. While owned, checks that the file still holds this instance's token:
   * two processes taking over one stale lock at the same instant can each delete the other's fresh lock,
   * and a person can delete the file by hand; the one whose token is not in the file is not the writer.
   * The lane calls this before every write, so a lost lock is noticed before anything is written.
   */
  acquire(): LockAttempt {
    if (this.owned) {
      // One lstat, not an open, read and parse of the file, per write while nothing touched the lock.
      const identity = this.identityNow();
      if (identity !== undefined && identity === this.identity) return { ok: true };
      if (this.read()?.token === this.token) {
        this.identity = identity;
        return { ok: true };
      }
      this.owned = false;
      this.identity = undefined;
    }
    this.assets.makeFoldersSync('.prometeu');
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        this.create();
        this.owned = true;
        this.identity = this.identityNow();
        return { ok: true };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const holder = this.read();
        if (holder !== null && !this.isStale(holder))
          return { ok: false, holderPid: holder.pid, lockPath: `assets/${LOCK_PATH}` };
        // This code never leaves a partial lock (see create), but an older packer could: respect an
        // unreadable lock while young, in case its process is writing it right now.
        if (holder === null && this.ageMs() < 5000) return { ok: false, lockPath: `assets/${LOCK_PATH}` };
        // Stale (its process is gone) or old garbage: take it over.
        try {
          this.assets.unlinkSync(LOCK_PATH);
        } catch {
          // Someone else removed it first; try again.
        }
      }
    }
    return { ok: false, lockPath: `assets/${LOCK_PATH}` };
  }

  /**
   * Creates the lock file with its whole content, or throws EEXIST when it exists. The content is written
   * and flushed under a temporary name first, then hard-linked into place, so a crash at any instant
   * leaves either no lock or a complete one, never an empty file that would block writers until it ages.
   * The temporary name follows the atomic writes' pattern, so a crash's leftover is swept like theirs.
   */
  private create(): void {
    this.assets.createFileExclusiveSync(
      LOCK_PATH,
      `${JSON.stringify({ pid: process.pid, hostname: hostname(), token: this.token })}\n`,
    );
  }

  /** Releases the lock if this instance holds it. */
  release(): void {
    if (!this.owned) return;
    this.owned = false;
    this.identity = undefined;
    const holder = this.read();
    if (holder?.token === this.token) {
      try {
        this.assets.unlinkSync(LOCK_PATH);
      } catch {
        // Already gone.
      }
    }
  }

  /** The lock file's identity now (see {@link identity}), or undefined when it cannot be told. */
  private identityNow(): string | undefined {
    try {
      const stats = this.assets.identityStat(LOCK_PATH);
      return stats === null || !stats.isFile()
        ? undefined
        : `${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeNs}:${stats.ctimeNs}`;
    } catch {
      return undefined;
    }
  }

  private read(): LockContent | null {
    try {
      // Bounded and never blocking: a FIFO or a huge file at the lock's name reads as an unreadable lock.
      const content = JSON.parse(this.assets.readText(LOCK_PATH, SIZE_LIMITS.writerLock)) as Partial<LockContent>;
      if (typeof content.pid !== 'number' || typeof content.hostname !== 'string' || typeof content.token !== 'string')
        return null;
      return content as LockContent;
    } catch {
      return null;
    }
  }

  private ageMs(): number {
    try {
      const stats = this.assets.stat(LOCK_PATH);
      return stats === null ? Number.POSITIVE_INFINITY : Date.now() - stats.mtimeMs;
    } catch {
      return Number.POSITIVE_INFINITY;
    }
  }

  private isStale(holder: LockContent): boolean {
    // On another host the pid means nothing here: never steal it.
    if (holder.hostname !== hostname()) return false;
    return !isProcessAlive(holder.pid);
  }
}
