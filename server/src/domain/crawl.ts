/**
 * The crawl: one pass over `assets/` that finds every anchor (`asset.json`), reads it, and lists every
 * file. It never follows symbolic links (so link loops cannot trap it) and survives entries that vanish
 * or cannot be read while it runs: each becomes a recorded problem, never an exception.
 */
import {
  folderFs,
  type EntryStats as Stats,
  type FolderLocation,
  type ProjectFs,
  type WalkedFolder,
} from '../io/project-fs.js';
import { SIZE_LIMITS } from '../io/size-limits.js';
import { CONTROL_FOLDER } from './paths.js';

/** The anchor file name. */
export const ANCHOR_FILE = 'asset.json';

/** An anchor found by the crawl. */
export interface CrawledAnchor {
  /** The root folder, relative to `assets/`, POSIX. */
  readonly root: string;
  /** The file's text, or null when it could not be read. */
  readonly text: string | null;
  /** Why it could not be read. */
  readonly readError?: string;
}

/** Something the crawl could not read. */
export interface CrawlProblem {
  /** Relative to `assets/`; '' for `assets/` itself. */
  readonly path: string;
  /** The system error code (ENOENT, EACCES...) or a short reason. */
  readonly code: string;
}

/** What one crawl saw. All paths are relative to `assets/`, POSIX, and every list is sorted. */
export interface CrawlResult {
  readonly anchors: readonly CrawledAnchor[];
  /** Every regular file except those in the control folder, anchors included. */
  readonly files: readonly string[];
  /** Symbolic links found (not followed). */
  readonly symlinks: readonly string[];
  /** Folders or files that could not be read or vanished during the crawl. */
  readonly problems: readonly CrawlProblem[];
  /**
   * Journals that recovery could not replay and moved aside (`.prometeu/journal-unrecoverable-*.json`,
   * relative to `assets/`). Only a crawl of the whole of `assets/` sets it; partial crawls leave it out.
   */
  readonly unrecoverableJournals?: readonly string[];
  /**
   * The write journal (`.prometeu/journal.json`, relative to `assets/`) when a crawl of the whole of
   * `assets/` found one: a write in progress or one that recovery could not finish. Partial crawls leave
   * it out, and so does a full crawl that found none.
   */
  readonly pendingJournal?: string;
}

/** Prefix of journals set aside by recovery (see `UNRECOVERABLE_JOURNAL_PREFIX` in the executor). */
const SET_ASIDE_JOURNAL = /^journal-unrecoverable-.*\.json$/;
/** The name of the write journal in the control folder (see `JOURNAL_PATH` in the executor). */
const JOURNAL_NAME = 'journal.json';

function errorCode(error: unknown): string {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string'
    ? error.code
    : 'EUNKNOWN';
}

/**
 * Crawls `assetsDir` synchronously, through the confined file system: one walk in which every folder is
 * opened once through the descriptor of the folder above it (links are listed, never followed), and each
 * `asset.json` is read through its folder's descriptor. Synchronous on purpose: on this workload (many
 * small folders) a synchronous walk is several times faster than an async one, and the caller decides
 * where it runs. With `start`, only that folder (relative to `assetsDir`) and what lies below it is
 * crawled, and a missing `start` gives an empty result. With `onFile`, each regular file's `lstat` is
 * taken in the same pass, while its folder is open (for fingerprints). Throws only when `assetsDir`
 * itself cannot be listed.
 */
export function crawlAssets(
  assetsDir: FolderLocation,
  start = '',
  onFile?: (path: string, stats: Stats) => void,
): CrawlResult {
  return crawlIn(folderFs(assetsDir), start, onFile);
}

/**
 * One of `of` disjoint shares of a crawl of the whole of `assets/`, for crawling on several threads at once:
 * the folders directly in `assets/` (the control folder aside) are dealt out in name order, the `index`-th
 * share takes every `of`-th one from its `index` and all that lies below them, and share 0 also takes the
 * files, links and problems of `assets/` itself and the control folder. {@link mergeCrawls} of all the
 * shares is what one crawl of the whole would give.
 */
export interface CrawlShare {
  readonly index: number;
  readonly of: number;
}

/** {@link crawlAssets} of the whole of `assetsDir`, limited to one share of it (see {@link CrawlShare}). */
export function crawlShare(assetsDir: FolderLocation, share: CrawlShare): CrawlResult {
  return crawlIn(folderFs(assetsDir), '', undefined, share);
}

/** Merges sorted lists of disjoint keys into one sorted list. */
function mergeSorted<T>(lists: readonly (readonly T[])[], key: (item: T) => string): T[] {
  let merged: T[] = [...(lists[0] ?? [])];
  for (const list of lists.slice(1)) {
    const next: T[] = [];
    let left = 0;
    let right = 0;
    while (left < merged.length && right < list.length)
      next.push(key(merged[left]!) <= key(list[right]!) ? merged[left++]! : list[right++]!);
    while (left < merged.length) next.push(merged[left++]!);
    while (right < list.length) next.push(list[right++]!);
    merged = next;
  }
  return merged;
}

/** The crawl of the whole of `assets/` that the shares `parts` (all of them, share 0 first) make up together. */
export function mergeCrawls(parts: readonly CrawlResult[]): CrawlResult {
  const first = parts[0]!;
  if (parts.length === 1) return first;
  return {
    anchors: mergeSorted(
      parts.map((part) => part.anchors),
      (anchor) => anchor.root,
    ),
    files: mergeSorted(
      parts.map((part) => part.files),
      (file) => file,
    ),
    symlinks: mergeSorted(
      parts.map((part) => part.symlinks),
      (link) => link,
    ),
    problems: mergeSorted(
      parts.map((part) => part.problems),
      (problem) => problem.path,
    ),
    unrecoverableJournals: first.unrecoverableJournals ?? [],
    ...(first.pendingJournal !== undefined ? { pendingJournal: first.pendingJournal } : {}),
  };
}

