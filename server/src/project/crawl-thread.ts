/**
 * A worker thread of project loads: reads its share of `assets/` of the project it is sent (see `CrawlShare`),
 * through the confined file system, as `loadSnapshot` does (the crawl, then, for share 0, the registry and the
 * quarantine), parses every declaration and the registry, and posts it all back for the main thread to merge
 * and join. Two per process, started ahead of the first open and kept (see `load-worker.ts`); kept apart from
 * that file so the thread loads only what it runs.
 */
import { isMainThread, parentPort } from 'node:worker_threads';
import { crawlShare, type CrawlResult, type CrawlShare } from '../domain/crawl.js';
import { parseDeclaration, type ParsedDeclaration } from '../domain/declaration.js';
import { parseRegistry, type ParsedRegistry } from '../domain/registry.js';
import type { QuarantineEntry } from '../domain/snapshot.js';
import { ProjectFs } from '../io/project-fs.js';
import { announceWorker } from '../io/worker-announce.js';
import { loadQuarantine, readRegistryText } from './loader.js';

/** A load to run: the canonical project root, the folder below it to crawl (`assets`), and which share of it. */
export interface CrawlRequest {
  readonly id: number;
  readonly root: string;
  readonly base: string;
  readonly share: CrawlShare;
}

/**
 * How many parsed declarations go in one message. The crawl is posted first and the parses follow in chunks,
 * so the main thread deserialises each message while this thread parses the next one, and never holds its
 * event loop for the whole project's worth of objects at once.
 */
export const PARSED_CHUNK = 1000;

/**
 * What the thread posts back for one request, in this order: the crawl (or the error that ended it, and
 * nothing more), then the parsed declarations of `crawl.anchors` in order, in chunks (`from` is the index of
 * the first one of the chunk), then the registry and the quarantine as read after the crawl.
 */
export type CrawlReply =
  | { readonly id: number; readonly kind: 'crawl'; readonly crawl: CrawlResult }
  | {
      readonly id: number;
      readonly kind: 'parsed';
      readonly from: number;
      readonly parsed: readonly ParsedDeclaration[];
    }
  | {
      readonly id: number;
      readonly kind: 'done';
      /** Share 0 only. */
      readonly registry?: ParsedRegistry;
      /** Share 0 only. */
      readonly quarantine?: readonly QuarantineEntry[];
    }
  | { readonly id: number; readonly kind: 'failed'; readonly error: string; readonly code?: string };

if (!isMainThread && parentPort !== null) {
  announceWorker('load', import.meta.url);
  const port = parentPort;
  port.on('message', (request: CrawlRequest) => {
    const { id } = request;
    let assets: ProjectFs;
    let crawl: CrawlResult;
    try {
      assets = ProjectFs.openRoot(request.root).at(request.base);
      crawl = crawlShare(assets, request.share);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const reply: CrawlReply = {
        id,
        kind: 'failed',
        error: (error as Error).message,
        ...(code !== undefined ? { code } : {}),
      };
      port.postMessage(reply);
      return;
    }
    port.postMessage({ id, kind: 'crawl', crawl } satisfies CrawlReply);
    // Read before the parses, right after the crawl, as loadSnapshot reads them; by share 0 alone.
    const control = request.share.index === 0;
    const registryText = control ? readRegistryText(assets) : undefined;
    const quarantine = control ? loadQuarantine(assets) : undefined;
    const { anchors } = crawl;
    for (let from = 0; from < anchors.length; from += PARSED_CHUNK) {
      const parsed: ParsedDeclaration[] = [];
      for (const anchor of anchors.slice(from, from + PARSED_CHUNK))
        parsed.push(parseDeclaration(anchor.root, anchor.text, anchor.readError));
      port.postMessage({ id, kind: 'parsed', from, parsed } satisfies CrawlReply);
    }
    const reply: CrawlReply =
      registryText !== undefined && quarantine !== undefined
        ? { id, kind: 'done', registry: parseRegistry(registryText.text, registryText.readError), quarantine }
        : { id, kind: 'done' };
    port.postMessage(reply);
  });
}
