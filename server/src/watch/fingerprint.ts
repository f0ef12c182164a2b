/**
 * File fingerprints (size and modification time) of the workspace: how the divergence tracker tells a
 * changed input from an untouched one without hashing, and how a new run knows what changed while no
 * packer was running (`assets/.prometeu/fingerprint.json`).
 */
import { folderFs, type EntryStats, type FolderLocation } from '../io/project-fs.js';
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
 */
export const FINGERPRINT_LOG_PATH = '.prometeu/fingerprint.log';

/** One line of the log: paths whose fingerprint the commit set, and paths it removed. */
interface LogLine {
  readonly set: Record<string, string>;
  readonly removed: string[];
}

/** Reads the fingerprints a previous run saved, with its logged commits applied; null when there are none. */
export function readSavedFingerprints(assetsDir: FolderLocation): Fingerprints | null {
  const assets = folderFs(assetsDir);
  let fingerprints: Fingerprints;
  try {
    const saved = JSON.parse(assets.readText(FINGERPRINT_PATH, SIZE_LIMITS.fingerprints)) as {
      version?: number;
      files?: Record<string, string>;
    };
    if (saved.version !== 1 || typeof saved.files !== 'object' || saved.files === null) return null;
    fingerprints = new Map(Object.entries(saved.files));
  } catch {
    return null;
  }
  let log: string;
  try {
    log = assets.readText(FINGERPRINT_LOG_PATH, SIZE_LIMITS.fingerprintLog);
  } catch {
    return fingerprints;
  }
  for (const line of log.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const entry = JSON.parse(line) as LogLine;
      for (const path of entry.removed) fingerprints.delete(path);
      for (const [path, fingerprint] of Object.entries(entry.set)) fingerprints.set(path, fingerprint);
    } catch {
      // A line cut short by a crash: the commits before it are applied, and nothing after it was written.
      break;
    }
  }
  return fingerprints;
}

/** Appends one commit's fingerprint changes to the log. */
export function logFingerprintChanges(assetsDir: FolderLocation, set: Record<string, string>, removed: string[]): void {
  if (Object.keys(set).length === 0 && removed.length === 0) return;
  folderFs(assetsDir).appendFileSync(FINGERPRINT_LOG_PATH, `${JSON.stringify({ set, removed } satisfies LogLine)}\n`);
}

/** Forgets the log once its changes are in the saved file. */
function clearLog(assetsDir: FolderLocation): void {
  folderFs(assetsDir).removeFileSync(FINGERPRINT_LOG_PATH);
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

/** The saved file's text around its entries. */
function wrapEntries(entries: readonly string[]): string {
  return `{"version":1,"files":{${entries.join(',')}}}\n`;
}

/** The saved file's text at once (a closing project cannot wait), paths sorted. */
function fingerprintText(fingerprints: Fingerprints): string {
  return wrapEntries([...fingerprints.keys()].sort().map((path) => entryText(path, fingerprints.get(path)!)));
}

/**
 * The saved file's text, as {@link fingerprintText} makes it, of the fingerprints as they are when called,
 * written {@link TEXT_CHUNK} entries at a time between turns of the event loop. The paths are almost always
 * sorted already (a reconcile fingerprints the crawl's sorted files; a commit adds a few), so the sort only
 * confirms its runs.
 */
async function fingerprintTextInPieces(fingerprints: Fingerprints): Promise<string> {
  // A copy: a commit may change the fingerprints while the text is made.
  const copy = new Map(fingerprints);
  const paths = [...copy.keys()].sort();
  const entries: string[] = [];
  for (let start = 0; start < paths.length; start += TEXT_CHUNK) {
    if (start > 0) await yieldToClients();
    for (const path of paths.slice(start, start + TEXT_CHUNK)) entries.push(entryText(path, copy.get(path)!));
  }
  return wrapEntries(entries);
}

/**
 * Saves fingerprints for the next run (sorted, so the file is stable); the text is made in pieces between
 * turns of the event loop.
 */
export async function saveFingerprints(assetsDir: FolderLocation, fingerprints: Fingerprints): Promise<void> {
  const assets = folderFs(assetsDir);
  const text = await fingerprintTextInPieces(fingerprints);
  await assets.writeFileAtomic(FINGERPRINT_PATH, text, { createParents: true });
  clearLog(assets);
}

/**
 * Saves fingerprints synchronously, for a project that is closing: the save must be done before the
 * writer lock is released, and closing does not wait. Atomic (a temporary file renamed over the old one)
 * but not flushed: the file is a cache, and an unreadable one only means the next run cannot tell what
 * changed while no packer ran.
 */
export function saveFingerprintsSync(assetsDir: FolderLocation, fingerprints: Fingerprints): void {
  const assets = folderFs(assetsDir);
  assets.replaceFileSync(FINGERPRINT_PATH, fingerprintText(fingerprints), { createParents: true });
  clearLog(assets);
}
