/**
 * Loading a project's first snapshot without holding the main thread: the reads of `assets/` (the crawl, the
 * registry, the quarantine) and the parse of the registry run in two worker threads (`crawl-thread.ts`, through
 * the same confined file system), each on its share of the tree; the main thread parses the declarations of a
 * share's crawl in chunks as soon as it arrives (while the other share is still crawled), yielding between
 * chunks, so requests (`packer/projectStatus` of the loading project, reads of other projects) are answered
 * meanwhile; then it merges the shares and joins (`buildSnapshot`). A declaration parsed here costs less than
 * its parse's object graph copied from a thread by structured clone (serialised there, deserialised here). Falls back to the reads inline, and the parse in chunks on the main
 * thread, when a worker cannot be started (for example when running from TypeScript sources in tests).
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { crawlAssets, mergeCrawls, type CrawledAnchor, type CrawlResult, type CrawlShare } from '../domain/crawl.js';
import { parseDeclaration } from '../domain/declaration.js';
import { adoptParsedRegistry, parseRegistry, type ParsedRegistry } from '../domain/registry.js';
import type { FormatResults } from '../domain/format-results.js';
import { buildSnapshot, type ParsedAnchor, type QuarantineEntry, type Snapshot } from '../domain/snapshot.js';
import { ProjectFs } from '../io/project-fs.js';
import { afterAnswer } from './after-answer.js';
import type { CrawlReply, CrawlRequest } from './crawl-thread.js';
import { loadQuarantine, noteCrawlTime, readRegistryText } from './loader.js';
import { yieldToClients } from '../io/turns.js';

/** What a load reads and parses before the join: the crawl, its anchors parsed by root, the registry, the quarantine. */
interface CrawledAndParsed {
  readonly crawl: CrawlResult;
  readonly parsedAnchors: ReadonlyMap<string, ParsedAnchor>;
  readonly registry: ParsedRegistry;
  readonly quarantine: readonly QuarantineEntry[];
}

/** What one thread sends for its share of a load; only share 0 reads the quarantine. */
interface SharePart {
  readonly crawl: CrawlResult;
  readonly parsedAnchors: Map<string, ParsedAnchor>;
  readonly quarantine?: readonly QuarantineEntry[];
}

/** A share the thread is answering (its crawl, then `done`), or a registry to parse. */
interface Waiter {
  resolve(result: SharePart): void;
  reject(error: Error): void;
  /** Set for a registry request: it is answered by one `done` reply carrying the registry. */
  readonly registry?: (registry: ParsedRegistry) => void;
  /** Set for a share: called when the thread is done with it (it can take the registry then). */
  readonly free?: () => void;
  /** Invariant: set by the thread's `crawl` reply, before its `done` one. */
  crawl?: CrawlResult;
  /** Invariant: set with `crawl`: the parse of its anchors here, by root in the crawl's order. */
  parsed?: Promise<Map<string, ParsedAnchor>>;
}

/** How many declarations are parsed between two yields to the event loop (about 2 ms at 4 µs each). */
const PARSE_CHUNK = 500;

/**
 * Parses the declarations of `anchors` on this thread, in chunks of {@link PARSE_CHUNK} with a yield to the
 * clients before each, into a map by root in their order.
 */
async function parseAnchors(anchors: readonly CrawledAnchor[]): Promise<Map<string, ParsedAnchor>> {
  const parsedAnchors = new Map<string, ParsedAnchor>();
  for (let start = 0; start < anchors.length; start += PARSE_CHUNK) {
    await yieldToClients();
    const end = Math.min(anchors.length, start + PARSE_CHUNK);
    for (let index = start; index < end; index++) {
      const anchor = anchors[index]!;
      parsedAnchors.set(anchor.root, {
        text: anchor.text,
        parsed: parseDeclaration(anchor.root, anchor.text, anchor.readError),
      });
    }
  }
  return parsedAnchors;
}

/**
 * How many crawl threads a process keeps: two where there are two cores. A load of a warm tree is system calls
 * that run on the calling thread, so two threads crawl two halves of the tree at once (the single-threaded
 * floor cannot), while the main thread takes in what they post.
 */
const LOAD_THREADS = Math.min(2, availableParallelism());

/**
 * One crawl thread of the process: started with the host (see {@link startLoadThread}), so no open waits for a
 * thread to start, and replaced by a fresh one after each load (about 13 MiB each when fresh); unreferenced, so
 * it never keeps the process alive.
 */
