/**
 * The crawls a watched project makes off the main thread, in a worker, so that a 100k-root workspace does not
 * stall reads for seconds:
 * - the verification crawl lists every file of `assets/` and fingerprints it;
 * - the reload crawl (reconcile, initWorkspace, recovery) is the crawl that builds a snapshot, each file's
 *   stamp taken in the same pass, so that the reload neither stats every input again to carry format results
 *   nor every file to fingerprint it.
 * Answers travel as a few flat strings rather than 300k small objects, to keep the copy between threads and
 * the memory it takes small; paths are joined with NUL, the one character no file name can hold (a newline
 * can), and declaration texts are concatenated with their lengths beside them. The worker reads through the
 * same confined file system as the main thread. Falls back to the same work inline when a worker cannot be
 * started (for example when running from TypeScript sources in tests).
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { crawlAssets, type CrawledAnchor, type CrawlProblem, type CrawlResult } from '../domain/crawl.js';
import { CONTROL_FOLDER } from '../domain/paths.js';
import { ProjectFs, type EntryStats } from '../io/project-fs.js';
import { fingerprintOfStats, readSavedFingerprints } from './fingerprint.js';
import { SliceClock } from '../pack/slice.js';
import { yieldToClients } from '../io/turns.js';

/** Separates paths (and fingerprints) in the worker's answer. */
const SEPARATOR = '\0';

/** What the verification crawl returns: every file with its fingerprint. */
export interface VerifiedDisk {
  readonly fingerprints: Map<string, string>;
  /** With `withSaved`: the fingerprints the previous run saved (see `readSavedFingerprints`), or null. */
  readonly saved?: Map<string, string> | null;
  /** With `changedSince`: the files whose change or modification time is later than that instant. */
  readonly changed?: ReadonlySet<string>;
}

/** A verification crawl as the worker sends it: paths and fingerprints joined, and the saved ones when asked. */
interface EncodedDisk {
  readonly paths: string;
  readonly fingerprints: string;
  /** With `changedSince`: the files changed later, joined. */
  readonly changed?: string;
  readonly saved?: { readonly paths: string; readonly fingerprints: string } | null;
}

/** What a verification crawl is asked for beyond every file's fingerprint. */
export interface VerifyOptions {
  /** Also read the fingerprints the previous run saved. */
  readonly withSaved?: boolean;
  /**
   * Also name the files whose change time (or modification time) is later than this instant (ms since the
   * epoch): the change time moves with every write, rename or `utimes` and cannot be set back, so a file not
   * named was last touched before that instant.
   */
  readonly changedSince?: number;
  /** The files the snapshot holds: below {@link INLINE_CRAWL_FILES} the crawl runs here, without a worker. */
  readonly expectedFiles?: number;
}

function crawlAndFingerprintWith(assets: ProjectFs, withSaved: boolean, changedSince?: number): EncodedDisk {
  const disk = crawlAndFingerprint(assets, changedSince);
  if (!withSaved) return disk;
  const saved = readSavedFingerprints(assets);
  return {
    ...disk,
    saved:
      saved === null
        ? null
        : { paths: [...saved.keys()].join(SEPARATOR), fingerprints: [...saved.values()].join(SEPARATOR) },
  };
}

/**
 * Lists and fingerprints every regular file in one walk (each file's `lstat` taken while the walk holds its
 * folder open, so no folder is resolved twice), as two NUL-joined strings in the same order: the files of
 * the crawl that builds a snapshot (`crawlAssets`), control folder left out, links not followed. Unlike that
 * crawl it reads no `asset.json`: the verification compares fingerprints, and reads the text of only the
 * anchors whose fingerprint differs (one open and read fewer per asset root). Throws only when `assets/`
 * itself cannot be listed; a folder that cannot be read or vanishes is left out, as its files then are.
 */
