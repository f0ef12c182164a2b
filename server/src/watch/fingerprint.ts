/**
 * File fingerprints (size and modification time) of the workspace: how the divergence tracker tells a
 * changed input from an untouched one without hashing, and how a new run knows what changed while no
 * packer was running (`assets/.prometeu/fingerprint.json`).
 */
import { hash, randomBytes } from 'node:crypto';
import { CONTROL_FOLDER, isWithin } from '../domain/paths.js';
import { folderFs, type EntryStats, type FolderLocation, type ProjectFs } from '../io/project-fs.js';
import { SIZE_LIMITS } from '../io/size-limits.js';
import { yieldToClients } from '../io/turns.js';

/** The fingerprint file, relative to `assets/`. */
export const FINGERPRINT_PATH = '.prometeu/fingerprint.json';

/** Path (relative to `assets/`) to `size:mtimeMs`. */
export type Fingerprints = Map<string, string>;

/** The fingerprint of a regular file's `lstat`. */
export function fingerprintOfStats(stats: EntryStats): string {
  return `${stats.size}:${Math.trunc(stats.mtimeMs)}`;
}

/** The fingerprint of one file now, or null when it is not a regular file. */
export function fingerprintOf(assetsDir: FolderLocation, path: string): string | null {
  try {
    const stats = folderFs(assetsDir).stat(path);
    return stats?.isFile() ? fingerprintOfStats(stats) : null;
  } catch {
    return null;
  }
}

/** How many files are fingerprinted between two turns of the event loop: about 2 ms of `lstat` calls. */
const FINGERPRINT_CHUNK = 500;

/** How many fingerprints are written into the saved file's text between two turns of the event loop. */
const TEXT_CHUNK = 1_000;

/**
 * Fingerprints `files`, yielding to the event loop every `chunk` files so reads stay responsive on large
 * workspaces. Files that vanish are left out.
 */
export async function fingerprintFiles(
  assetsDir: FolderLocation,
  files: readonly string[],
  chunk = FINGERPRINT_CHUNK,
): Promise<Fingerprints> {
  const result: Fingerprints = new Map();
  const within = folderFs(assetsDir);
  for (let start = 0; start < files.length; start += chunk) {
    // One scope per chunk (a scope must not outlive the turn that uses it): each folder is resolved once.
    within.scope((assets) => {
      for (const file of files.slice(start, start + chunk)) {
        const fingerprint = fingerprintOf(assets, file);
        if (fingerprint !== null) result.set(file, fingerprint);
      }
    });
    if (start + chunk < files.length) await yieldToClients();
  }
  return result;
}

/**
 * The log of fingerprint changes made by commits since the file was last saved, relative to `assets/`:
 * one JSON line per commit, appended (cheap, and it survives the process being killed), folded into the
 * file when it is saved. Without it, a packer killed after a commit would report its own commit as a
 * change made while no packer ran.
 *
 * A commit appends two lines: its {@link CommitIntent} before its first write, and the fingerprints it set
 * once it has committed. A packer killed between its last write and the second line leaves an intent with
 * no line after it; the next run settles that intent against the disk (see {@link settleIntent}), so the
 * commit is neither reported as an outside change nor able to hide one. That next run appends its own
 * commits after it, so an intent is settled wherever the next intent follows it directly, not only at the
 * end. Each line is written with its newline first: a line a kill cut short is then ended by the next
 * append instead of swallowing that append's line, and the reader skips it.
 */
export const FINGERPRINT_LOG_PATH = '.prometeu/fingerprint.log';

/**
 * What a commit is about to do to the files the fingerprints cover (the control folder left out), logged
 * before it writes anything. Paths are relative to `assets/`.
 */
export interface CommitIntent {
  /** The files it writes, each with the SHA-256 (hex) of the exact bytes it writes. */
  readonly written: Readonly<Record<string, string>>;
  /**
   * The files it replaces, each with the SHA-256 (hex) of the text it replaces: what an undo of the commit (its
   * rollback after an I/O failure, or a recovery that rolls its journal back) writes back. Absent in the logs of
   * earlier versions.
   */
  readonly replaced?: Readonly<Record<string, string>>;
  /**
   * The folders it moves, each with the fingerprints its files had before the move, relative to the folder
   * (a rename keeps a file's size and modification time, so a moved file keeps its fingerprint).
   */
  readonly moved: readonly {
    readonly from: string;
    readonly to: string;
    readonly files: Readonly<Record<string, string>>;
  }[];
  /** The folders it deletes. */
  readonly deleted: readonly string[];
}

