/**
 * The worker thread of project loads: crawls `assets/` of the project it is sent, through the confined file
 * system, and posts each crawl back. One per process, started ahead of the first open and kept (see
 * `load-worker.ts`); kept apart from that file so the thread loads only the crawl and the file system.
 */
import { isMainThread, parentPort } from 'node:worker_threads';
import { crawlAssets, type CrawlResult } from '../domain/crawl.js';
import { ProjectFs } from '../io/project-fs.js';
import { announceWorker } from '../io/worker-announce.js';

/** A crawl to run: the canonical project root and the folder below it to crawl (`assets`). */
export interface CrawlRequest {
  readonly id: number;
  readonly root: string;
  readonly base: string;
}

/** What the thread posts back for one request. */
export type CrawlReply =
  | { readonly id: number; readonly ok: true; readonly crawl: CrawlResult }
  | { readonly id: number; readonly ok: false; readonly error: string; readonly code?: string };

if (!isMainThread && parentPort !== null) {
  announceWorker('load', import.meta.url);
  const port = parentPort;
  port.on('message', (request: CrawlRequest) => {
    let reply: CrawlReply;
    try {
      reply = { id: request.id, ok: true, crawl: crawlAssets(ProjectFs.openRoot(request.root).at(request.base)) };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      reply = { id: request.id, ok: false, error: (error as Error).message, ...(code !== undefined ? { code } : {}) };
    }
    port.postMessage(reply);
  });
}