function crawlAndFingerprint(
  assets: ProjectFs,
  changedSince?: number,
): { paths: string; fingerprints: string; changed?: string } {
  const paths: string[] = [];
  const fingerprints: string[] = [];
  const changed: string[] = [];
  assets.walkFolders(
    '',
    (folder) => {
      if (folder.path === CONTROL_FOLDER) return [];
      const subfolders: string[] = [];
      for (const entry of folder.entries) {
        if (entry.isDirectory()) subfolders.push(entry.name);
        else if (entry.isFile()) {
          let stats: EntryStats | null = null;
          try {
            stats = folder.stat(entry.name);
          } catch {
            // Vanished or unreadable since the folder was listed: left out, as the crawl leaves it out.
          }
          if (!stats?.isFile()) continue;
          const path = folder.path === '' ? entry.name : `${folder.path}/${entry.name}`;
          paths.push(path);
          fingerprints.push(fingerprintOfStats(stats));
          // Whole milliseconds, as `Date.now()` gives the instant: a file written within that millisecond, before it,
          // must not count as later.
          if (changedSince !== undefined && Math.trunc(Math.max(stats.ctimeMs, stats.mtimeMs)) > changedSince)
            changed.push(path);
        }
      }
      return subfolders;
    },
    () => undefined,
  );
  return {
    paths: paths.join(SEPARATOR),
    fingerprints: fingerprints.join(SEPARATOR),
    ...(changedSince !== undefined ? { changed: changed.join(SEPARATOR) } : {}),
  };
}

/** How many items of a worker's answer are taken in between two looks at the clock. */
const CLOCK_EVERY = 256;

/**
 * The NUL-joined items of `joined`, cut out one at a time in time slices between turns of the event loop (a
 * `split` of 300k paths at once held the main thread for tens of milliseconds), each given to `take`.
 */
async function eachJoined(joined: string, take: (item: string) => void): Promise<void> {
  if (joined === '') return;
  const clock = new SliceClock();
  for (let start = 0, count = 0; ; count++) {
    if (count % CLOCK_EVERY === 0) await clock.pause();
    const end = joined.indexOf(SEPARATOR, start);
    take(joined.slice(start, end < 0 ? undefined : end));
    if (end < 0) return;
    start = end + 1;
  }
}

async function toMap(answer: { paths: string; fingerprints: string }): Promise<Map<string, string>> {
  const map = new Map<string, string>();
  const paths: string[] = [];
  await eachJoined(answer.paths, (path) => paths.push(path));
  let index = 0;
  await eachJoined(answer.fingerprints, (fingerprint) => map.set(paths[index++]!, fingerprint));
  return map;
}

/** What a worker is started for. */
type WorkerTask = 'verify' | 'verifyWithSaved' | 'reload';

/** Starts a worker running `task` on `assets`, or returns undefined where none can start (TypeScript sources). */
function startWorker(assets: ProjectFs, task: WorkerTask, changedSince?: number): Worker | undefined {
  const url = new URL(import.meta.url);
  // Compiled (dist/*.js) or bundled (dist/bundle/main.cjs): never the TypeScript sources tests run from.
  if (!/\.c?js$/.test(url.pathname)) return undefined;
  try {
    // The worker runs its own entry script beside this module (in dist/ and in the bundle alike).
    return new Worker(new URL('./crawl-worker-entry.js', url), {
      workerData: {
        root: assets.root,
        base: assets.base,
        task,
        ...(changedSince !== undefined ? { changedSince } : {}),
      },
      execArgv: [],
    });
  } catch {
    return undefined;
  }
}

/** The one answer of a worker started by {@link startWorker}; it is ended once it answered. */
function answerOf<Answer>(worker: Worker): Promise<Answer> {
  return new Promise<Answer>((resolve, reject) => {
    worker.once('message', (message: ({ ok: true } & Answer) | { ok: false; error: string; code?: string }) => {
      void worker.terminate();
      if (message.ok) resolve(message);
      else reject(Object.assign(new Error(message.error), message.code !== undefined ? { code: message.code } : {}));
    });
    worker.once('error', (error) => reject(error));
  });
}

/**
 * Crawls and fingerprints `assets`, in a worker thread when possible, and takes the answer in between turns of
 * the event loop; see {@link VerifyOptions} for what else it can be asked. Inline when `expectedFiles` (what the
 * snapshot holds) is small, as the reload crawl is. Rejects when `assets/` cannot be listed.
 */
