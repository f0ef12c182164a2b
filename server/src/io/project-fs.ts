/**
 * The only code that touches a project's files. Every path below the project root is resolved without
 * following links, every read is bounded and comes from inside the project, and every folder creation and
 * rename is checked afterwards to have landed where it was meant to; see "Trust model" in ARCHITECTURE.md.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fstatSync,
  fsync,
  fsyncSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  read,
  readlinkSync,
  readSync,
  realpathSync,
  renameSync,
  rmdirSync,
  statSync,
  unlinkSync,
  writeSync,
  type BigIntStats,
  type Dirent,
  type Stats,
} from 'node:fs';
import { cp, link, mkdir, open, rename, rmdir, unlink, type FileHandle } from 'node:fs/promises';
import { isUtf8 } from 'node:buffer';
import { basename, dirname, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { IoErrorCode } from '@prometeu/packer-protocol';

const fsyncAsync = promisify(fsync);
const readAsync = promisify(read);

const NOFOLLOW = constants.O_NOFOLLOW ?? 0;
const NONBLOCK = constants.O_NONBLOCK ?? 0;
const NOCTTY = constants.O_NOCTTY ?? 0;
const DIRECTORY = constants.O_DIRECTORY ?? 0;
/** A folder: never through a final link, never blocking. */
const FOLDER_FLAGS = constants.O_RDONLY | DIRECTORY | NOFOLLOW | NONBLOCK;
/** A file to read: never through a final link, never blocking (a FIFO opens at once and is refused by fstat). */
const READ_FLAGS = constants.O_RDONLY | NOFOLLOW | NONBLOCK | NOCTTY;
/** A new file: fails when anything (a link included) has the name. */
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | NOFOLLOW | NOCTTY;
/** A file appended to: created when absent, never through a link, never blocking. */
const APPEND_FLAGS = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | NOFOLLOW | NONBLOCK | NOCTTY;

/** Paths the fast path of a scope leaves to the strict checks: absolute, `.`/`..` or empty segments, NUL. */
const UNUSUAL_PATH = /^\/|\/$|\/\/|\0|(^|\/)\.\.?(\/|$)/;

/** Bytes of one writev of {@link ProjectFs.writeNewFilePieces}. */
const PIECES_BATCH_BYTES = 8 * 1024 * 1024;

/** Folder descriptors a scope keeps open at most. */
const SCOPE_FOLDERS = 64;
/** Levels of a tree removal that hold a descriptor each; deeper levels are removed by path below the last. */
const REMOVE_DESCRIPTOR_DEPTH = 64;
/**
 * Levels of a walk that keep their folder's descriptor open while the folders below are walked; a
 * deeper folder is opened by its path and verified instead, so a hostile tree nested thousands of levels
 * deep cannot exhaust the process's descriptors.
 */
const WALK_DESCRIPTOR_DEPTH = 64;

/** The `lstat` of an entry, as {@link ProjectFs.stat} gives it (for modules that may not import `node:fs`). */
export type EntryStats = Stats;

/** What is at a path, without following a link there. */
export type EntryKind = 'file' | 'folder' | 'link' | 'other' | 'absent';

/** A file written and flushed under a temporary name, not yet in place ({@link ProjectFs.prepareFileAtomic}). */
export interface PreparedFile {
  /**
   * Renames the temporary file over the target, then (unless `flushFolder` is false, for a caller that
   * flushes the folder itself) flushes the folder; the file is durable in place once it resolves.
   */
  commit(options?: { readonly flushFolder?: boolean }): Promise<void>;
  /** Removes the temporary file; nothing changed. A no-op once settled. */
  abandon(): Promise<void>;
}

/** Why the io module refused a path. */
export type ConfinementReason =
  'symlink' | 'not-a-folder' | 'not-a-file' | 'special-file' | 'too-large' | 'moved-outside' | 'outside';

/** The code each refusal carries; the protocol's `IoErrorCodes` table says what each means. */
const REASON_CODES: Readonly<Record<ConfinementReason, IoErrorCode>> = {
  symlink: 'ELOOP',
  'not-a-folder': 'ENOTDIR',
  'not-a-file': 'EISDIR',
  'special-file': 'EFTYPE',
  'too-large': 'EFBIG',
  'moved-outside': 'EOUTSIDE',
  outside: 'EOUTSIDE',
};

/**
 * A path the io module refused: a link, a FIFO, a device or a socket where a file or folder was expected,
 * a file over its size limit, or a result that was not where it was meant to be. It carries an errno-like
 * `code` (`ELOOP`, `ENOTDIR`, `EISDIR`, `EFTYPE`, `EFBIG`, `EOUTSIDE`) and the absolute `path`, so callers
 * treat it as the I/O failure it is (a write answers `WriteFailed`, a read records the code).
 */
export class ConfinementError extends Error {
  readonly code: IoErrorCode;
  constructor(
    readonly reason: ConfinementReason,
    /** The absolute path of the offending entry. */
    readonly path: string,
    message: string,
  ) {
    super(message);
    this.name = 'ConfinementError';
    this.code = REASON_CODES[reason];
  }
}

