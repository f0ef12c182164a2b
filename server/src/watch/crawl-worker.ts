/**
 * The verification crawl off the main thread: lists every file of `assets/` and fingerprints it in a
 * worker, so that a 100k-root workspace does not stall reads for seconds. The answer travels as two flat
 * strings (paths, fingerprints) rather than 300k small objects, to keep the copy between threads and the
 * memory it takes small; they are joined with NUL, the one character no file name can hold (a newline can).
 * The worker reads through the same confined file system as the main thread. Falls back to the same work
 * inline when a worker cannot be started (for example when running from TypeScript sources in tests).
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { CONTROL_FOLDER } from '../domain/paths.js';
import { ProjectFs, type EntryStats } from '../io/project-fs.js';
import { fingerprintOfStats } from './fingerprint.js';

/** Separates paths (and fingerprints) in the worker's answer. */
const SEPARATOR = '\0';

/** What the verification crawl returns: every file with its fingerprint. */
export interface VerifiedDisk {
  readonly fingerprints: Map<string, string>;
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

function toMap(answer: { paths: string; fingerprints: string }): Map<string, string> {
  const map = new Map<string, string>();
  if (answer.paths === '') return map;
  const paths = answer.paths.split(SEPARATOR);
  const fingerprints = answer.fingerprints.split(SEPARATOR);
  for (let index = 0; index < paths.length; index++) map.set(paths[index]!, fingerprints[index]!);
  return map;
}

/** Crawls and fingerprints `assets`, in a worker thread when possible. Rejects when `assets/` cannot be listed. */
export async function verifyDisk(assets: ProjectFs): Promise<VerifiedDisk> {
  const url = new URL(import.meta.url);
  let worker: Worker | undefined;
  // Compiled (dist/*.js) or bundled (dist/bundle/main.cjs): never the TypeScript sources tests run from.
  if (/\.c?js$/.test(url.pathname)) {
    try {
      // The worker runs its own entry script beside this module (in dist/ and in the bundle alike).
      worker = new Worker(new URL('./crawl-worker-entry.js', url), {
        workerData: { root: assets.root, base: assets.base },
        execArgv: [],
      });
    } catch {
      worker = undefined;
    }
  }
  if (worker === undefined) return { fingerprints: toMap(crawlAndFingerprint(assets)) };
  const started = worker;
  return new Promise<VerifiedDisk>((resolve, reject) => {
    started.once(
      'message',
      (message: { ok: true; paths: string; fingerprints: string } | { ok: false; error: string }) => {
        void started.terminate();
        if (message.ok) resolve({ fingerprints: toMap(message) });
        else reject(new Error(message.error));
      },
    );
    started.once('error', (error) => reject(error));
  });
}

if (
  !isMainThread &&
  parentPort !== null &&
  typeof (workerData as { root?: unknown } | null)?.root === 'string' &&
  typeof (workerData as { base?: unknown } | null)?.base === 'string'
) {
  try {
    const { root, base } = workerData as { root: string; base: string };
    parentPort.postMessage({ ok: true, ...crawlAndFingerprint(ProjectFs.openRoot(root).at(base)) });
  } catch (error) {
    parentPort.postMessage({ ok: false, error: (error as Error).message });
  }
}