function crawlIn(
  assets: ProjectFs,
  start: string,
  onFile?: (path: string, stats: Stats) => void,
  share?: CrawlShare,
): CrawlResult {
  const anchors: CrawledAnchor[] = [];
  const files: string[] = [];
  const symlinks: string[] = [];
  const problems: CrawlProblem[] = [];
  const unrecoverableJournals: string[] = [];
  let pendingJournal = false;
  const visit = (folder: WalkedFolder): string[] => {
    const relative = folder.path;
    if (start === '' && relative === CONTROL_FOLDER) {
      // The control folder is not part of the workspace: only its journals are looked at.
      for (const entry of folder.entries) {
        if (SET_ASIDE_JOURNAL.test(entry.name)) unrecoverableJournals.push(`${CONTROL_FOLDER}/${entry.name}`);
        else if (entry.name === JOURNAL_NAME) pendingJournal = true;
      }
      return [];
    }
    if (share !== undefined && relative === '') return shareOfTop(folder, share, visitOwn);
    return visitOwn(folder);
  };
  const visitOwn = (folder: WalkedFolder): string[] => {
    const relative = flatPath(folder.path);
    // Names that are not UTF-8 cannot be opened by the name a string gives them: a problem, not a file.
    for (const name of folder.undecodable)
      problems.push({ path: relative === '' ? name : `${relative}/${name}`, code: 'EILSEQ' });
    const subfolders: string[] = [];
    let hasAnchor = false;
    for (const entry of folder.entries) {
      const name = entry.name;
      // Joined, not concatenated: `+` makes a rope of the folder's path and the name that V8 later flattens
      // into a second copy (a Set of the files hashes every one), about 180 bytes more per file kept.
      const path = relative === '' ? name : [relative, name].join('/');
      if (entry.isDirectory()) subfolders.push(name);
      else if (entry.isFile()) {
        if (onFile !== undefined) {
          let stats: Stats | null = null;
          try {
            stats = folder.stat(name);
          } catch {
            // Unreachable now: it vanished or was replaced; it is still listed, without a fingerprint.
          }
          if (stats?.isFile()) onFile(path, stats);
        }
        files.push(path);
        if (name === ANCHOR_FILE && relative !== '') hasAnchor = true;
      } else if (entry.isSymbolicLink()) {
        symlinks.push(path);
      }
    }
    if (hasAnchor) {
      try {
        anchors.push({ root: relative, text: folder.readText(ANCHOR_FILE, SIZE_LIMITS.declaration) });
      } catch (error) {
        const code = errorCode(error);
        // An anchor that vanished between the listing and the read is not an anchor, nor a file any more:
        // take it back out of the listing made a moment ago and record the problem only.
        if (code === 'ENOENT') {
          const anchorPath = `${relative}/${ANCHOR_FILE}`;
          files.splice(files.lastIndexOf(anchorPath), 1);
          problems.push({ path: anchorPath, code });
        } else anchors.push({ root: relative, text: null, readError: code });
      }
    }
    return subfolders;
  };
  const onError = (path: string, error: unknown): void => {
    // An unreadable control folder shows up as registry-unreadable.
    if (start === '' && path === CONTROL_FOLDER) return;
    problems.push({ path, code: errorCode(error) });
  };
  try {
    assets.walkFolders(start, visit, onError);
  } catch (error) {
    if (start === '') throw error;
    if (errorCode(error) !== 'ENOENT') problems.push({ path: start, code: errorCode(error) });
  }
  anchors.sort((a, b) => compareStrings(a.root, b.root));
  files.sort(compareStrings);
  symlinks.sort(compareStrings);
  problems.sort((a, b) => compareStrings(a.path, b.path));
  if (start !== '') return { anchors, files, symlinks, problems };
  return {
    anchors,
    files,
    symlinks,
    problems,
    unrecoverableJournals: unrecoverableJournals.sort(compareStrings),
    ...(pendingJournal ? { pendingJournal: `${CONTROL_FOLDER}/${JOURNAL_NAME}` } : {}),
  };
}

/**
 * The top folder `assets/` within one share: share 0 sees all of it (its files, links, problems and the
 * control folder) and keeps its own part of the subfolders; every other share only walks its subfolders.
 */
function shareOfTop(folder: WalkedFolder, share: CrawlShare, visitOwn: (folder: WalkedFolder) => string[]): string[] {
  const dealt = (names: readonly string[]): string[] =>
    names
      .filter((name) => name !== CONTROL_FOLDER)
      .sort(compareStrings)
      .filter((_, position) => position % share.of === share.index);
  if (share.index === 0) {
    const own = visitOwn(folder);
    const mine = new Set(dealt(own));
    return own.filter((name) => name === CONTROL_FOLDER || mine.has(name));
  }
  return dealt(folder.entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name));
}

/**
 * `path` as one flat string. The walk builds each folder's path by concatenation, which V8 keeps as a rope
 * of one node per level; a root kept as a map key is flattened there into a second copy while the rope
 * stays. Joining its two halves makes one flat string (a join of one part, or with an empty one, would
 * return the rope itself).
 */
function flatPath(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash <= 0 ? path : [path.slice(0, slash), path.slice(slash + 1)].join('/');
}

/** Code-unit order: the same on every machine and locale. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The index of the first element of `sorted` (in {@link compareStrings} order) that is not below `value`. */
export function lowerBound(sorted: readonly string[], value: string): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sorted[middle]! < value) low = middle + 1;
    else high = middle;
  }
  return low;
}
