/**
 * The writer lock: `assets/.prometeu/writer.lock` names the one packer process that may write a project.
 * It is taken lazily by the first write and released when the project closes. A lock whose process is
 * gone (same host, pid no longer alive) is stale and is taken over; a live holder makes this process
 * refuse writes while it keeps serving reads.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { isProcessAlive } from '../io/process.js';
import { basename, dirname, join } from 'node:path';

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
  private readonly path: string;
  /** Invariant: true exactly while this instance's token is in the lock file. */
  private owned = false;
  private readonly token = randomBytes(8).toString('hex');

  constructor(private readonly assetsDir: string) {
    this.path = join(assetsDir, LOCK_PATH);
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
      if (this.read()?.token === this.token) return { ok: true };
      this.owned = false;
    }
    mkdirSync(join(this.assetsDir, '.prometeu'), { recursive: true });
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        this.create();
        this.owned = true;
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
          unlinkSync(this.path);
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
    const temporary = join(
      dirname(this.path),
      `.${basename(this.path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`,
    );
    const descriptor = openSync(temporary, 'wx', 0o644);
    try {
      writeSync(descriptor, `${JSON.stringify({ pid: process.pid, hostname: hostname(), token: this.token })}\n`);
      fsyncSync(descriptor);
    } catch (error) {
      // A full disk: the temporary file goes too, so the failure leaves the control folder as it was.
      closeSync(descriptor);
      unlinkSync(temporary);
      throw error;
    }
    closeSync(descriptor);
    try {
      linkSync(temporary, this.path);
    } finally {
      unlinkSync(temporary);
    }
  }

  /** Releases the lock if this instance holds it. */
  release(): void {
    if (!this.owned) return;
    this.owned = false;
    const holder = this.read();
    if (holder?.token === this.token) {
      try {
        unlinkSync(this.path);
      } catch {
        // Already gone.
      }
    }
  }

  private read(): LockContent | null {
    try {
      const content = JSON.parse(readFileSync(this.path, 'utf8')) as Partial<LockContent>;
      if (typeof content.pid !== 'number' || typeof content.hostname !== 'string' || typeof content.token !== 'string')
        return null;
      return content as LockContent;
    } catch {
      return null;
    }
  }

  private ageMs(): number {
    try {
      return Date.now() - statSync(this.path).mtimeMs;
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