function errorCode(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Invariant: undefined until first asked; then whether `/proc/self/fd/N` names an open descriptor's file. */
let procFdWorks: boolean | undefined;

/** Whether descriptors can be used as folders by path (`/proc/self/fd/N`, Linux) and asked for their real path. */
function hasProcFd(): boolean {
  if (procFdWorks === undefined) {
    try {
      const fd = openSync('/', FOLDER_FLAGS);
      try {
        procFdWorks = readlinkSync(`/proc/self/fd/${fd}`) === '/';
      } finally {
        closeSync(fd);
      }
    } catch {
      procFdWorks = false;
    }
  }
  return procFdWorks;
}

/** A folder met by {@link ProjectFs.walkFolders}, with its entries and what can be done in it while it is open. */
export interface WalkedFolder {
  /** The folder, relative to the view's base (POSIX, '' for the base itself). */
  readonly path: string;
  /** Its entries as the folder lists them (links not followed); names that are not UTF-8 are left out. */
  readonly entries: readonly Dirent[];
  /** The lossy names of the entries that are not UTF-8 (see {@link ProjectFs.list}). */
  readonly undecodable: readonly string[];
  /** {@link ProjectFs.readText} of the entry `name` of this folder, through the folder's descriptor. */
  readText(name: string, limit: number): string;
  /** {@link ProjectFs.stat} of the entry `name` of this folder, through the folder's descriptor. */
  stat(name: string): Stats | null;
}

/** One folder of a walk whose subfolders are still to be walked. */
interface WalkFrame {
  /** Its descriptor, or null past {@link WALK_DESCRIPTOR_DEPTH} (its subfolders are then opened by path). */
  readonly fd: number | null;
  /** Components below the root. */
  readonly parts: readonly string[];
  /** Relative to the view's base. */
  readonly path: string;
  /** Subfolders still to walk, the next one last. */
  readonly pending: string[];
}

/** An open folder: its descriptor, the absolute path it is meant to have, and how to name entries in it. */
interface Folder {
  readonly fd: number;
  /** The absolute path the folder is meant to be at. */
  readonly path: string;
  /** A path that names this very folder (`/proc/self/fd/N` on Linux, else its path). */
  readonly via: string;
  release(): void;
}

/** Folder descriptors kept open for one operation (see {@link ProjectFs.scope}); least recently used go first. */
class FolderCache {
  /** Invariant: every descriptor here is open and verified to have been at its key when it was opened. */
  private readonly folders = new Map<string, number>();

  /** Invariant: the key most recently returned or put (already the newest in {@link folders}). */
  private newest: string | undefined;

  get(key: string): number | undefined {
    const fd = this.folders.get(key);
    if (fd !== undefined && key !== this.newest) {
      this.folders.delete(key);
      this.folders.set(key, fd);
      this.newest = key;
    }
    return fd;
  }

  put(key: string, fd: number): void {
    this.folders.set(key, fd);
    this.newest = key;
    if (this.folders.size > SCOPE_FOLDERS) {
      const [oldest, oldFd] = this.folders.entries().next().value as [string, number];
      this.folders.delete(oldest);
      closeSync(oldFd);
    }
  }

  clear(): void {
    for (const fd of this.folders.values()) closeSync(fd);
    this.folders.clear();
    this.newest = undefined;
  }
}

/** Replaces the descriptor path `via` by the path it stands for in an error's path, dest and message. */
function relabel(error: unknown, via: string, path: string): unknown {
  if (via === path || typeof error !== 'object' || error === null) return error;
  const record = error as { path?: unknown; dest?: unknown; message?: unknown };
  const swap = (value: unknown): unknown =>
    typeof value === 'string' && value.includes(via) ? value.split(via).join(path) : value;
  try {
    record.path = swap(record.path);
    record.dest = swap(record.dest);
    record.message = swap(record.message);
  } catch {
    // A frozen error keeps its own text.
  }
  return error;
}

/** A relative path whose every component is a name: no empty, `.` or `..` component, no NUL, not absolute. */
const PLAIN_RELATIVE = /^(?![^]*(?:^|\/)\.{0,2}(?:\/|$))[^\0]+$/;

function splitRelative(relative: string): string[] {
  if (relative === '' || relative === '.') return [];
  return relative.split('/').filter((part) => part !== '' && part !== '.');
}

function temporaryName(name: string): string {
  return `.${name}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
}

/**
 * A project's file system, confined to its root: every path given to it is relative to {@link base}
 * (POSIX, no `..`), and it never reads, writes, creates or removes anything that is not below the root
 * through real folders only.
 *
 * How: on Linux a folder is opened with `O_DIRECTORY | O_NOFOLLOW` and its real path is read back from
 * `/proc/self/fd/N` and compared with the path it was meant to have; entries are then opened, created,
 * renamed and removed through that descriptor (`/proc/self/fd/N/name`, like `openat`), so no link on the
 * way is ever followed. A file is opened with `O_NOFOLLOW | O_NONBLOCK`, checked with `fstat` (a regular
 * file within its size limit) and its own real path is compared too, before a byte is read. After each
 * folder creation and rename the folder written into is checked to still be where it was meant to be; if
 * not, the step is undone and the call fails with `EOUTSIDE`. Elsewhere (no `/proc`), every component is
 * checked with `lstat` instead, which leaves a window for a race.
 *
 * The project root itself is canonicalised once (`realpath`) when the instance is made: links above the
 * root are the user's business; everything below it is confined.
 */
export class ProjectFs {
  /** {@link baseParts} joined: the cache key of the base folder. */
  private readonly baseKey: string;
  /** The absolute path of the base folder, as a prefix of `/relative` ('' for a base at the file system's root). */
  private readonly basePrefix: string;

  private constructor(
    /** The canonical absolute path of the project root. */
    readonly root: string,
    private readonly baseParts: readonly string[],
    /** Folder descriptors of the operation this instance is scoped to, or null when unscoped. */
    private readonly folders: FolderCache | null,
  ) {
    this.baseKey = baseParts.join('/');
    const base = this.absolute(baseParts);
    this.basePrefix = base === '/' ? '' : base;
  }

  /** The file system of the project at `path` (canonicalised once, here). */
  static openRoot(path: string): ProjectFs {
    return new ProjectFs(realpathSync(resolve(path)), [], null);
  }

  /**
   * The file system of the folder at `path`, confined to its parent folder: for tests and tools that name
   * a folder (an `assets/` folder, a cache folder) by its path. The server passes the project's instance.
   */
  static ofFolder(path: string): ProjectFs {
    const absolute = resolve(path);
    return ProjectFs.openRoot(dirname(absolute)).at(basename(absolute));
  }

  /** The folder (relative to the root, POSIX, '' for the root) every path given to this instance is relative to. */
  get base(): string {
    return this.baseParts.join('/');
  }

  /** A view of the folder `relative` (below this one); confinement stays relative to the same root. */
  at(relative: string): ProjectFs {
    return new ProjectFs(this.root, this.parts(relative), null);
  }

  /** The absolute path of `relative`, for messages and for callers that report paths. */
  path(relative = ''): string {
    return this.absolute(this.parts(relative));
  }

  /**
   * Runs `body` with a view that keeps the folders it opens for reads open (a few dozen, least recently
   * used go first), so one operation does not resolve the same folder again for each file in it. Only for
   * reads: what it caches is closed when `body` returns or its promise settles, and any write through the
   * view forgets the cache first. Nothing is cached across operations.
   */
  scope<T>(body: (scoped: ProjectFs) => T): T {
    const cache = new FolderCache();
    const scoped = new ProjectFs(this.root, this.baseParts, cache);
    let result: T;
    try {
      result = body(scoped);
    } catch (error) {
      cache.clear();
      throw error;
    }
    if (result instanceof Promise) return result.finally(() => cache.clear()) as T;
    cache.clear();
    return result;
  }

  // ----- reads -----

  /** What is at `relative` (a link is `link`, never followed); `absent` also when a folder on the way is not one. */
  kind(relative: string): EntryKind {
    const stats = this.stat(relative);
    if (stats === null) return 'absent';
    return stats.isFile() ? 'file' : stats.isDirectory() ? 'folder' : stats.isSymbolicLink() ? 'link' : 'other';
  }

  /**
   * The `lstat` of `relative`, or null when nothing is there (or a folder on the way is not a folder).
   * Throws a {@link ConfinementError} when a folder on the way is a link.
   */
  stat(relative: string): Stats | null {
    return this.statWith(relative, (path) => lstatSync(path, { throwIfNoEntry: false }) ?? null);
  }

  /** As {@link stat}, with nanosecond times and 64-bit sizes. */
  bigStat(relative: string): BigIntStats | null {
    return this.statWith(relative, (path) => lstatSync(path, { bigint: true, throwIfNoEntry: false }) ?? null);
  }

  /**
   * As {@link bigStat}, but by the path as it is, without resolving the folders on the way one by one (one
   * system call): only for telling whether a file is still the very one recorded earlier by a confined read
   * (its device and inode name one file whatever path reaches it, and its times show any change), never to
   * decide what to read or write. Null when nothing is there or a folder on the way is not a folder.
   */
  identityStat(relative: string): BigIntStats | null {
    // A plain relative path (what a pass over thousands of recorded paths gives) is joined to the base as it is;
    // any other goes through the checks of `parts`, which refuse what is not a path inside the project.
    const path = PLAIN_RELATIVE.test(relative) ? `${this.basePrefix}/${relative}` : this.absolute(this.parts(relative));
    try {
      return lstatSync(path, { bigint: true, throwIfNoEntry: false }) ?? null;
    } catch (error) {
      if (errorCode(error) === 'ENOTDIR' || errorCode(error) === 'ELOOP') return null;
      throw error;
    }
  }

  private statWith<S>(relative: string, lstat: (path: string) => S | null): S | null {
    const fast = this.openParent(relative);
    if (fast !== undefined) {
      try {
        return lstat(`${fast.via}/${fast.name}`);
      } catch (error) {
        if (errorCode(error) === 'ENOTDIR') return null;
        throw relabel(error, fast.via, fast.path);
      }
    }
    const parts = this.parts(relative);
    if (parts.length === 0) return lstat(this.root);
    let folder: Folder;
    try {
      folder = this.folder(parts.slice(0, -1), false);
    } catch (error) {
      if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return null;
      throw error;
    }
    try {
      return lstat(`${folder.via}/${parts[parts.length - 1]!}`);
    } catch (error) {
      if (errorCode(error) === 'ENOTDIR') return null;
      throw relabel(error, folder.via, folder.path);
    } finally {
      folder.release();
    }
  }

  /** Whether anything (a link included) is at `relative`; false when it cannot be reached (a link on the way, any error). */
  exists(relative: string): boolean {
    try {
      return this.kind(relative) !== 'absent';
    } catch (error) {
      // A link on the way, a name too long, a folder that cannot be searched: nothing reachable is there.
      if (errorCode(error) !== undefined) return false;
      throw error;
    }
  }

  /**
   * Whether `relative` could be written without leaving the root: no folder on the way (down to the
   * deepest one that exists) is a link or a non-folder.
   */
  isConfined(relative: string): boolean {
    const own = splitRelative(relative);
    for (let length = own.length; length >= 0; length--) {
      let stats: Stats | null;
      try {
        stats = this.stat(own.slice(0, length).join('/'));
      } catch (error) {
        if (error instanceof ConfinementError) return false;
        throw error;
      }
      if (stats === null) continue;
      // The entry itself may be anything but a link; every folder above it must be a folder.
      return length === own.length ? !stats.isSymbolicLink() : stats.isDirectory();
    }
    return true;
  }

  /**
   * The entries of the folder `relative`, with their types as the folder lists them (links not followed).
   * A name that is not valid UTF-8 cannot be named back as a string (it decodes lossily, to U+FFFD), so
   * such entries are left out; with `undecodable`, their lossy names are pushed there instead.
   */
  list(relative = '', undecodable?: string[]): Dirent[] {
    const folder = this.folder(this.parts(relative), false);
    try {
      return listDecodable(folder.via, undecodable);
    } catch (error) {
      throw relabel(error, folder.via, folder.path);
    } finally {
      folder.release();
    }
  }

  /**
   * Walks the folder `start` and every folder below it that `visit` asks for, depth first, never through
   * a link. Each folder is opened once, through the descriptor of the folder above it (`O_DIRECTORY |
   * O_NOFOLLOW` on `/proc/self/fd/N/name`, like `openat`), and that descriptor stays open while the
   * folders below it are walked (down to {@link WALK_DESCRIPTOR_DEPTH} levels; deeper ones are opened by
   * path and verified like any other), so nothing is resolved twice and the start is verified once. Files
   * are read through the folder's descriptor with the same checks as {@link readText}, their real path
   * included. `visit` gets each folder with its listing and returns the names of the subfolders to walk
   * into. A subfolder that cannot be opened or listed goes to `onError` (a link swapped in is `ELOOP`, a
   * file `ENOTDIR`); the start's own failure is thrown.
   */
  walkFolders(
    start: string,
    visit: (folder: WalkedFolder) => readonly string[],
    onError: (path: string, error: unknown) => void,
  ): void {
    const startParts = this.parts(start);
    const startPath = startParts.slice(this.baseParts.length).join('/');
    try {
      if (hasProcFd()) this.walkByDescriptor(startParts, startPath, visit, onError);
      else this.walkByPath(startPath, visit, onError);
    } catch (error) {
      throw error instanceof VisitError ? error.inner : error;
    }
  }

  /** {@link walkFolders} on Linux: every folder through the descriptor of the one above. */
  private walkByDescriptor(
    startParts: readonly string[],
    startPath: string,
    visit: (folder: WalkedFolder) => readonly string[],
    onError: (path: string, error: unknown) => void,
  ): void {
    const frames: WalkFrame[] = [];
    try {
      const first = this.openFolder(startParts, false);
      frames.push(this.visitFolder(first, startParts, startPath, 0, visit));
      while (frames.length > 0) {
        const frame = frames[frames.length - 1]!;
        const name = frame.pending.pop();
        if (name === undefined) {
          frames.pop();
          if (frame.fd !== null) closeSync(frame.fd);
          continue;
        }
        const parts = [...frame.parts, name];
        const path = frame.path === '' ? name : `${frame.path}/${name}`;
        let fd: number;
        try {
          if (frame.fd === null) fd = this.openFolder(parts, false);
          else {
            try {
              fd = openSync(`/proc/self/fd/${frame.fd}/${name}`, FOLDER_FLAGS);
            } catch (error) {
              const code = errorCode(error);
              if (code === 'ENOTDIR' || code === 'ELOOP') throw this.diagnose(parts, error);
              throw relabel(error, `/proc/self/fd/${frame.fd}`, this.absolute(frame.parts));
            }
          }
        } catch (error) {
          onError(path, error);
          continue;
        }
        let next: WalkFrame;
        try {
          next = this.visitFolder(fd, parts, path, frames.length, visit);
        } catch (error) {
          if (error instanceof VisitError) throw error;
          onError(path, error);
          continue;
        }
        frames.push(next);
      }
    } finally {
      for (const frame of frames) if (frame.fd !== null) closeSync(frame.fd);
    }
  }

  /**
   * Lists the open folder `fd` and hands it to `visit`; returns its frame (the descriptor kept when
   * `depth` is below {@link WALK_DESCRIPTOR_DEPTH}, else closed). Closes `fd` when listing fails.
   * An exception of `visit` itself is wrapped so that {@link walkFolders} does not take it for the folder's.
   */
  private visitFolder(
    fd: number,
    parts: readonly string[],
    path: string,
    depth: number,
    visit: (folder: WalkedFolder) => readonly string[],
  ): WalkFrame {
    const via = `/proc/self/fd/${fd}`;
    const folderPath = this.absolute(parts);
    let entries: Dirent[];
    const undecodable: string[] = [];
    try {
      entries = listDecodable(via, undecodable);
    } catch (error) {
      closeSync(fd);
      throw relabel(error, via, folderPath);
    }
    let subfolders: readonly string[];
    try {
      subfolders = visit({
        path,
        entries,
        undecodable,
        readText: (name, limit) => {
          const opened = this.openRegularIn(via, folderPath, name, () => [...parts, name], limit);
          try {
            return this.readBounded(opened.fd, opened.size, () => [...parts, name], limit).toString('utf8');
          } finally {
            closeSync(opened.fd);
          }
        },
        stat: (name) => {
          try {
            return lstatSync(`${via}/${name}`, { throwIfNoEntry: false }) ?? null;
          } catch (error) {
            if (errorCode(error) === 'ENOTDIR') return null;
            throw relabel(error, via, folderPath);
          }
        },
      });
    } catch (error) {
      closeSync(fd);
      throw new VisitError(error);
    }
    const pending = [...subfolders].reverse();
    if (depth < WALK_DESCRIPTOR_DEPTH) return { fd, parts, path, pending };
    closeSync(fd);
    return { fd: null, parts, path, pending };
  }

  /** {@link walkFolders} where descriptors cannot name folders (no `/proc`): each folder by path, with the strict checks. */
  private walkByPath(
    start: string,
    visit: (folder: WalkedFolder) => readonly string[],
    onError: (path: string, error: unknown) => void,
  ): void {
    const pending: string[] = [start];
    let first = true;
    while (pending.length > 0) {
      const path = pending.pop()!;
      const undecodable: string[] = [];
      let entries: Dirent[];
      try {
        entries = this.list(path, undecodable);
      } catch (error) {
        if (first) throw error;
        onError(path, error);
        continue;
      }
      first = false;
      const inside = (name: string): string => (path === '' ? name : `${path}/${name}`);
      let subfolders: readonly string[];
      try {
        subfolders = visit({
          path,
          entries,
          undecodable,
          readText: (name, limit) => this.readText(inside(name), limit),
          stat: (name) => this.stat(inside(name)),
        });
      } catch (error) {
        throw new VisitError(error);
      }
      for (let index = subfolders.length - 1; index >= 0; index--) pending.push(inside(subfolders[index]!));
    }
  }

  /** The names in the folder `relative`. */
  listNames(relative = ''): string[] {
    return this.list(relative).map((entry) => entry.name);
  }

  /**
   * The bytes of the regular file `relative`, at most `limit` of them. Throws `ENOENT` when it is absent,
   * and a {@link ConfinementError} when it is a link, a folder, a FIFO, a device or a socket (`ELOOP`,
   * `EISDIR`, `EFTYPE`), larger than `limit` (`EFBIG`, refused by its size before reading), or not inside
   * the project once opened (`EOUTSIDE`). `stamped` as for {@link readFileIfRegularInto}.
   */
  readFile(relative: string, limit: number, stamped?: (stats: BigIntStats) => void): Buffer {
    const { fd, size } = this.openRegular(relative, limit, stamped);
    try {
      return this.readBounded(fd, size, () => this.parts(relative), limit);
    } finally {
      closeSync(fd);
    }
  }

  /** {@link readFile} as UTF-8 text. */
  readText(relative: string, limit: number): string {
    return this.readFile(relative, limit).toString('utf8');
  }

  /**
   * {@link readFile}, or null when there is no regular file at `relative` (absent, a link, a folder, a special file,
   * outside).
   */
  readFileIfRegular(relative: string, limit: number, stamped?: (stats: BigIntStats) => void): Buffer | null {
    try {
      return this.readFile(relative, limit, stamped);
    } catch (error) {
      const code = errorCode(error);
      if (error instanceof ConfinementError && error.reason !== 'too-large') return null;
      if (code === 'ENOENT' || code === 'ENOTDIR') return null;
      throw error;
    }
  }

  /**
   * {@link readFileIfRegular} into memory that `allocate` gives (called once with the file's size when opened
   * plus one, to see growth), for example shared memory that a worker thread can hash without a copy. A file
   * that grew while it was read is returned in other memory; one over `limit` throws `EFBIG` all the same.
   * `stamped`, when given, is called with the `fstat` of the very file opened, once every check passed and before
   * a byte of it is read (a stamp of what is read, without a `lstat` of its own).
   */
  readFileIfRegularInto(
    relative: string,
    limit: number,
    allocate: (length: number) => Uint8Array,
    stamped?: (stats: BigIntStats) => void,
  ): Uint8Array | null {
    let opened: { fd: number; size: number };
    try {
      opened = this.openRegular(relative, limit, stamped);
    } catch (error) {
      const code = errorCode(error);
      if (error instanceof ConfinementError && error.reason !== 'too-large') return null;
      if (code === 'ENOENT' || code === 'ENOTDIR') return null;
      throw error;
    }
    try {
      const buffer = allocate(Math.min(opened.size, limit) + 1);
      let length = 0;
      while (length < buffer.length) {
        const count = readSync(opened.fd, buffer, length, buffer.length - length, null);
        if (count === 0) return buffer.subarray(0, length);
        length += count;
      }
      // It grew past its size at open: read the rest the bounded way (its growth is rare, the copy is fine).
      const rest = this.readBounded(opened.fd, opened.size, () => this.parts(relative), limit - length);
      const whole = Buffer.allocUnsafe(length + rest.length);
      whole.set(buffer.subarray(0, length), 0);
      whole.set(rest, length);
      return whole;
    } finally {
      closeSync(opened.fd);
    }
  }

  /** Reads the regular file `relative` in chunks, without holding it whole (for hashing). */
  async readChunks(relative: string, onChunk: (chunk: Buffer) => void): Promise<void> {
    const { fd } = this.openRegular(relative, Number.MAX_SAFE_INTEGER);
    try {
      const buffer = Buffer.allocUnsafe(1024 * 1024);
      for (;;) {
        const { bytesRead } = await readAsync(fd, buffer, 0, buffer.length, null);
        if (bytesRead === 0) return;
        onChunk(buffer.subarray(0, bytesRead));
      }
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Opens the regular file `relative` for reading: through its folder's descriptor, with `O_NOFOLLOW |
   * O_NONBLOCK`, then `fstat` (a regular file within `limit`) and its real path compared with the intended one.
   */
  private openRegular(
    relative: string,
    limit: number,
    stamped?: (stats: BigIntStats) => void,
  ): { fd: number; size: number } {
    const fast = this.openParent(relative);
    let via: string;
    let folderPath: string;
    let name: string;
    let release: () => void = () => undefined;
    if (fast !== undefined) {
      ({ via, path: folderPath, name } = fast);
    } else {
      const parts = this.parts(relative);
      if (parts.length === 0) throw this.refuse('not-a-file', parts);
      const folder = this.folder(parts.slice(0, -1), false);
      ({ via, path: folderPath } = folder);
      name = parts[parts.length - 1]!;
      release = () => folder.release();
    }
    try {
      return this.openRegularIn(via, folderPath, name, () => this.parts(relative), limit, stamped);
    } finally {
      release();
    }
  }

  /**
   * Opens the entry `name` of the folder named by `via` (whose intended absolute path is `folderPath`) as
   * {@link openRegular} does; `partsOf` gives the entry's components below the root, for refusals.
   */
  private openRegularIn(
    via: string,
    folderPath: string,
    name: string,
    partsOf: () => readonly string[],
    limit: number,
    stamped?: (stats: BigIntStats) => void,
  ): { fd: number; size: number } {
    const expected = folderPath === '/' ? `/${name}` : `${folderPath}/${name}`;
    let fd: number;
    try {
      fd = openSync(`${via}/${name}`, READ_FLAGS);
    } catch (error) {
      const code = errorCode(error);
      if (code === 'ELOOP') throw this.refuse('symlink', partsOf());
      if (code === 'ENXIO' || code === 'EOPNOTSUPP') throw this.refuse('special-file', partsOf());
      throw relabel(error, via, folderPath);
    }
    try {
      const stats = stamped === undefined ? fstatSync(fd) : fstatSync(fd, { bigint: true });
      if (stats.isDirectory()) throw this.refuse('not-a-file', partsOf());
      if (!stats.isFile()) throw this.refuse('special-file', partsOf());
      const size = Number(stats.size);
      if (size > limit) throw this.refuse('too-large', partsOf(), `${size} bytes, over the limit of ${limit}`);
      if (!this.isAtPath(fd, expected, partsOf)) throw this.refuse('moved-outside', partsOf());
      if (stamped !== undefined) stamped(stats as BigIntStats);
      return { fd, size };
    } catch (error) {
      closeSync(fd);
      throw error;
    }
  }

  /**
   * In a scope, when the folder of `relative` is already open: that folder's descriptor path, its intended
   * path and the entry's name, without splitting the path again. Undefined otherwise (or for a path that
   * needs the strict checks of {@link parts}).
   */
  private openParent(relative: string): { via: string; path: string; name: string } | undefined {
    const folders = this.folders;
    if (folders === null || relative === '' || !hasProcFd() || UNUSUAL_PATH.test(relative)) return undefined;
    const slash = relative.lastIndexOf('/');
    const parent = slash < 0 ? '' : relative.slice(0, slash);
    const key = this.baseKey === '' ? parent : parent === '' ? this.baseKey : `${this.baseKey}/${parent}`;
    const fd = folders.get(key);
    if (fd === undefined) return undefined;
    const path = key === '' ? this.root : this.root === '/' ? `/${key}` : `${this.root}/${key}`;
    return { via: `/proc/self/fd/${fd}`, path, name: relative.slice(slash + 1) };
  }

  private readBounded(fd: number, size: number, partsOf: () => readonly string[], limit: number): Buffer {
    let buffer = Buffer.allocUnsafe(Math.min(size, limit) + 1);
    let length = 0;
    for (;;) {
      if (length === buffer.length) {
        if (length > limit) throw this.refuse('too-large', partsOf(), `over the limit of ${limit} bytes`);
        const grown = Buffer.allocUnsafe(Math.min(buffer.length * 2, limit + 1));
        buffer.copy(grown, 0, 0, length);
        buffer = grown;
      }
      const wanted = buffer.length - length;
      const count = readSync(fd, buffer, length, wanted, null);
      length += count;
      // A regular file (the caller checked) reads short only at its end: no second read to see 0.
      if (count < wanted) break;
    }
    if (length > limit) throw this.refuse('too-large', partsOf(), `over the limit of ${limit} bytes`);
    return buffer.subarray(0, length);
  }

  // ----- writes (asynchronous) -----

  /**
   * Writes `data` to `relative` atomically and durably: a temporary file in the same folder, fsync, rename
   * over the target, fsync of the folder. Creates the missing parent folders when `createParents` is set.
   */
  async writeFileAtomic(
    relative: string,
    data: string | Uint8Array | readonly Uint8Array[],
    options: { createParents?: boolean } = {},
  ): Promise<void> {
    this.forget();
    const parts = this.parts(relative);
    const folder = this.folder(parts.slice(0, -1), options.createParents === true);
    try {
      const name = parts[parts.length - 1]!;
      const temporary = `${folder.via}/${temporaryName(name)}`;
      const target = `${folder.via}/${name}`;
      try {
        await writeSynced(temporary, data);
        try {
          // A rename changes names only (the data is flushed): by this thread, not a round trip to the pool.
          renameSync(temporary, target);
        } catch (error) {
          await unlink(temporary).catch(() => undefined);
          throw error;
        }
      } catch (error) {
        throw relabel(error, folder.via, folder.path);
      }
      if (!this.isAt(folder.fd, parts.slice(0, -1))) {
        await unlink(target).catch(() => undefined);
        throw this.refuse('moved-outside', parts);
      }
      await fsyncAsync(folder.fd);
    } finally {
      folder.release();
    }
  }

  /**
   * The first half of {@link writeFileAtomic}: writes `data` to a temporary file beside `relative` and
   * flushes it, without renaming it into place, so a caller can make other writes durable meanwhile (a
   * journal) and put the file in place only once they are. The answer's `commit` renames it over the target
   * and flushes the folder (checking, as `writeFileAtomic` does, that the folder is still inside the
   * project); `abandon` removes the temporary file. Exactly one of them must be called. The temporary file
   * has the name `writeFileAtomic` gives its own, so a crash in between leaves what recovery removes.
   * With `stageIn` (a folder relative to the base, on the same file system), the temporary file is made
   * there instead of beside the target: where a crashed writer's leftovers are looked for at every open.
   */
  async prepareFileAtomic(
    relative: string,
    data: string | Uint8Array | readonly Uint8Array[],
    options: { readonly stageIn?: string } = {},
  ): Promise<PreparedFile> {
    this.forget();
    const parts = this.parts(relative);
    const folder = this.folder(parts.slice(0, -1), false);
    const name = parts[parts.length - 1]!;
    let stage: Folder;
    try {
      stage = options.stageIn === undefined ? folder : this.folder(this.parts(options.stageIn), false);
    } catch (error) {
      folder.release();
      throw error;
    }
    const releaseBoth = (): void => {
      if (stage !== folder) stage.release();
      folder.release();
    };
    const temporary = `${stage.via}/${temporaryName(name)}`;
    const target = `${folder.via}/${name}`;
    try {
      await writeSynced(temporary, data);
    } catch (error) {
      releaseBoth();
      throw relabel(error, stage.via, stage.path);
    }
    // Invariant: true once commit or abandon ran; the folders are released then, never before.
    let settled = false;
    const settle = (): void => {
      settled = true;
      releaseBoth();
    };
    return {
      commit: async (options: { readonly flushFolder?: boolean } = {}): Promise<void> => {
        if (settled) throw new Error(`the prepared write of ${relative} was already settled`);
        try {
          try {
            // As in writeFileAtomic: by this thread, the data being flushed already.
            renameSync(temporary, target);
          } catch (error) {
            await unlink(temporary).catch(() => undefined);
            throw relabel(relabel(error, stage.via, stage.path), folder.via, folder.path);
          }
          if (!this.isAt(folder.fd, parts.slice(0, -1))) {
            await unlink(target).catch(() => undefined);
            throw this.refuse('moved-outside', parts);
          }
          if (options.flushFolder !== false) await fsyncAsync(folder.fd);
        } finally {
          settle();
        }
      },
      abandon: async (): Promise<void> => {
        if (settled) return;
        try {
          await unlink(temporary).catch(() => undefined);
        } finally {
          settle();
        }
      },
    };
  }

  /**
   * Writes derived data (a cache entry, a record checked before it is trusted) to `relative`: under a
   * temporary name in the same folder (created exclusively, never through a link), then renamed over the
   * target through the folder's verified descriptor, which is checked afterwards to still be inside the
   * project (else the file is removed and `EOUTSIDE` thrown). Readers never see a partial file under
   * `relative`, but nothing is flushed, so after a crash it may be absent, old, or hold bytes its reader
   * must reject: only for files every reader verifies (a content hash, a key) and rebuilds when they do not.
   * `data` may be several pieces, written in order without joining them first.
   */
  async writeFileDerived(
    relative: string,
    data: string | Uint8Array | readonly Uint8Array[],
    options: { createParents?: boolean } = {},
  ): Promise<void> {
    this.forget();
    const parts = this.parts(relative);
    const folder = this.folder(parts.slice(0, -1), options.createParents === true);
    try {
      const name = parts[parts.length - 1]!;
      const temporary = `${folder.via}/${temporaryName(name)}`;
      const target = `${folder.via}/${name}`;
      try {
        const handle = await open(temporary, CREATE_FLAGS, 0o644);
        try {
          if (typeof data === 'string' || data instanceof Uint8Array) await handle.writeFile(data);
          else await writeAllPieces(handle, data);
        } catch (error) {
          await handle.close().catch(() => undefined);
          await unlink(temporary).catch(() => undefined);
          throw error;
        }
        await handle.close();
        try {
          await rename(temporary, target);
        } catch (error) {
          await unlink(temporary).catch(() => undefined);
          throw error;
        }
      } catch (error) {
        throw relabel(error, folder.via, folder.path);
      }
      if (!this.isAt(folder.fd, parts.slice(0, -1))) {
        await unlink(target).catch(() => undefined);
        throw this.refuse('moved-outside', parts);
      }
    } finally {
      folder.release();
    }
  }

  /**
   * Creates `relative` with `data` atomically and durably, refusing to replace anything: written and
   * flushed under a temporary name, then hard-linked into place (EEXIST when the name is taken). Returns
   * false when something already had the name.
   */
  async createFileExclusive(relative: string, data: string | Uint8Array): Promise<boolean> {
    this.forget();
    const parts = this.parts(relative);
    const folder = this.folder(parts.slice(0, -1), false);
    try {
      const name = parts[parts.length - 1]!;
      const temporary = `${folder.via}/${temporaryName(name)}`;
      const target = `${folder.via}/${name}`;
      try {
        const handle = await open(temporary, CREATE_FLAGS, 0o644);
        try {
          await handle.writeFile(data);
          await handle.sync();
        } finally {
          await handle.close();
        }
        try {
          await link(temporary, target);
        } catch (error) {
          if (errorCode(error) === 'EEXIST') return false;
          throw error;
        } finally {
          await unlink(temporary).catch(() => undefined);
        }
      } catch (error) {
        throw relabel(error, folder.via, folder.path);
      }
      if (!this.isAt(folder.fd, parts.slice(0, -1))) {
        await unlink(target).catch(() => undefined);
        throw this.refuse('moved-outside', parts);
      }
      await fsyncAsync(folder.fd);
      return true;
    } finally {
      folder.release();
    }
  }

  /** Writes a new file `relative` (refusing an existing name) and flushes it: for staging folders. */
  async writeNewFile(relative: string, data: Uint8Array): Promise<void> {
    this.forget();
    const parts = this.parts(relative);
    const folder = this.folder(parts.slice(0, -1), false);
    try {
      const handle = await open(`${folder.via}/${parts[parts.length - 1]!}`, CREATE_FLAGS, 0o644);
      try {
        await handle.writeFile(data);
        await handle.sync();
      } finally {
        await handle.close();
      }
      if (!this.isAt(folder.fd, parts.slice(0, -1))) {
        await unlink(`${folder.via}/${parts[parts.length - 1]!}`).catch(() => undefined);
        throw this.refuse('moved-outside', parts);
      }
    } catch (error) {
      throw relabel(error, folder.via, folder.path);
    } finally {
      folder.release();
    }
  }

  /**
   * As {@link writeNewFile}, from `pieces` written in order without joining them, in batches of a few MiB;
   * `whileFlushing` is called with each piece, in order, while the file is being flushed (to hash it on this
   * thread while the disk takes the bytes: the flush is the longest step of a large write).
   */
  async writeNewFilePieces(
    relative: string,
    pieces: readonly Uint8Array[],
    whileFlushing?: (piece: Uint8Array) => void,
  ): Promise<void> {
    this.forget();
    const parts = this.parts(relative);
    const folder = this.folder(parts.slice(0, -1), false);
    try {
      const handle = await open(`${folder.via}/${parts[parts.length - 1]!}`, CREATE_FLAGS, 0o644);
      try {
        let batch: Uint8Array[] = [];
        let batchBytes = 0;
        for (const piece of pieces) {
          batch.push(piece);
          batchBytes += piece.length;
          // A batch is one writev (the kernel takes at most 1,024 pieces at once).
          if (batchBytes >= PIECES_BATCH_BYTES || batch.length >= 1024) {
            await writeAllPieces(handle, batch);
            batch = [];
            batchBytes = 0;
          }
        }
        if (batch.length > 0) await writeAllPieces(handle, batch);
        const flushing = handle.sync();
        try {
          if (whileFlushing !== undefined) for (const piece of pieces) whileFlushing(piece);
        } finally {
          await flushing;
        }
      } finally {
        await handle.close();
      }
      if (!this.isAt(folder.fd, parts.slice(0, -1))) {
        await unlink(`${folder.via}/${parts[parts.length - 1]!}`).catch(() => undefined);
        throw this.refuse('moved-outside', parts);
      }
    } catch (error) {
      throw relabel(error, folder.via, folder.path);
    } finally {
      folder.release();
    }
  }

  /** Flushes the entries of the folder `relative` (a rename or a new file) to disk. */
  async syncFolder(relative = ''): Promise<void> {
    const folder = this.folder(this.parts(relative), false);
    try {
      await fsyncAsync(folder.fd);
    } finally {
      folder.release();
    }
  }

  /**
   * Creates the folder `relative` and its missing parents, one component at a time through the folder
   * above (never through a link), and checks the result is where it was meant to be (else removes what it
   * created and throws `EOUTSIDE`). Returns the folders it created, shallowest first, relative to the base.
   */
  async makeFolders(relative: string): Promise<string[]> {
    return Promise.resolve(this.makeFoldersSync(relative));
  }

  /** As {@link makeFolders}, synchronously. */
  makeFoldersSync(relative: string): string[] {
    this.forget();
    const created: string[] = [];
    this.folder(this.parts(relative), true, created).release();
    const prefix = this.baseParts.length;
    return created.map((path) => path.split('/').slice(prefix).join('/'));
  }

  /** Creates the one folder `relative` (its parent must exist); EEXIST when something has the name. */
  async makeFolder(relative: string): Promise<void> {
    this.forget();
    const parts = this.parts(relative);
    const folder = this.folder(parts.slice(0, -1), false);
    try {
      const target = `${folder.via}/${parts[parts.length - 1]!}`;
      try {
        await mkdir(target, 0o777);
      } catch (error) {
        throw relabel(error, folder.via, folder.path);
      }
      if (!this.isAt(folder.fd, parts.slice(0, -1))) {
        await rmdir(target);
        throw this.refuse('moved-outside', parts);
      }
    } finally {
      folder.release();
    }
  }

  /**
   * Renames `from` to `to` (both relative to the base; the parent of `to` must exist), through descriptors
   * of both parent folders, so neither path is resolved through a link. Afterwards the destination folder
   * must still be where it was meant to be; if not, the rename is undone and `EOUTSIDE` thrown.
   */
  async rename(from: string, to: string): Promise<void> {
    await this.betweenEntries(from, to, (source, target) => rename(source, target), {
      undo: (source, target) => rename(target, source),
    });
  }

  /** Hard-links the file `from` as `to` (a link at `from` is linked itself, never followed). */
  async link(from: string, to: string): Promise<void> {
    await this.betweenEntries(from, to, (source, target) => link(source, target), {
      undo: (_source, target) => unlink(target),
    });
  }

  /** Copies the regular file `from` to the new file `to`, reading it through a confined descriptor. */
  async copyFile(from: string, to: string): Promise<void> {
    const bytes = this.readFile(from, Number.MAX_SAFE_INTEGER);
    await this.writeNewFile(to, bytes);
  }

  /**
   * Copies the folder or link `from` to `to` as it is (links copied as links, never followed; a FIFO,
   * device or socket fails), anchored at descriptors of both parent folders.
   */
  async copyTree(from: string, to: string): Promise<void> {
    await this.betweenEntries(from, to, (source, target) =>
      cp(source, target, { recursive: true, verbatimSymlinks: true, dereference: false, preserveTimestamps: true }),
    );
  }

  /** Removes the file (or link) `relative`. */
  async unlink(relative: string): Promise<void> {
    await this.atEntry(relative, (entry) => unlink(entry));
  }

  /** Removes the empty folder `relative`. */
  async removeFolder(relative: string): Promise<void> {
    await this.atEntry(relative, (entry) => rmdir(entry));
  }

  /**
   * Runs `act` on the entry `relative`, named through its parent folder's verified descriptor, for a write
   * that changes only that entry: the view's read cache is dropped first, errors name the real path, and
   * the folder is released once `act` settled.
   */
  private async atEntry<T>(relative: string, act: (entry: string) => Promise<T>): Promise<T> {
    this.forget();
    const parts = this.parts(relative);
    const folder = this.folder(parts.slice(0, -1), false);
    try {
      return await act(`${folder.via}/${parts[parts.length - 1]!}`);
    } catch (error) {
      throw relabel(error, folder.via, folder.path);
    } finally {
      folder.release();
    }
  }

  /**
   * Runs `act` from the entry `from` to the entry `to`, each named through its parent folder's verified
   * descriptor (the two-entry {@link atEntry}): the view's read cache is dropped first, errors name the real
   * paths, and both folders are released once it settled. With `undo`, the destination folder must still be
   * where it was meant to be afterwards; if not, `undo` reverts the step and `EOUTSIDE` is thrown.
   */
  private async betweenEntries(
    from: string,
    to: string,
    act: (source: string, target: string) => Promise<unknown>,
    check?: { readonly undo: (source: string, target: string) => Promise<unknown> },
  ): Promise<void> {
    this.forget();
    const fromParts = this.parts(from);
    const toParts = this.parts(to);
    const source = this.folder(fromParts.slice(0, -1), false);
    try {
      const destination = this.folder(toParts.slice(0, -1), false);
      try {
        const fromPath = `${source.via}/${fromParts[fromParts.length - 1]!}`;
        const toPath = `${destination.via}/${toParts[toParts.length - 1]!}`;
        try {
          await act(fromPath, toPath);
        } catch (error) {
          throw relabel(relabel(error, source.via, source.path), destination.via, destination.path);
        }
        if (check !== undefined && !this.isAt(destination.fd, toParts.slice(0, -1))) {
          await check.undo(fromPath, toPath).catch(() => undefined);
          throw this.refuse('moved-outside', toParts);
        }
      } finally {
        destination.release();
      }
    } finally {
      source.release();
    }
  }

  /**
   * Removes `relative` and everything below it; nothing when it is absent (or a folder on the way is). A
   * link anywhere in the tree is removed itself, never followed: each folder is opened with `O_NOFOLLOW`
   * through its parent's descriptor (the deepest levels, past {@link REMOVE_DESCRIPTOR_DEPTH}, by path below
   * the last descriptor, after an `lstat`).
   */
  async removeTree(relative: string): Promise<void> {
    await Promise.resolve();
    this.removeTreeSync(relative);
  }

  /** As {@link removeTree}, synchronously. */
  removeTreeSync(relative: string): void {
    this.forget();
    const parts = this.parts(relative);
    let folder: Folder;
    try {
      folder = this.folder(parts.slice(0, -1), false);
    } catch (error) {
      if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return;
      throw error;
    }
    try {
      removeEntry(folder.via, parts[parts.length - 1]!);
    } catch (error) {
      throw relabel(error, folder.via, folder.path);
    } finally {
      folder.release();
    }
  }

  // ----- writes (synchronous, for the writer lock and for saving fingerprints while closing) -----

  /** Creates `relative` with `text` exclusively (temporary file, fsync, hard link), or throws EEXIST. */
  createFileExclusiveSync(relative: string, text: string): void {
    this.forget();
    const parts = this.parts(relative);
    const folder = this.folder(parts.slice(0, -1), false);
    try {
      const name = parts[parts.length - 1]!;
      const temporary = `${folder.via}/${temporaryName(name)}`;
      const target = `${folder.via}/${name}`;
      try {
        const fd = openSync(temporary, CREATE_FLAGS, 0o644);
        try {
          writeSync(fd, text);
          fsyncSync(fd);
        } catch (error) {
          // A full disk: the temporary file goes too, so the failure leaves the folder as it was.
          closeSync(fd);
          unlinkSync(temporary);
          throw error;
        }
        closeSync(fd);
        try {
          linkSync(temporary, target);
        } finally {
          unlinkSync(temporary);
        }
      } catch (error) {
        throw relabel(error, folder.via, folder.path);
      }
      if (!this.isAt(folder.fd, parts.slice(0, -1))) {
        try {
          unlinkSync(target);
        } catch {
          // Gone already.
        }
        throw this.refuse('moved-outside', parts);
      }
    } finally {
      folder.release();
    }
  }

  /** Replaces `relative` with `text` through a temporary file and a rename, without flushing (for caches). */
  replaceFileSync(relative: string, text: string, options: { createParents?: boolean } = {}): void {
    this.forget();
    const parts = this.parts(relative);
    const folder = this.folder(parts.slice(0, -1), options.createParents === true);
    try {
      const temporary = `${folder.via}/${temporaryName(parts[parts.length - 1]!)}`;
      const target = `${folder.via}/${parts[parts.length - 1]!}`;
      try {
        const fd = openSync(temporary, CREATE_FLAGS, 0o644);
        try {
          writeSync(fd, text);
        } finally {
          closeSync(fd);
        }
        try {
          renameSync(temporary, target);
        } catch (error) {
          unlinkSync(temporary);
          throw error;
        }
      } catch (error) {
        throw relabel(error, folder.via, folder.path);
      }
      if (!this.isAt(folder.fd, parts.slice(0, -1))) {
        try {
          unlinkSync(target);
        } catch {
          // Gone already.
        }
        throw this.refuse('moved-outside', parts);
      }
    } finally {
      folder.release();
    }
  }

  /** Appends `text` to the regular file `relative`, creating it when absent (never through a link or into a FIFO). */
  appendFileSync(relative: string, text: string): void {
    this.forget();
    const parts = this.parts(relative);
    const folder = this.folder(parts.slice(0, -1), false);
    try {
      let fd: number;
      try {
        fd = openSync(`${folder.via}/${parts[parts.length - 1]!}`, APPEND_FLAGS, 0o644);
      } catch (error) {
        if (errorCode(error) === 'ELOOP') throw this.refuse('symlink', parts);
        if (errorCode(error) === 'ENXIO') throw this.refuse('special-file', parts);
        throw relabel(error, folder.via, folder.path);
      }
      try {
        if (!fstatSync(fd).isFile()) throw this.refuse('special-file', parts);
        if (!this.isAt(fd, parts)) throw this.refuse('moved-outside', parts);
        writeSync(fd, text);
      } finally {
        closeSync(fd);
      }
    } finally {
      folder.release();
    }
  }

  /** Removes the file `relative`; nothing when it is absent. */
  removeFileSync(relative: string): void {
    this.forget();
    const parts = this.parts(relative);
    let folder: Folder;
    try {
      folder = this.folder(parts.slice(0, -1), false);
    } catch (error) {
      if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return;
      throw error;
    }
    try {
      unlinkSync(`${folder.via}/${parts[parts.length - 1]!}`);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return;
      throw relabel(error, folder.via, folder.path);
    } finally {
      folder.release();
    }
  }

  /** Removes the file `relative`, throwing when it cannot (ENOENT included). */
  unlinkSync(relative: string): void {
    this.forget();
    const parts = this.parts(relative);
    const folder = this.folder(parts.slice(0, -1), false);
    try {
      unlinkSync(`${folder.via}/${parts[parts.length - 1]!}`);
    } catch (error) {
      throw relabel(error, folder.via, folder.path);
    } finally {
      folder.release();
    }
  }

  // ----- resolution -----

  /** The components below the root of a path relative to the base; `..` and absolute paths are refused. */
  private parts(relative: string): string[] {
    const own = splitRelative(relative);
    if (relative.startsWith('/') || own.includes('..') || own.some((part) => part.includes('\0')))
      throw new ConfinementError(
        'outside',
        relative,
        `${JSON.stringify(relative)} is not a path inside the project (absolute, or climbing out with ..).`,
      );
    return [...this.baseParts, ...own];
  }

  private absolute(parts: readonly string[]): string {
    if (parts.length === 0) return this.root;
    return this.root === '/' ? `/${parts.join('/')}` : `${this.root}/${parts.join('/')}`;
  }

  private shown(parts: readonly string[]): string {
    return parts.length === 0 ? 'the project root' : parts.join('/');
  }

  private refuse(reason: ConfinementReason, parts: readonly string[], detail?: string): ConfinementError {
    const shown = this.shown(parts);
    const messages: Record<ConfinementReason, string> = {
      symlink: `${shown} is a symbolic link; the packer never reads or writes through one.`,
      'not-a-folder': `${shown} is not a folder.`,
      'not-a-file': `${shown} is a folder, not a file.`,
      'special-file': `${shown} is not a regular file (a FIFO, a device or a socket); the packer never reads one.`,
      'too-large': `${shown} is too large (${detail ?? 'over its limit'}); the packer does not read it.`,
      'moved-outside': `${shown} was not inside the project when it was checked (a folder on the way was moved or replaced meanwhile); the step was undone.`,
      outside: `${shown} is not inside the project.`,
    };
    return new ConfinementError(reason, this.absolute(parts), messages[reason]);
  }

  /** Drops the folders a scoped view keeps: a write may move or remove them. */
  private forget(): void {
    this.folders?.clear();
  }

  /** Whether the open descriptor `fd` is at the path `parts` (its real path, or, without /proc, an lstat walk). */
  private isAt(fd: number, parts: readonly string[]): boolean {
    return this.isAtPath(fd, this.absolute(parts), () => parts);
  }

  /** {@link isAt} with the intended absolute path given; `partsOf` is only called without /proc. */
  private isAtPath(fd: number, expected: string, partsOf: () => readonly string[]): boolean {
    if (hasProcFd()) {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`) === expected;
      } catch {
        return false;
      }
    }
    const parts = partsOf();
    try {
      for (let length = 1; length < parts.length; length++) {
        const stats = lstatSync(this.absolute(parts.slice(0, length)));
        if (!stats.isDirectory()) return false;
      }
      const here = lstatSync(expected);
      const opened = fstatSync(fd);
      return here.ino === opened.ino && here.dev === opened.dev;
    } catch {
      return false;
    }
  }

  /**
   * Opens the folder at `parts` (components below the root). In a scope, folders already open are reused
   * and a folder whose parent is open is opened through it. Otherwise the folder is opened by path with
   * `O_NOFOLLOW` and its real path compared; when it is missing and `create` is set, it is made one
   * component at a time (each through the descriptor of the one above), recording what it made in `created`.
   */
  private folder(parts: readonly string[], create: boolean, created?: string[]): Folder {
    const path = this.absolute(parts);
    const key = parts.join('/');
    const cache = this.folders;
    const cached = cache?.get(key);
    if (cached !== undefined) return { fd: cached, path, via: viaOf(cached, path), release: () => undefined };
    if (cache !== null && !create && hasProcFd() && parts.length > this.baseParts.length) {
      const fd = this.descend(cache, parts);
      return { fd, path, via: viaOf(fd, path), release: () => undefined };
    }
    const fd = this.openFolder(parts, create, created);
    if (cache !== null) {
      cache.put(key, fd);
      return { fd, path, via: viaOf(fd, path), release: () => undefined };
    }
    const opened = fd;
    return { fd: opened, path, via: viaOf(opened, path), release: () => closeSync(opened) };
  }

  /**
   * In a scope: opens the folder `parts` (below the base) from the deepest folder on the way that the
   * scope already holds, the base itself opened and verified when none is, one component at a time
   * through the descriptor of the one above (`O_NOFOLLOW`), caching each. So a folder is resolved once
   * per operation and its real path needs no check of its own: it was reached without a link from a
   * verified folder.
   */
  private descend(cache: FolderCache, parts: readonly string[]): number {
    const floor = this.baseParts.length;
    let depth = parts.length - 1;
    let fd: number | undefined;
    for (; depth >= floor; depth--) {
      fd = cache.get(parts.slice(0, depth).join('/'));
      if (fd !== undefined) break;
    }
    if (fd === undefined) {
      depth = floor;
      const base = parts.slice(0, floor);
      fd = this.openFolder(base, false);
      cache.put(base.join('/'), fd);
    }
    for (; depth < parts.length; depth++) {
      const via = `/proc/self/fd/${fd}`;
      let child: number;
      try {
        child = openSync(`${via}/${parts[depth]!}`, FOLDER_FLAGS);
      } catch (error) {
        const code = errorCode(error);
        if (code === 'ENOTDIR' || code === 'ELOOP') throw this.diagnose(parts.slice(0, depth + 1), error);
        throw relabel(error, via, this.absolute(parts.slice(0, depth)));
      }
      cache.put(parts.slice(0, depth + 1).join('/'), child);
      fd = child;
    }
    return fd;
  }

  private openFolder(parts: readonly string[], create: boolean, created?: string[]): number {
    const path = this.absolute(parts);
    let fd: number;
    try {
      fd = openSync(path, FOLDER_FLAGS);
    } catch (error) {
      const code = errorCode(error);
      if (code === 'ENOENT' && create) return this.walk(parts, created);
      if (code === 'ENOTDIR' || code === 'ELOOP') throw this.diagnose(parts, error);
      throw error;
    }
    if (this.isAt(fd, parts)) return fd;
    closeSync(fd);
    throw this.diagnose(parts);
  }

  /** Opens (and with `created`, makes) every folder of `parts` from the root down, through the one above. */
  private walk(parts: readonly string[], created?: string[]): number {
    // Invariant: every descriptor in `chain` is open; chain[i] is the folder of parts[0..i) (chain[0] the root).
    const chain: number[] = [openSync(this.root, FOLDER_FLAGS)];
    const made: number[] = [];
    try {
      for (let index = 0; index < parts.length; index++) {
        const abovePath = this.absolute(parts.slice(0, index));
        const via = viaOf(chain[index]!, abovePath);
        const target = `${via}/${parts[index]!}`;
        let fd: number;
        try {
          fd = openSync(target, FOLDER_FLAGS);
        } catch (error) {
          const code = errorCode(error);
          if (code === 'ENOTDIR' || code === 'ELOOP') throw this.diagnose(parts.slice(0, index + 1), error);
          if (code !== 'ENOENT') throw relabel(error, via, abovePath);
          try {
            mkdirSync(target, 0o777);
            made.push(index);
          } catch (makeError) {
            if (errorCode(makeError) !== 'EEXIST') throw relabel(makeError, via, abovePath);
          }
          try {
            fd = openSync(target, FOLDER_FLAGS);
          } catch (openError) {
            const openCode = errorCode(openError);
            if (openCode === 'ENOTDIR' || openCode === 'ELOOP')
              throw this.diagnose(parts.slice(0, index + 1), openError);
            throw relabel(openError, via, abovePath);
          }
        }
        chain.push(fd);
      }
      const last = chain[chain.length - 1]!;
      if (!this.isAt(last, parts)) {
        // A folder on the way was moved or replaced while this ran: take back what was made, deepest first.
        for (const index of [...made].reverse()) {
          try {
            rmdirSync(`${viaOf(chain[index]!, this.absolute(parts.slice(0, index)))}/${parts[index]!}`);
          } catch {
            // Not empty any more, or gone: left as it is.
          }
        }
        throw this.refuse('moved-outside', parts);
      }
      for (const index of made) created?.push(parts.slice(0, index + 1).join('/'));
      // The caller owns the last descriptor; the others are closed below.
      chain.pop();
      return last;
    } finally {
      for (const fd of chain) closeSync(fd);
    }
  }

  /** Says which component of `parts` is a link or not a folder (lstat from the root down). */
  private diagnose(parts: readonly string[], original?: unknown): Error {
    for (let length = 1; length <= parts.length; length++) {
      let stats: Stats | undefined;
      try {
        stats = lstatSync(this.absolute(parts.slice(0, length)), { throwIfNoEntry: false });
      } catch {
        stats = undefined;
      }
      if (stats === undefined) {
        if (original !== undefined) return original as Error;
        return Object.assign(new Error(`ENOENT: no such file or directory, '${this.absolute(parts)}'`), {
          code: 'ENOENT',
          path: this.absolute(parts),
        });
      }
      if (stats.isSymbolicLink()) return this.refuse('symlink', parts.slice(0, length));
      if (!stats.isDirectory()) return this.refuse('not-a-folder', parts.slice(0, length));
    }
    return this.refuse('moved-outside', parts);
  }
}

