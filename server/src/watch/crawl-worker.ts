/**
 * The verification crawl off the main thread: lists every file of `assets/` and fingerprints it in a
 * worker, so that a 100k-root workspace does not stall reads for seconds. The answer travels as two flat
 * strings (paths, fingerprints) rather than 300k small objects, to keep the copy between threads and the
 * memory it takes small; they are joined with NUL, the one character no file name can hold (a newline can).
 * The worker reads through the same confined file system as the main thread. Falls back to the same work
 * inline when a worker cannot be started (for example when running from TypeScript sources in tests).
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { crawlAssets } from '../domain/crawl.js';
import { ProjectFs } from '../io/project-fs.js';
import { fingerprintOfStats } from './fingerprint.js';

/** Separates paths (and fingerprints) in the worker's answer. */
const SEPARATOR = '\0';

/** What the verification crawl returns: every file (sorted) with its fingerprint. */
export interface VerifiedDisk {
  readonly fingerprints: Map<string, string>;
}

/**
 * Crawls and fingerprints in one pass (each file's `lstat` taken while the walk holds its folder open, so
 * no folder is resolved twice), as two NUL-joined strings in the same (sorted) order.
 */
function crawlAndFingerprint(assets: ProjectFs): { paths: string; fingerprints: string } {
  const seen = new Map<string, string>();
  const files = crawlAssets(assets, '', (path, stats) => seen.set(path, fingerprintOfStats(stats))).files;
  const paths: string[] = [];
  const fingerprints: string[] = [];
  for (const file of files) {
    const fingerprint = seen.get(file);
    if (fingerprint === undefined) continue;
    paths.push(file);
    fingerprints.push(fingerprint);
  }
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
