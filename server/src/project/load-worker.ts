/**
 * Loading a project's first snapshot without holding the main thread: the crawl of `assets/` runs in a
 * worker thread (`crawl-thread.ts`, through the same confined file system), and the declarations it found
 * are parsed on the main thread in chunks, yielding to the event loop between them, so requests
 * (`packer/projectStatus` of the loading project, reads of other projects) are answered meanwhile. Falls
 * back to the crawl inline when a worker cannot be started (for example when running from TypeScript
 * sources in tests).
 */
import { Worker } from 'node:worker_threads';
import { crawlAssets, type CrawlResult } from '../domain/crawl.js';
import { parseDeclaration } from '../domain/declaration.js';
import { parseRegistry } from '../domain/registry.js';
import { buildSnapshot, type ParsedAnchor, type Snapshot } from '../domain/snapshot.js';
import { ProjectFs } from '../io/project-fs.js';
import type { CrawlReply, CrawlRequest } from './crawl-thread.js';
import { loadQuarantine, noteCrawlTime, readRegistryText } from './loader.js';

/** How many declarations are parsed between two yields to the event loop. */
const PARSE_CHUNK = 500;

function yieldNow(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * The process's crawl thread: started with the host (see {@link startLoadThread}) and kept for the life of
 * the process (about 20 MiB), so no open waits for a thread to start; unreferenced, so it never keeps the
 * process alive. A load that comes before it runs crawls inline instead.
 */
class CrawlThread {
  /** Invariant: the requests sent and not answered yet, by id. */
  private readonly waiting = new Map<number, { resolve(crawl: CrawlResult): void; reject(error: Error): void }>();
  private nextId = 0;
  /** Invariant: false once the thread failed or exited; a new one is started for the next crawl. */
  alive = true;
  /** Invariant: true once the thread runs and can take a crawl at once. */
  online = false;

  constructor(private readonly worker: Worker) {
    worker.once('online', () => (this.online = true));
    worker.on('message', (reply: CrawlReply) => {
      const waiter = this.waiting.get(reply.id);
      if (waiter === undefined) return;
      this.waiting.delete(reply.id);
      if (reply.ok) waiter.resolve(reply.crawl);
      else waiter.reject(Object.assign(new Error(reply.error), reply.code !== undefined ? { code: reply.code } : {}));
    });
    const fail = (error: Error): void => {
      this.alive = false;
      for (const waiter of this.waiting.values()) waiter.reject(error);
      this.waiting.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`The crawl thread exited with ${code}.`)));
    // After the listeners: adding one refs the thread again.
    worker.unref();
  }

  crawl(root: string, base: string): Promise<CrawlResult> {
    return new Promise((resolve, reject) => {
      const id = ++this.nextId;
      this.waiting.set(id, { resolve, reject });
      const request: CrawlRequest = { id, root, base };
      this.worker.postMessage(request);
    });
  }
}

/** Invariant: the process's crawl thread; null where none can start (TypeScript sources), undefined before the first try. */
let thread: CrawlThread | null | undefined;

/**
 * Starts the process's crawl thread if it is not running (the host does it when it is created, so the first
 * open finds it ready); returns it, or null where no thread can start.
 */
export function startLoadThread(): CrawlThread | null {
  if (thread !== undefined && (thread === null || thread.alive)) return thread;
  // Compiled JavaScript only (dist/*.js, or the bundle's main.cjs): from TypeScript sources no thread can start.
  if (!/\.c?js$/.test(new URL(import.meta.url).pathname)) return (thread = null);
  try {
    thread = new CrawlThread(new Worker(new URL('./crawl-thread.js', import.meta.url), { execArgv: [] }));
  } catch {
    thread = null;
  }
  return thread;
}

/** Crawls `assets/` of the project whose confined root is `files`, on the crawl thread when there is one. */
async function crawlInBackground(files: ProjectFs): Promise<CrawlResult> {
  const assets = files.at('assets');
  const running = startLoadThread();
  // A load that comes before the thread runs (a server's first open right at its start, as the CLI does)
  // crawls here rather than wait for a thread to start, which costs more than a small crawl.
  return running === null || !running.online ? crawlAssets(assets) : running.crawl(assets.root, assets.base);
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