export async function verifyDisk(assets: ProjectFs, options: VerifyOptions = {}): Promise<VerifiedDisk> {
  const withSaved = options.withSaved ?? false;
  const worker =
    (options.expectedFiles ?? INLINE_CRAWL_FILES) < INLINE_CRAWL_FILES
      ? undefined
      : startWorker(assets, withSaved ? 'verifyWithSaved' : 'verify', options.changedSince);
  const disk =
    worker === undefined
      ? crawlAndFingerprintWith(assets, withSaved, options.changedSince)
      : await answerOf<EncodedDisk>(worker);
  const fingerprints = await toMap(disk);
  let changed: Set<string> | undefined;
  if (disk.changed !== undefined) {
    const paths = new Set<string>();
    await eachJoined(disk.changed, (path) => paths.add(path));
    changed = paths;
  }
  return {
    fingerprints,
    ...(disk.saved !== undefined ? { saved: disk.saved === null ? null : await toMap(disk.saved) } : {}),
    ...(changed !== undefined ? { changed } : {}),
  };
}

/**
 * The stamp of a regular file's `lstat`, as format results record it (`stampOf` in validation/check-asset.ts):
 * size, modification and change times and inode.
 */
function stampOfStats(stats: EntryStats): string {
  return `${stats.size}:${stats.mtimeMs}:${stats.ctimeMs}:${stats.ino}`;
}

/** The fingerprint (see fingerprint.ts) within a stamp: its size and its whole milliseconds of modification. */
export function fingerprintOfStamp(stamp: string): string {
  const size = stamp.indexOf(':');
  const modified = stamp.indexOf(':', size + 1);
  return `${stamp.slice(0, size)}:${Math.trunc(Number(stamp.slice(size + 1, modified)))}`;
}

/** A reload crawl as the worker sends it. */
interface EncodedCrawl {
  readonly roots: string;
  /** The anchors' texts one after another; `textLengths[i]` is the length of anchor i's, -1 for none. */
  readonly texts: string;
  readonly textLengths: readonly number[];
  /** Anchors that could not be read: their index and the error code. */
  readonly readErrors: readonly (readonly [number, string])[];
  readonly files: string;
  /** The files whose `lstat` the walk took, and their stamps, in the same order. */
  readonly statPaths: string;
  readonly stamps: string;
  readonly symlinks: readonly string[];
  readonly problems: readonly CrawlProblem[];
  readonly unrecoverableJournals: readonly string[];
  readonly pendingJournal?: string;
}

/** What the reload crawl found: the crawl of the whole of `assets/`, and each regular file's stamp. */
export interface ReloadCrawl {
  readonly crawl: CrawlResult;
  readonly stamps: ReadonlyMap<string, string>;
}

function crawlForReload(assets: ProjectFs): EncodedCrawl {
  const statPaths: string[] = [];
  const stamps: string[] = [];
  const crawl = crawlAssets(assets, '', (path, stats) => {
    statPaths.push(path);
    stamps.push(stampOfStats(stats));
  });
  const readErrors: [number, string][] = [];
  crawl.anchors.forEach((anchor, index) => {
    if (anchor.readError !== undefined) readErrors.push([index, anchor.readError]);
  });
  return {
    roots: crawl.anchors.map((anchor) => anchor.root).join(SEPARATOR),
    texts: crawl.anchors.map((anchor) => anchor.text ?? '').join(''),
    textLengths: crawl.anchors.map((anchor) => (anchor.text === null ? -1 : anchor.text.length)),
    readErrors,
    files: crawl.files.join(SEPARATOR),
    statPaths: statPaths.join(SEPARATOR),
    stamps: stamps.join(SEPARATOR),
    symlinks: crawl.symlinks,
    problems: crawl.problems,
    unrecoverableJournals: crawl.unrecoverableJournals ?? [],
    ...(crawl.pendingJournal !== undefined ? { pendingJournal: crawl.pendingJournal } : {}),
  };
}