/**
 * Creates `temporary` (refusing an existing name or a link) with `data` (pieces are written in order), flushed to disk; removes it again
 * when writing or flushing fails. The first step of every durable atomic write.
 */
async function writeSynced(temporary: string, data: string | Uint8Array | readonly Uint8Array[]): Promise<void> {
  const inline = inlineBytes(data);
  if (inline !== undefined) {
    // Small: made and written by this thread (the page cache only, microseconds); only the flush waits on the
    // thread pool. Each asynchronous step is a round trip through it, and on a busy machine each round trip
    // costs a wake-up of two threads: an `asset.json` written in four of them took longer than its fsync.
    const fd = openSync(temporary, CREATE_FLAGS, 0o644);
    try {
      writeAllSync(fd, inline);
      await fsyncAsync(fd);
    } catch (error) {
      try {
        closeSync(fd);
      } catch {
        // The write failed already; that is the error to report.
      }
      await unlink(temporary).catch(() => undefined);
      throw error;
    }
    closeSync(fd);
    return;
  }
  const handle = await open(temporary, CREATE_FLAGS, 0o644);
  try {
    // Pieces (the registry's cached runs) are written in order as they are, never joined into one copy.
    if (Array.isArray(data)) await writeAllPieces(handle, data as readonly Uint8Array[]);
    else await handle.writeFile(data as string | Uint8Array);
    await handle.sync();
  } catch (error) {
    await handle.close().catch(() => undefined);
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
  await handle.close();
}

/** Bytes of data at most that {@link writeSynced} writes from the calling thread (a declaration, a small registry). */
const INLINE_WRITE_BYTES = 64 * 1024;

/** `data` as the pieces to write when it is at most {@link INLINE_WRITE_BYTES} long, else undefined. */
function inlineBytes(data: string | Uint8Array | readonly Uint8Array[]): readonly Uint8Array[] | undefined {
  if (typeof data === 'string') {
    // A UTF-16 code unit is at most 3 bytes of UTF-8, so a short string is never encoded only to be refused.
    if (data.length > INLINE_WRITE_BYTES) return undefined;
    const bytes = Buffer.from(data, 'utf8');
    return bytes.length <= INLINE_WRITE_BYTES ? [bytes] : undefined;
  }
  if (data instanceof Uint8Array) return data.length <= INLINE_WRITE_BYTES ? [data] : undefined;
  let total = 0;
  for (const piece of data) {
    total += piece.length;
    if (total > INLINE_WRITE_BYTES) return undefined;
  }
  return data;
}

/** Writes `pieces` to `fd` in order, whole (a short write is continued). */
function writeAllSync(fd: number, pieces: readonly Uint8Array[]): void {
  for (const piece of pieces) {
    let written = 0;
    while (written < piece.length) written += writeSync(fd, piece, written, piece.length - written);
  }
}

/** Writes `pieces` in order with as few system calls as the kernel allows (one, unless a write comes up short). */
async function writeAllPieces(handle: FileHandle, pieces: readonly Uint8Array[]): Promise<void> {
  let rest = pieces.filter((piece) => piece.length > 0);
  while (rest.length > 0) {
    let { bytesWritten } = await handle.writev(rest);
    const next: Uint8Array[] = [];
    for (const piece of rest) {
      if (bytesWritten >= piece.length) bytesWritten -= piece.length;
      else {
        next.push(piece.subarray(bytesWritten));
        bytesWritten = 0;
      }
    }
    rest = next;
  }
}

/**
 * The entries of the folder named by `via` (links not followed), without the names that are not valid
 * UTF-8; with `undecodable`, their lossy names are pushed there.
 */
function listDecodable(via: string, undecodable?: string[]): Dirent[] {
  const entries = readdirSync(via, { withFileTypes: true });
  if (!entries.some((entry) => entry.name.includes('\uFFFD'))) return entries;
  // Rare: list again as bytes to tell a real U+FFFD from a byte sequence that is not UTF-8.
  const bad = new Set<string>();
  for (const raw of readdirSync(via, { encoding: 'buffer' })) if (!isUtf8(raw)) bad.add(raw.toString('utf8'));
  if (bad.size === 0) return entries;
  undecodable?.push(...[...bad].sort());
  return entries.filter((entry) => !bad.has(entry.name));
}

/** An exception thrown by the visitor of a walk, carried out of the walk unchanged. */
class VisitError extends Error {
  constructor(readonly inner: unknown) {
    super('visit failed');
  }
}

function viaOf(fd: number, path: string): string {
  return hasProcFd() ? `/proc/self/fd/${fd}` : path;
}

/** Removes the entry `name` of the folder named by `via`, and everything below it, never following a link. */
function removeEntry(via: string, name: string): void {
  const top = lstatSync(`${via}/${name}`, { throwIfNoEntry: false });
  if (top === undefined) return;
  if (!top.isDirectory()) {
    unlinkSync(`${via}/${name}`);
    return;
  }
  interface Level {
    readonly via: string;
    readonly fd: number | null;
    readonly names: string[];
    readonly parentVia: string;
    readonly name: string;
  }
  const openLevel = (parentVia: string, entry: string, depth: number): Level | null => {
    const path = `${parentVia}/${entry}`;
    if (depth < REMOVE_DESCRIPTOR_DEPTH && hasProcFd()) {
      let fd: number;
      try {
        fd = openSync(path, FOLDER_FLAGS);
      } catch (error) {
        const code = errorCode(error);
        if (code === 'ENOENT') return null;
        // Replaced by a link or a file since the lstat: remove that entry itself.
        if (code === 'ENOTDIR' || code === 'ELOOP') {
          unlinkSync(path);
          return null;
        }
        throw error;
      }
      const levelVia = `/proc/self/fd/${fd}`;
      return { via: levelVia, fd, names: readdirSync(levelVia), parentVia, name: entry };
    }
    return { via: path, fd: null, names: readdirSync(path), parentVia, name: entry };
  };
  const stack: Level[] = [];
  const first = openLevel(via, name, 0);
  if (first === null) return;
  stack.push(first);
  try {
    while (stack.length > 0) {
      const level = stack[stack.length - 1]!;
      const next = level.names.pop();
      if (next === undefined) {
        stack.pop();
        if (level.fd !== null) closeSync(level.fd);
        rmdirSync(`${level.parentVia}/${level.name}`);
        continue;
      }
      const stats = lstatSync(`${level.via}/${next}`, { throwIfNoEntry: false });
      if (stats === undefined) continue;
      if (stats.isDirectory()) {
        const child = openLevel(level.via, next, stack.length);
        if (child !== null) stack.push(child);
      } else unlinkSync(`${level.via}/${next}`);
    }
  } finally {
    for (const level of stack) if (level.fd !== null) closeSync(level.fd);
  }
}

/**
 * Canonicalises a project root given by the user: follows links (above the root they are the user's
 * business) and says whether it is a folder. Throws the file system's error (ENOENT, EACCES...).
 */
export function inspectProjectRoot(path: string): { readonly isFolder: boolean; readonly realPath: string } {
  const stats = statSync(path);
  if (!stats.isDirectory()) return { isFolder: false, realPath: path };
  return { isFolder: true, realPath: realpathSync(path) };
}

/** Where a function finds a folder: a confined view (what the server passes), or its path (tests and tools). */
export type FolderLocation = ProjectFs | string;

/** The confined view of a folder location; a path is confined to its parent folder ({@link ProjectFs.ofFolder}). */
export function folderFs(location: FolderLocation): ProjectFs {
  return typeof location === 'string' ? ProjectFs.ofFolder(location) : location;
}

/** The confined view of a project root location; a path is canonicalised ({@link ProjectFs.openRoot}). */
export function rootFs(location: FolderLocation): ProjectFs {
  return typeof location === 'string' ? ProjectFs.openRoot(location) : location;
}