class CrawlThread {
  /** Invariant: the requests sent and not answered yet, by id. */
  private readonly waiting = new Map<number, Waiter>();
  private nextId = 0;
  /** Invariant: false once the thread failed or exited; a new one is started for the next load. */
  alive = true;
  /** Invariant: true once the thread runs and can take a share at once. */
  online = false;

  constructor(private readonly worker: Worker) {
    worker.once('online', () => (this.online = true));
    worker.on('message', (reply: CrawlReply) => {
      const waiter = this.waiting.get(reply.id);
      if (waiter === undefined) return;
      if (reply.kind === 'crawl') {
        waiter.crawl = reply.crawl;
        // Parsed here while the other share is still crawled; a failure after it rejects the share first.
        waiter.parsed = parseAnchors(reply.crawl.anchors);
        return;
      }
      if (reply.kind === 'done' && waiter.registry !== undefined) {
        this.waiting.delete(reply.id);
        if (reply.registry !== undefined) waiter.registry(reply.registry);
        else waiter.reject(new Error('The crawl thread answered a registry request without the registry.'));
        return;
      }
      if (reply.kind === 'failed' || waiter.crawl === undefined || waiter.parsed === undefined) {
        this.waiting.delete(reply.id);
        const message = reply.kind === 'failed' ? reply.error : 'The crawl thread ended a share without its crawl.';
        const code = reply.kind === 'failed' ? reply.code : undefined;
        waiter.reject(Object.assign(new Error(message), code !== undefined ? { code } : {}));
        return;
      }
      this.waiting.delete(reply.id);
      waiter.free?.();
      const { crawl } = waiter;
      const quarantine = reply.kind === 'done' ? reply.quarantine : undefined;
      waiter.parsed.then(
        (parsedAnchors) =>
          waiter.resolve({ crawl, parsedAnchors, ...(quarantine !== undefined ? { quarantine } : {}) }),
        (error: unknown) => waiter.reject(error instanceof Error ? error : new Error(String(error))),
      );
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

  /** Ends the thread (when another of the process's threads failed and all are started again). */
  end(): void {
    void this.worker.terminate();
  }

  /**
   * Crawls the share `share` of `base` below the canonical project root `root` on the thread (share 0 also
   * reads the quarantine there), and parses every declaration found here as soon as the crawl arrives.
   */
  crawl(
    root: string,
    base: string,
    share: CrawlShare,
  ): { readonly part: Promise<SharePart>; readonly free: Promise<void> } {
    let free!: () => void;
    const freed = new Promise<void>((resolve) => (free = resolve));
    const part = new Promise<SharePart>((resolve, reject) => {
      const id = ++this.nextId;
      this.waiting.set(id, { resolve, reject, free });
      const request: CrawlRequest = { kind: 'crawl', id, root, base, share };
      this.worker.postMessage(request);
    });
    return { part, free: freed };
  }

  /** Reads and parses the registry of `base` below the canonical project root `root`, on the thread. */
  registry(root: string, base: string): Promise<ParsedRegistry> {
    return new Promise((resolve, reject) => {
      const id = ++this.nextId;
      this.waiting.set(id, { resolve: () => undefined, reject, registry: resolve });
      const request: CrawlRequest = { kind: 'registry', id, root, base };
      this.worker.postMessage(request);
    });
  }
}

/** The process's crawl threads, which share each load between them. */
class CrawlThreads {
  /** Invariant: how many loads run on these threads now. */
  private running = 0;

  constructor(private readonly threads: readonly CrawlThread[]) {}

  /** Whether a load can start on the threads at once: every one of them runs. */
  get online(): boolean {
    return this.threads.every((thread) => thread.online);
  }

  /** Whether every thread is still usable (none failed or exited). */
  get alive(): boolean {
    return this.threads.every((thread) => thread.alive);
  }

  /** Ends every thread. */
  end(): void {
    for (const thread of this.threads) thread.end();
  }

  /** Replaces these threads by fresh ones when no load runs on them and they are still the process's. */
  private renewWhenIdle(): void {
    if (this.running > 0 || threads !== this) return;
    this.end();
    threads = undefined;
    startLoadThread();
  }

  /**
   * Loads `base` below the canonical project root `root`: each thread crawls and parses its share at the
   * same time, and the shares are merged into what one crawl of the whole would give.
   */
  async load(root: string, base: string): Promise<CrawledAndParsed> {
    const of = this.threads.length;
    this.running++;
    let parts: SharePart[];
    let registry: ParsedRegistry;
    try {
      const shares = this.threads.map((thread, index) => thread.crawl(root, base, { index, of }));
      // The registry goes to whichever thread is free first (its share crawled; its declarations are parsed
      // here), so neither share waits for it behind its own. A thread that fails is never free: its share rejects.
      const parsedRegistry = Promise.race(shares.map((share, index) => share.free.then(() => index))).then((first) =>
        this.threads[first]!.registry(root, base),
      );
      [parts, registry] = await Promise.all([Promise.all(shares.map((share) => share.part)), parsedRegistry]);
    } finally {
      this.running--;
      // A thread's heap keeps what it crawled and parsed until it next allocates (tens of MiB at 10k): once no
      // load runs, fresh threads replace these, after the open's answer (as the validation round).
      afterAnswer(() => this.renewWhenIdle());
    }
    const first = parts[0]!;
    const parsedAnchors = first.parsedAnchors;
    for (const part of parts.slice(1)) for (const [key, value] of part.parsedAnchors) parsedAnchors.set(key, value);
    return {
      crawl: mergeCrawls(parts.map((part) => part.crawl)),
      parsedAnchors,
      // Parsed over there: its side tables (the layout diagnostic) are recorded again here.
      registry: adoptParsedRegistry(registry),
      quarantine: first.quarantine ?? [],
    };
  }
}

/** Invariant: the process's crawl threads; null where none can start (TypeScript sources), undefined before the first try. */
let threads: CrawlThreads | null | undefined;

/**
 * Starts the process's crawl threads if they are not running (the host does it when it is created, so the
 * first open finds them ready); returns them, or null where no thread can start.
 */
export function startLoadThread(): CrawlThreads | null {
  if (threads !== undefined && (threads === null || threads.alive)) return threads;
  // Compiled JavaScript only (dist/*.js, or the bundle's main.cjs): from TypeScript sources no thread can start.
  if (!/\.c?js$/.test(new URL(import.meta.url).pathname)) return (threads = null);
  threads?.end();
  try {
    threads = new CrawlThreads(
      Array.from(
        { length: LOAD_THREADS },
        () => new CrawlThread(new Worker(new URL('./crawl-thread.js', import.meta.url), { execArgv: [] })),
      ),
    );
  } catch {
    threads = null;
  }
  return threads;
}

/**
 * Reads `assets/` of the project whose confined root is `files` and parses what it read: on the crawl threads
 * when they run, else the reads here and the parse here in chunks, yielding between them (an open right after
 * the threads were started or replaced, as after another load, takes this way).
 */
async function crawlInBackground(files: ProjectFs): Promise<CrawledAndParsed> {
  const assets = files.at('assets');
  const running = startLoadThread();
  // A load that comes before the threads run (a server's first open right at its start, as the CLI does)
  // crawls here rather than wait for them to start, which costs more than a small crawl.
  if (running !== null && running.online) return running.load(assets.root, assets.base);
  const crawl = crawlAssets(assets);
  const registryText = readRegistryText(assets);
  const quarantine = loadQuarantine(assets);
  const parsedAnchors = await parseAnchors(crawl.anchors);
  await yieldToClients();
  return { crawl, parsedAnchors, registry: parseRegistry(registryText.text, registryText.readError), quarantine };
}

/**
 * Loads the snapshot of revision `revision` of the project whose confined root is `files`, keeping the main
 * thread responsive: what `loadSnapshot` builds (the same snapshot, the same diagnostics), the crawl and the
 * parse off the main thread. `after` is the snapshot a reload follows and the format results it carries on
 * (as `loadSnapshot`'s `previous` and `formatResults`). Throws only when `assets/` itself cannot be listed.
 */
export async function loadSnapshotInBackground(
  files: ProjectFs,
  revision: number,
  after?: { readonly previous: Snapshot; readonly formatResults: FormatResults },
): Promise<Snapshot> {
  // Taken before the crawl: whatever it lists was last changed before this instant, or is distrusted.
  const at = Date.now();
  const { crawl, parsedAnchors, registry, quarantine } = await crawlInBackground(files);
  noteCrawlTime(crawl, at);
  await yieldToClients();
  let anchors = parsedAnchors;
  if (after !== undefined) {
    // A declaration whose text is unchanged keeps the very parse it had: format results and the records
    // built on it are matched by that identity, so a reload keeps them (as loadSnapshot's reuse does).
    const kept = new Map<string, ParsedAnchor>();
    for (const [root, parsed] of parsedAnchors) {
      const before = after.previous.parsedAnchors.get(root);
      kept.set(root, before !== undefined && before.text !== null && before.text === parsed.text ? before : parsed);
    }
    anchors = kept;
    await yieldToClients();
  }
  return buildSnapshot(revision, crawl, registry, { quarantine, parsedAnchors: anchors, ...after });
}