/** How many items of a reload crawl are decoded between two turns of the event loop. */
const DECODE_CHUNK = 2_000;

function split(joined: string): string[] {
  return joined === '' ? [] : joined.split(SEPARATOR);
}

/** The crawl the worker encoded, decoded between turns of the event loop (about a millisecond each). */
async function decodeCrawl(encoded: EncodedCrawl): Promise<ReloadCrawl> {
  const pause = (): Promise<void> => yieldToClients();
  const roots = split(encoded.roots);
  const readErrors = new Map(encoded.readErrors);
  const anchors: CrawledAnchor[] = [];
  let offset = 0;
  for (let index = 0; index < roots.length; index++) {
    if (index > 0 && index % DECODE_CHUNK === 0) await pause();
    const length = encoded.textLengths[index]!;
    const text = length < 0 ? null : encoded.texts.slice(offset, offset + length);
    offset += Math.max(length, 0);
    const readError = readErrors.get(index);
    anchors.push(readError !== undefined ? { root: roots[index]!, text, readError } : { root: roots[index]!, text });
  }
  await pause();
  const files = split(encoded.files);
  await pause();
  const statPaths = split(encoded.statPaths);
  const stampList = split(encoded.stamps);
  const stamps = new Map<string, string>();
  for (let index = 0; index < statPaths.length; index++) {
    if (index > 0 && index % (DECODE_CHUNK * 4) === 0) await pause();
    stamps.set(statPaths[index]!, stampList[index]!);
  }
  const crawl: CrawlResult = {
    anchors,
    files,
    symlinks: encoded.symlinks,
    problems: encoded.problems,
    unrecoverableJournals: encoded.unrecoverableJournals,
    ...(encoded.pendingJournal !== undefined ? { pendingJournal: encoded.pendingJournal } : {}),
  };
  crawlStamps.set(crawl, stamps);
  return { crawl, stamps };
}

/** Invariant: the stamps each reload crawl took, by the crawl (crawls are immutable, so these are too). */
const crawlStamps = new WeakMap<CrawlResult, ReadonlyMap<string, string>>();

/** The stamps the reload crawl `crawl` took of its files, or undefined when it was not made by one. */
export function stampsOfCrawl(crawl: CrawlResult): ReadonlyMap<string, string> | undefined {
  return crawlStamps.get(crawl);
}

/**
 * Below this many files (as the previous crawl found), the reload crawl runs here: it takes a few milliseconds,
 * less than starting a worker thread (a recovery right after a restart would wait for one).
 */
const INLINE_CRAWL_FILES = 1_000;

/**
 * Crawls the whole of `assets` as a snapshot's crawl is made (`crawlAssets`), each regular file's stamp taken in
 * the same pass, in a worker thread when possible and `expectedFiles` (the files the previous crawl found) is not
 * small. Rejects when `assets/` cannot be listed.
 */
export async function crawlForReloadInBackground(assets: ProjectFs, expectedFiles: number): Promise<ReloadCrawl> {
  const worker = expectedFiles < INLINE_CRAWL_FILES ? undefined : startWorker(assets, 'reload');
  const encoded = worker === undefined ? crawlForReload(assets) : await answerOf<EncodedCrawl>(worker);
  return decodeCrawl(encoded);
}

if (
  !isMainThread &&
  parentPort !== null &&
  typeof (workerData as { root?: unknown } | null)?.root === 'string' &&
  typeof (workerData as { base?: unknown } | null)?.base === 'string'
) {
  try {
    const { root, base, task, changedSince } = workerData as {
      root: string;
      base: string;
      task?: WorkerTask;
      changedSince?: number;
    };
    const assets = ProjectFs.openRoot(root).at(base);
    parentPort.postMessage({
      ok: true,
      ...(task === 'reload'
        ? crawlForReload(assets)
        : crawlAndFingerprintWith(assets, task === 'verifyWithSaved', changedSince)),
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    parentPort.postMessage({ ok: false, error: (error as Error).message, ...(code !== undefined ? { code } : {}) });
  }
}