/**
 * One line of the log: paths whose fingerprint a commit set and paths it removed, what a commit is about to do,
 * or the mark of a save (its token, which the saved file names: the lines before it are in that file).
 */
type LogLine =
  | { readonly set: Record<string, string>; readonly removed: string[] }
  | { readonly intent: CommitIntent }
  | { readonly saved: string };

/** Whether `path` (relative to `assets/`) is in the control folder, which no fingerprint covers. */
const isControl = (path: string): boolean => isWithin(CONTROL_FOLDER, path);

/** `rest` (relative to `folder`) relative to `assets/`. */
function inFolder(folder: string, rest: string): string {
  return folder === '' ? rest : `${folder}/${rest}`;
}

/** SHA-256 (hex) of a text's UTF-8 bytes, as a commit writes them. */
export function sha256OfText(text: string): string {
  return hash('sha256', text, 'hex');
}

/** The fingerprints {@link settleIntent} edits: a map of them, or one that also records the edits. */
interface FingerprintEdits {
  keys(): Iterable<string>;
  set(path: string, fingerprint: string): unknown;
  delete(path: string): unknown;
}

/**
 * Settles the intent of a commit whose fingerprints were never logged (its packer was killed first, or the commit
 * failed and was undone): the fingerprints become what the commit (or its undo) left on disk, where the disk
 * proves the packer did it, and stay as they were everywhere else, so the comparison that follows reports exactly
 * what changed besides the commit.
 *
 * - A moved file: gone from its old path, and at its new path with the fingerprint it had before the move.
 * - A file in a deleted folder: gone from disk.
 * - A written file: its bytes on disk hash to the bytes the commit wrote, or to the text it replaced (an undo
 *   wrote it back: the content the old fingerprint described, with a new modification time). A file the commit
 *   did not reach yet, or one changed since, keeps its old fingerprint and is reported if it differs.
 *
 * The part of the commit a crash cut short (a journaled commit's later actions) is simply not on disk yet;
 * the journal's recovery finishes or undoes it, and refreshes these fingerprints as any commit does.
 */
function settleIntent(assets: ProjectFs, fingerprints: FingerprintEdits, intent: CommitIntent): void {
  for (const move of intent.moved) {
    for (const [rest, before] of Object.entries(move.files)) {
      const from = inFolder(move.from, rest);
      const to = inFolder(move.to, rest);
      if (fingerprintOf(assets, from) !== null) continue;
      if (!isControl(from)) fingerprints.delete(from);
      if (!isControl(to) && fingerprintOf(assets, to) === before) fingerprints.set(to, before);
    }
  }
  for (const folder of intent.deleted) {
    if (isControl(folder)) continue;
    for (const path of [...fingerprints.keys()])
      if (isWithin(folder, path) && fingerprintOf(assets, path) === null) fingerprints.delete(path);
  }
  for (const [path, sha256] of Object.entries(intent.written)) {
    if (isControl(path)) continue;
    let bytes: Buffer | null;
    try {
      bytes = assets.readFileIfRegular(path, SIZE_LIMITS.declaration);
    } catch {
      continue;
    }
    if (bytes === null) continue;
    const onDisk = hash('sha256', bytes, 'hex');
    if (onDisk !== sha256 && onDisk !== intent.replaced?.[path]) continue;
    const fingerprint = fingerprintOf(assets, path);
    if (fingerprint !== null) fingerprints.set(path, fingerprint);
  }
}

/**
 * Settles, in a running packer's own fingerprints, the intent of its commit that failed (and was undone, or
 * stopped before its first write) without logging its fingerprints; returns the changes, for the log.
 */
export function settleFailedCommit(
  assetsDir: FolderLocation,
  fingerprints: Map<string, string>,
  intent: CommitIntent,
): { set: Record<string, string>; removed: string[] } {
  const touched = new Set<string>();
  settleIntent(
    folderFs(assetsDir),
    {
      keys: () => fingerprints.keys(),
      set: (path, fingerprint) => {
        touched.add(path);
        fingerprints.set(path, fingerprint);
      },
      delete: (path) => {
        touched.add(path);
        fingerprints.delete(path);
      },
    },
    intent,
  );
  const set: Record<string, string> = {};
  const removed: string[] = [];
  for (const path of touched) {
    const fingerprint = fingerprints.get(path);
    if (fingerprint === undefined) removed.push(path);
    else set[path] = fingerprint;
  }
  return { set, removed };
}

