/**
 * A worker thread of project loads: reads its share of `assets/` of the project it is sent (see `CrawlShare`),
 * through the confined file system, as `loadSnapshot` does (the crawl, then, for share 0, the quarantine), and
 * posts it back for the main thread to parse, merge and join; the thread that finishes its share first is then
 * asked to read and parse the registry. Two per process, started ahead of
 * the first open (see `load-worker.ts`); kept apart from that file so the thread loads only what it runs.
 */
import { isMainThread, parentPort } from 'node:worker_threads';
import { crawlShare, type CrawlResult, type CrawlShare } from '../domain/crawl.js';
import { parseRegistry, type ParsedRegistry } from '../domain/registry.js';
import type { QuarantineEntry } from '../domain/snapshot.js';
import { ProjectFs } from '../io/project-fs.js';
import { announceWorker } from '../io/worker-announce.js';
import { loadQuarantine, readRegistryText } from './loader.js';

/**
 * A request to the thread: a load of one share (`crawl`: the canonical project root, the folder below it to
 * crawl, `assets`, and which share of it), or the read and parse of that folder's registry (`registry`),
 * which the main thread gives to the thread that finishes its share first.
 */
export type CrawlRequest =
  | {
      readonly kind: 'crawl';
      readonly id: number;
      readonly root: string;
      readonly base: string;
      readonly share: CrawlShare;
    }
  | { readonly kind: 'registry'; readonly id: number; readonly root: string; readonly base: string };

/**
 * What the thread posts back for one request. For a share, in this order: the crawl (or the error that ended
 * it, and nothing more), then, in a `done` reply, for share 0, the quarantine as read after the crawl. For a
 * registry request, the parsed registry (`registry`, in a `done` reply). The declarations are not parsed here:
 * the main thread parses the anchors' texts the crawl carries (see `load-worker.ts`).
 */
export type CrawlReply =
  | { readonly id: number; readonly kind: 'crawl'; readonly crawl: CrawlResult }
  | {
      readonly id: number;
      readonly kind: 'done';
      /** Registry requests only. */
      readonly registry?: ParsedRegistry;
      /** Share 0 only. */
      readonly quarantine?: readonly QuarantineEntry[];
    }
  | { readonly id: number; readonly kind: 'failed'; readonly error: string; readonly code?: string };

/** How long after its start the thread warms up, in ms. */
const WARM_UP_DELAY_MS = 200;

/** Invariant: true once {@link warmUp} ran (or a load did its work). */
let warmedUp = false;

/**
 * Builds what the first load would otherwise build in its window: the registry schema (the protocol builds it
 * at its first use) and the compiled code of its parse, by parsing a small registry once, while the thread is
 * idle after its start.
 */
function warmUp(): void {
  const uuid = '00000000-0000-4000-8000-000000000000';
  parseRegistry(JSON.stringify({ assets: [{ asset_id: 1, asset_uuid: uuid, included_in_build: true, root: 'warm' }] }));
}

function failure(id: number, error: unknown): CrawlReply {
  const code = (error as NodeJS.ErrnoException).code;
  return { id, kind: 'failed', error: (error as Error).message, ...(code !== undefined ? { code } : {}) };
}

if (!isMainThread && parentPort !== null) {
  announceWorker('load', import.meta.url);
  const port = parentPort;
  // A moment after the start, off the server's own start-up; a request that comes first runs first.
  setTimeout(() => warmedUp || warmUp(), WARM_UP_DELAY_MS).unref();
  port.on('message', (request: CrawlRequest) => {
    const { id } = request;
    warmedUp = true;
    if (request.kind === 'registry') {
      let reply: CrawlReply;
      try {
        const registryText = readRegistryText(ProjectFs.openRoot(request.root).at(request.base));
        reply = { id, kind: 'done', registry: parseRegistry(registryText.text, registryText.readError) };
      } catch (error) {
        reply = failure(id, error);
      }
      port.postMessage(reply);
      return;
    }
    let assets: ProjectFs;
    let crawl: CrawlResult;
    try {
      assets = ProjectFs.openRoot(request.root).at(request.base);
      crawl = crawlShare(assets, request.share);
    } catch (error) {
      port.postMessage(failure(id, error));
      return;
    }
    port.postMessage({ id, kind: 'crawl', crawl } satisfies CrawlReply);
    // Right after the crawl, as loadSnapshot reads it; by share 0 alone.
    const quarantine = request.share.index === 0 ? loadQuarantine(assets) : undefined;
    port.postMessage({ id, kind: 'done', ...(quarantine !== undefined ? { quarantine } : {}) } satisfies CrawlReply);
  });
}
