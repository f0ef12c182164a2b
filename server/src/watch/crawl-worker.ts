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

/** Separates paths (and fingerprints) in the worker's answer. */
const SEPARATOR = '\0';

/** What the verification crawl returns: every file with its fingerprint. */
export interface VerifiedDisk {
  readonly fingerprints: Map<string, string>;
  /** With `withSaved`: the fingerprints the previous run saved (see `readSavedFingerprints`), or null. */
  readonly saved?: Map<string, string> | null;
}

/** A verification crawl as the worker sends it: paths and fingerprints joined, and the saved ones when asked. */
interface EncodedDisk {
  readonly paths: string;
  readonly fingerprints: string;
  readonly saved?: { readonly paths: string; readonly fingerprints: string } | null;
}

function crawlAndFingerprintWith(assets: ProjectFs, withSaved: boolean): EncodedDisk {
  const disk = crawlAndFingerprint(assets);
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
function crawlAndFingerprint(assets: ProjectFs): { paths: string; fingerprints: string } {
  const paths: string[] = [];
  const fingerprints: string[] = [];
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
          paths.push(folder.path === '' ? entry.name : `${folder.path}/${entry.name}`);
          fingerprints.push(fingerprintOfStats(stats));
        }
      }
      return subfolders;
    },
    () => undefined,
  );
  return { paths: paths.join(SEPARATOR), fingerprints: fingerprints.join(SEPARATOR) };
}

/** How many fingerprints of a worker's answer are taken into a map between two turns of the event loop. */
const MAP_CHUNK = 5_000;

async function toMap(answer: { paths: string; fingerprints: string }): Promise<Map<string, string>> {
  const map = new Map<string, string>();
  if (answer.paths === '') return map;
  const paths = answer.paths.split(SEPARATOR);
  const fingerprints = answer.fingerprints.split(SEPARATOR);
  for (let index = 0; index < paths.length; index++) {
    if (index > 0 && index % MAP_CHUNK === 0) await new Promise((resolve) => setImmediate(resolve));
    map.set(paths[index]!, fingerprints[index]!);
  }
  return map;
}

/** What a worker is started for. */
type WorkerTask = 'verify' | 'verifyWithSaved' | 'reload';

/** Starts a worker running `task` on `assets`, or returns undefined where none can start (TypeScript sources). */
function startWorker(assets: ProjectFs, task: WorkerTask): Worker | undefined {
  const url = new URL(import.meta.url);
  // Compiled (dist/*.js) or bundled (dist/bundle/main.cjs): never the TypeScript sources tests run from.
  if (!/\.c?js$/.test(url.pathname)) return undefined;
  try {
    // The worker runs its own entry script beside this module (in dist/ and in the bundle alike).
    return new Worker(new URL('./crawl-worker-entry.js', url), {
      workerData: { root: assets.root, base: assets.base, task },
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
 * the event loop; `withSaved` also reads there the fingerprints the previous run saved. Inline when
 * `expectedFiles` (what the snapshot holds) is small, as the reload crawl is. Rejects when `assets/` cannot be
 * listed.
 */
export async function verifyDisk(
  assets: ProjectFs,
  withSaved = false,
  expectedFiles = INLINE_CRAWL_FILES,
): Promise<VerifiedDisk> {
  const worker =
    expectedFiles < INLINE_CRAWL_FILES ? undefined : startWorker(assets, withSaved ? 'verifyWithSaved' : 'verify');
  const disk = worker === undefined ? crawlAndFingerprintWith(assets, withSaved) : await answerOf<EncodedDisk>(worker);
  const fingerprints = await toMap(disk);
  if (disk.saved === undefined) return { fingerprints };
  return { fingerprints, saved: disk.saved === null ? null : await toMap(disk.saved) };
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
  const pause = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
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
    const { root, base, task } = workerData as { root: string; base: string; task?: WorkerTask };
    const assets = ProjectFs.openRoot(root).at(base);
    parentPort.postMessage({
      ok: true,
      ...(task === 'reload' ? crawlForReload(assets) : crawlAndFingerprintWith(assets, task === 'verifyWithSaved')),
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    parentPort.postMessage({ ok: false, error: (error as Error).message, ...(code !== undefined ? { code } : {}) });
  }
}
