/**
 * A worker thread of project loads: reads its share of `assets/` of the project it is sent (see `CrawlShare`),
 * through the confined file system, as `loadSnapshot` does (the crawl, then, for share 0, the quarantine),
 * parses every declaration, and posts it all back for the main thread to merge and join; the thread that
 * finishes its share first is then asked to read and parse the registry. Two per process, started ahead of
 * the first open (see `load-worker.ts`); kept apart from that file so the thread loads only what it runs.
 */
import { isMainThread, parentPort } from 'node:worker_threads';
import { crawlShare, type CrawlResult, type CrawlShare } from '../domain/crawl.js';
import type { AssetDeclarationFile } from '@prometeu/packer-protocol';
import {
  internDeclarationWords,
  parseDeclaration,
  type DeclaredInput,
  type ParsedDeclaration,
} from '../domain/declaration.js';
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
 * How many parsed declarations go in one message. The crawl is posted first and the parses follow in chunks,
 * so the main thread deserialises each message while this thread parses the next one, and never holds its
 * event loop for the whole project's worth of objects at once.
 */
export const PARSED_CHUNK = 1000;

/**
 * A parsed declaration as posted: a valid one without its identity fields, which are its declaration's own
 * (a structured clone copies every string it meets, so posting them would give the main thread a second copy
 * of each name, type and asset_uuid); see {@link receivedDeclaration}.
 */
export type PostedDeclaration =
  | ParsedDeclaration
  | (Omit<ParsedDeclaration, 'assetUuid' | 'name' | 'type' | 'declaration'> & {
      readonly declaration: NonNullable<ParsedDeclaration['declaration']>;
    });

/**
 * Points each of `inputs` (fresh from a structured clone, in `parseDeclaration`'s order: roles sorted, then
 * each role's paths in order) at its declaration's role and path strings, in place; an input that does not
 * match its place is left as it is.
 */
function shareInputStrings(declaration: AssetDeclarationFile, inputs: readonly DeclaredInput[]): void {
  let index = 0;
  for (const role of Object.keys(declaration.inputs).sort()) {
    for (const path of declaration.inputs[role]!) {
      const input = inputs[index++] as { role: string; path: string } | undefined;
      if (input === undefined) return;
      if (input.role === role && input.path === path) {
        input.role = role;
        input.path = path;
      }
    }
  }
}

/** `parsed` as posted (see {@link PostedDeclaration}). */
function postedDeclaration(parsed: ParsedDeclaration): PostedDeclaration {
  if (parsed.declaration === null) return parsed;
  return { declaration: parsed.declaration, inputs: parsed.inputs, diagnostics: parsed.diagnostics };
}

/**
 * The parsed declaration a {@link PostedDeclaration} stands for, its identity fields its declaration's strings.
 * A structured clone copies every string it meets, so the strings the parse shares with its declaration in
 * the thread are shared again here: each input's role is the declaration's key (an interned string) and its
 * path the declaration's own, and the type, format and codec are interned (see `internWord`).
 */
export function receivedDeclaration(posted: PostedDeclaration): ParsedDeclaration {
  if ('assetUuid' in posted) return posted;
  const { declaration } = posted;
  internDeclarationWords(declaration);
  shareInputStrings(declaration, posted.inputs);
  // The fields in parseDeclaration's order, so every parse has one hidden class.
  return {
    declaration,
    assetUuid: declaration.asset_uuid,
    name: declaration.name,
    type: declaration.type,
    inputs: posted.inputs,
    diagnostics: posted.diagnostics,
  };
}

/**
 * What the thread posts back for one request. For a share, in this order: the crawl (or the error that ended
 * it, and nothing more), then the parsed declarations of `crawl.anchors` in order, in chunks (`from` is the
 * index of the first one of the chunk), then, for share 0, the quarantine as read after the crawl. For a
 * registry request, the parsed registry (`registry`, in a `done` reply).
 */
export type CrawlReply =
  | { readonly id: number; readonly kind: 'crawl'; readonly crawl: CrawlResult }
  | {
      readonly id: number;
      readonly kind: 'parsed';
      readonly from: number;
      readonly parsed: readonly PostedDeclaration[];
    }
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
 * Builds what the first load would otherwise build in its window: the declaration and registry schemas
 * (the protocol builds each at its first use) and the compiled code of both parses, by parsing a small
 * declaration and registry once, while the thread is idle after its start.
 */
function warmUp(): void {
  const uuid = '00000000-0000-4000-8000-000000000000';
  const text = JSON.stringify({
    schema_version: 1,
    asset_uuid: uuid,
    name: 'warm',
    type: 'blob',
    inputs: { data: ['a.bin'] },
    output: { format: 'BLOB/raw_v1', codec: 'NONE' },
  });
  parseDeclaration('warm', text);
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
    // Read before the parses, right after the crawl, as loadSnapshot reads it; by share 0 alone.
    const quarantine = request.share.index === 0 ? loadQuarantine(assets) : undefined;
    const { anchors } = crawl;
    for (let from = 0; from < anchors.length; from += PARSED_CHUNK) {
      const parsed: PostedDeclaration[] = [];
      for (const anchor of anchors.slice(from, from + PARSED_CHUNK))
        parsed.push(postedDeclaration(parseDeclaration(anchor.root, anchor.text, anchor.readError)));
      port.postMessage({ id, kind: 'parsed', from, parsed } satisfies CrawlReply);
    }
    port.postMessage({ id, kind: 'done', ...(quarantine !== undefined ? { quarantine } : {}) } satisfies CrawlReply);
  });
}