/** Reads the fingerprints a previous run saved, with its logged commits applied; null when there are none. */
export function readSavedFingerprints(assetsDir: FolderLocation): Fingerprints | null {
  const assets = folderFs(assetsDir);
  let fingerprints: Fingerprints;
  // The token of the save that wrote the file, whose mark in the log may still be there (see `saveFingerprints`).
  let token: string | undefined;
  try {
    const saved = JSON.parse(assets.readText(FINGERPRINT_PATH, SIZE_LIMITS.fingerprints)) as {
      version?: number;
      log?: unknown;
      files?: Record<string, string>;
    };
    if (saved.version !== 1 || typeof saved.files !== 'object' || saved.files === null) return null;
    fingerprints = new Map(Object.entries(saved.files));
    if (typeof saved.log === 'string') token = saved.log;
  } catch {
    return null;
  }
  let log: string;
  try {
    log = assets.readText(FINGERPRINT_LOG_PATH, SIZE_LIMITS.fingerprintLog);
  } catch {
    return fingerprints;
  }
  // The intent of the last commit logged, until the line of its fingerprints follows it.
  let unsettled: CommitIntent | undefined;
  const settle = (): void => {
    if (unsettled === undefined) return;
    try {
      settleIntent(assets, fingerprints, unsettled);
    } catch {
      // A malformed intent (the log is the packer's own, but a person may edit it): the commit is then reported.
    }
    unsettled = undefined;
  };
  const entries: LogLine[] = [];
  for (const line of log.split('\n')) {
    if (line.trim() === '') continue;
    try {
      entries.push(JSON.parse(line) as LogLine);
    } catch {
      // A line a kill cut short (the next run's lines start on a line of their own after it). A cut intent was
      // logged before its commit's first write, so that commit wrote nothing; a cut line of fingerprints leaves
      // its commit's intent unsettled, and it is settled below like any other.
    }
  }
  // A save killed after its file was in place but before it trimmed the log: the lines before its mark are in
  // the file (applying them again could undo what a reconcile saved), except the intent of a commit that was
  // running then, which is still open.
  const mark = token === undefined ? -1 : entries.findIndex((entry) => 'saved' in entry && entry.saved === token);
  for (const entry of entries.slice(0, mark + 1)) {
    if ('intent' in entry) unsettled = entry.intent;
    else if ('set' in entry) unsettled = undefined;
  }
  for (const entry of entries.slice(mark + 1)) {
    if ('saved' in entry) continue;
    if ('intent' in entry) {
      // An intent with no fingerprints after it, followed by the next commit's: its packer was killed (or its
      // commit failed), and the run after it went on logging. It is settled now; the commits after it then
      // apply their own lines on top, so a file they changed again ends with their fingerprint.
      settle();
      unsettled = entry.intent;
      continue;
    }
    unsettled = undefined;
    for (const path of entry.removed) fingerprints.delete(path);
    for (const [path, fingerprint] of Object.entries(entry.set)) fingerprints.set(path, fingerprint);
  }
  settle();
  return fingerprints;
}

/** Appends one line to the log, its newline first (see {@link FINGERPRINT_LOG_PATH}); returns the text appended. */
function appendLine(assetsDir: FolderLocation, line: LogLine): string {
  const text = `\n${JSON.stringify(line)}`;
  folderFs(assetsDir).appendFileSync(FINGERPRINT_LOG_PATH, text);
  return text;
}

/** Appends one commit's fingerprint changes to the log; returns the text appended, or null when there was none. */
export function logFingerprintChanges(
  assetsDir: FolderLocation,
  set: Record<string, string>,
  removed: string[],
): string | null {
  if (Object.keys(set).length === 0 && removed.length === 0) return null;
  return appendLine(assetsDir, { set, removed });
}

/**
 * Appends what a commit is about to do to the log, before its first write; returns the text appended, or null
 * (nothing appended) when the commit touches no fingerprinted file.
 */
export function logCommitIntent(assetsDir: FolderLocation, intent: CommitIntent): string | null {
  if (Object.keys(intent.written).length === 0 && intent.moved.length === 0 && intent.deleted.length === 0) return null;
  return appendLine(assetsDir, { intent });
}

/**
 * Once the saved file holds the fingerprints as they were when it was made: the log keeps only `carried`, the
 * lines the saved file does not hold (appended since, and the intent of a commit that was running then), or
 * goes when there are none. Atomic: a kill before it leaves the whole log, whose lines the saved file already
 * holds are applied again in order, to the same result.
 */
