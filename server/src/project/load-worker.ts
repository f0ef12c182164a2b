/**
 * Loading a project's first snapshot without holding the main thread: the crawl of `assets/` runs in a
 * worker thread (through the same confined file system), and the declarations it found are parsed on the
 * main thread in chunks, yielding to the event loop between them, so requests (`packer/projectStatus` of the
 * loading project, reads of other projects) are answered meanwhile. Falls back to the crawl inline when a
 * worker cannot be started (for example when running from TypeScript sources in tests).
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { crawlAssets, type CrawlResult } from '../domain/crawl.js';
import { parseDeclaration } from '../domain/declaration.js';
import { parseRegistry } from '../domain/registry.js';
import { buildSnapshot, type ParsedAnchor, type Snapshot } from '../domain/snapshot.js';
import { ProjectFs } from '../io/project-fs.js';
import { loadQuarantine, noteCrawlTime, readRegistryText } from './loader.js';

const WORKER_TAG = 'prometeu-packer-load';

/** How many declarations are parsed between two yields to the event loop. */
const PARSE_CHUNK = 500;

type CrawlReply =
  | { readonly ok: true; readonly crawl: CrawlResult }
  | { readonly ok: false; readonly error: string; readonly code?: string };

function yieldNow(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Crawls `assets/` of the project at `root`, in a worker thread when one can start. */
async function crawlInBackground(files: ProjectFs): Promise<CrawlResult> {
  const assets = files.at('assets');
  const url = new URL(import.meta.url);
  let worker: Worker | undefined;
  if (url.pathname.endsWith('.js')) {
    try {
      worker = new Worker(url, { workerData: { tag: WORKER_TAG, root: assets.root, base: assets.base }, execArgv: [] });
    } catch {
      worker = undefined;
    }
  }
  if (worker === undefined) return crawlAssets(assets);
  const started = worker;
  return new Promise<CrawlResult>((resolve, reject) => {
    started.once('message', (reply: CrawlReply) => {
      void started.terminate();
      if (reply.ok) resolve(reply.crawl);
      else reject(Object.assign(new Error(reply.error), reply.code !== undefined ? { code: reply.code } : {}));
    });
    started.once('error', (error) => reject(error));
  });
}

/**
 * Loads the snapshot of revision `revision` of the project whose confined root is `files`, keeping the main
 * thread responsive: what `loadSnapshot` builds, the crawl off the main thread and the parse in chunks.
 * Throws only when `assets/` itself cannot be listed.
 */
export async function loadSnapshotInBackground(files: ProjectFs, revision: number): Promise<Snapshot> {
  const assets = files.at('assets');
  // Taken before the crawl: whatever it lists was last changed before this instant, or is distrusted.
  const at = Date.now();
  const crawl = await crawlInBackground(files);
  noteCrawlTime(crawl, at);
  const parsedAnchors = new Map<string, ParsedAnchor>();
  for (let start = 0; start < crawl.anchors.length; start += PARSE_CHUNK) {
    await yieldNow();
    for (const anchor of crawl.anchors.slice(start, start + PARSE_CHUNK))
      parsedAnchors.set(anchor.root, {
        text: anchor.text,
        parsed: parseDeclaration(anchor.root, anchor.text, anchor.readError),
      });
  }
  await yieldNow();
  const registry = readRegistryText(assets);
  return buildSnapshot(revision, crawl, parseRegistry(registry.text, registry.readError), {
    quarantine: loadQuarantine(assets),
    parsedAnchors,
  });
}

if (!isMainThread && parentPort !== null && (workerData as { tag?: unknown } | null)?.tag === WORKER_TAG) {
  const { root, base } = workerData as { root: string; base: string };
  let reply: CrawlReply;
  try {
    reply = { ok: true, crawl: crawlAssets(ProjectFs.openRoot(root).at(base)) };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    reply = { ok: false, error: (error as Error).message, ...(code !== undefined ? { code } : {}) };
  }
  parentPort.postMessage(reply);
}