function trimLog(assetsDir: FolderLocation, carried: readonly string[]): void {
  const assets = folderFs(assetsDir);
  if (carried.length === 0) assets.removeFileSync(FINGERPRINT_LOG_PATH);
  else assets.replaceFileSync(FINGERPRINT_LOG_PATH, carried.join(''));
}

/** Whether `text` holds a character a JSON string writes escaped (a control character, a quote, a backslash, a surrogate). */
function needsEscape(text: string): boolean {
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code < 0x20 || code === 0x22 || code === 0x5c || (code >= 0xd800 && code <= 0xdfff)) return true;
  }
  return false;
}

/** One entry of the saved file's `files` object: what `JSON.stringify` writes, without calling it for plain text. */
function entryText(path: string, fingerprint: string): string {
  const key = needsEscape(path) ? JSON.stringify(path) : `"${path}"`;
  // A fingerprint is `size:mtime`, digits and one colon.
  return `${key}:"${fingerprint}"`;
}

/** The saved file's text around its entries, naming the token of its mark in the log (hex digits). */
function wrapEntries(entries: readonly string[], token: string): string {
  return `{"version":1,"log":"${token}","files":{${entries.join(',')}}}\n`;
}

/** The saved file's text at once (a closing project cannot wait), paths sorted. */
function fingerprintText(fingerprints: Fingerprints, token: string): string {
  return wrapEntries(
    [...fingerprints.keys()].sort().map((path) => entryText(path, fingerprints.get(path)!)),
    token,
  );
}

/**
 * Marks in the log where a save copies the fingerprints (called in the same turn as the copy): the lines before
 * the mark are in the saved file, so a kill between the file's rename and the log's trim cannot make the next
 * run apply them again. Returns the mark's token. Without a log that can be appended to, the next run applies
 * every line, as before marks existed.
 */
function markSave(assetsDir: FolderLocation): string {
  const token = randomBytes(8).toString('hex');
  try {
    appendLine(assetsDir, { saved: token });
  } catch {
    // See above: no mark, and the file names a token the log does not hold.
  }
  return token;
}

/**
 * The saved file's text, as {@link fingerprintText} makes it, of the fingerprints as they are when called,
 * written {@link TEXT_CHUNK} entries at a time between turns of the event loop. The paths are almost always
 * sorted already (a reconcile fingerprints the crawl's sorted files; a commit adds a few), so the sort only
 * confirms its runs.
 */
async function fingerprintTextInPieces(fingerprints: Fingerprints, token: string): Promise<string> {
  // A copy: a commit may change the fingerprints while the text is made.
  const copy = new Map(fingerprints);
  const paths = [...copy.keys()].sort();
  const entries: string[] = [];
  for (let start = 0; start < paths.length; start += TEXT_CHUNK) {
    if (start > 0) await yieldToClients();
    for (const path of paths.slice(start, start + TEXT_CHUNK)) entries.push(entryText(path, copy.get(path)!));
  }
  return wrapEntries(entries, token);
}

/**
 * Saves fingerprints for the next run (sorted, so the file is stable); the text is made in pieces between
 * turns of the event loop, of the fingerprints as they are when this is called. Commits go on meanwhile, so
 * the log is then trimmed to what `carried` says when the file is in place: the lines the saved file does not
 * hold (see {@link trimLog}), never simply removed.
 */
export async function saveFingerprints(
  assetsDir: FolderLocation,
  fingerprints: Fingerprints,
  carried: () => readonly string[] = () => [],
): Promise<void> {
  const assets = folderFs(assetsDir);
  const text = await fingerprintTextInPieces(fingerprints, markSave(assets));
  await assets.writeFileAtomic(FINGERPRINT_PATH, text, { createParents: true });
  trimLog(assets, carried());
}

/**
 * Saves fingerprints synchronously, for a project that is closing: the save must be done before the
 * writer lock is released, and closing does not wait. Atomic (a temporary file renamed over the old one)
 * but not flushed: the file is a cache, and an unreadable one only means the next run cannot tell what
 * changed while no packer ran.
 */
export function saveFingerprintsSync(
  assetsDir: FolderLocation,
  fingerprints: Fingerprints,
  carried: readonly string[] = [],
): void {
  const assets = folderFs(assetsDir);
  assets.replaceFileSync(FINGERPRINT_PATH, fingerprintText(fingerprints, markSave(assets)), { createParents: true });
  trimLog(assets, carried);
}
