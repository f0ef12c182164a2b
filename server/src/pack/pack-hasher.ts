/**
 * SHA-256 for the pack on the second core: a worker thread hashes bytes held in shared memory (inputs read
 * into it, and the pieces of `assets.pa`), so the main thread reads, checks and writes while the worker
 * hashes. The worker lives across packs and ends after 10 s with nothing to do, giving back its heap. Falls back to hashing inline where no worker can start (running from TypeScript
 * sources in tests) or once it failed: the same hashes, only on one core.
 */
import { createHash } from 'node:crypto';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { CrawlResult } from '../domain/crawl.js';
import type { AssetRecord } from '../domain/snapshot.js';
import {
  packStructure,
  plannedAssets,
  type PackPlan,
  type PackStructure,
  type PlannedAsset,
} from './pack-structure.js';

const WORKER_TAG = 'prometeu-packer-pack-hasher';
/** Inputs smaller than this are hashed inline: posting them costs about what hashing them does. */
const SHARED_MIN_BYTES = 16 * 1024;
/** A batch of inputs is posted once it holds this many bytes (or at {@link PackHasher.flush}). */
const BATCH_BYTES = 4 * 1024 * 1024;
/**
 * Shared memory is handed out in views of chunks of this size: one `SharedArrayBuffer` per input cost about
 * 50 µs each (zeroed and mapped one by one, then unmapped by the garbage collector), a chunk about as much for
 * 80 inputs of 100 KiB. An input larger than a quarter of a chunk gets memory of its own.
 */
const CHUNK_BYTES = 8 * 1024 * 1024;
/** Bytes outside shared memory that a hash of pieces may copy to the worker (headers and padding). */
const COPIED_MAX_BYTES = 1024 * 1024;

interface HashRequest {
  readonly id: number;
  readonly kind?: undefined;
  /** Each entry is hashed on its own; an entry is the pieces of one byte string, in order. */
  readonly items: readonly (readonly Uint8Array[])[];
}

/**
 * The steps of one structural re-validation (see pack-structure.ts), each answered before the next is sent:
 * the crawl goes over in parts and the build set comes back in parts, so that no single structured clone
 * (done on the main thread, synchronously) takes long.
 */
type StructureRequest = { readonly id: number; readonly job: number } & (
  | { readonly kind: 'crawl-part'; readonly anchors: CrawlResult['anchors']; readonly files: readonly string[] }
  | {
      readonly kind: 'structure';
      /** What comes back in parts: the rebuilt records, or only their {@link PlannedAsset}s. */
      readonly shape: 'records' | 'plan';
      readonly revision: number;
      readonly rest: Omit<CrawlResult, 'anchors' | 'files'>;
      readonly registryText: string | null;
    }
  | { readonly kind: 'take'; readonly count: number }
);

/** A structure request before {@link call} numbers it. */
type StructureStep = StructureRequest extends infer T ? (T extends unknown ? Omit<T, 'id'> : never) : never;

type HashReply =
  | { readonly id: number; readonly ok: true; readonly hashes: string[] }
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly id: number; readonly ok: false; readonly error: string };

/** Anchors (and, separately, crawled file paths) per part of a crawl sent to the worker. */
const CRAWL_PART = 1000;
/** Records per part of a build set sent back. */
const RECORDS_PART = 400;
/** Planned assets per part of a plan sent back (each is a short string and, mostly, an empty list). */
const PLAN_PART = 2000;

function hashPiecesInline(pieces: readonly Uint8Array[]): string {
  const hash = createHash('sha256');
  for (const piece of pieces) hash.update(piece);
  return hash.digest('hex');
}

/** Whether `bytes` lives in shared memory (a worker sees it without a copy). */
function isShared(bytes: Uint8Array): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && bytes.buffer instanceof SharedArrayBuffer;
}

/**
 * Invariant: the process's worker; null when none can start here or it died; undefined before the first try
 * or after it ended for being idle.
 */
let worker: Worker | null | undefined;
/**
 * How long the worker waits for more work before it ends (`idleMs`: its heap holds what the last pack's
 * structure step took in, the whole crawl, hundreds of MiB at 100k roots, and a new worker starts in tens of
 * milliseconds), and how many times it did (`idleEnds`, for tests and logs). Tests may shorten `idleMs`.
 */
export const hasherLifecycle = { idleMs: 10_000, idleEnds: 0 };

/** Whether the hasher's worker thread is running now. */
export function hasherRunning(): boolean {
  return worker !== undefined && worker !== null;
}
/** Invariant: set while the worker runs with nothing waiting; ends it when it fires. */
let idleTimer: NodeJS.Timeout | undefined;
/**
 * Invariant: how many structure steps are under way. Each is a conversation with state on the worker's side,
 * held to the worker it began with, so the worker never ends for being idle while one is.
 */
let structureSteps = 0;

/** Ends `idle` once it has had nothing to do for `hasherLifecycle.idleMs`; a request clears the timer first. */
function endWhenIdle(idle: Worker): void {
  clearTimeout(idleTimer);
  idleTimer = setTimeout(() => {
    idleTimer = undefined;
    if (worker !== idle || waiting.size > 0 || structureSteps > 0) return;
    // Forgotten first: its exit is then no failure, and the next pack starts a new worker.
    worker = undefined;
    hasherLifecycle.idleEnds++;
    void idle.terminate();
  }, hasherLifecycle.idleMs);
  idleTimer.unref();
}

/** A request is about to be posted: the worker is not idle any more. */
function busy(): void {
  clearTimeout(idleTimer);
  idleTimer = undefined;
}
let nextId = 0;
/** Invariant: requests posted to {@link worker} and not answered yet, with their pieces to hash inline if it dies. */
const waiting = new Map<
  number,
  {
    readonly items: readonly (readonly Uint8Array[])[];
    resolve(hashes: string[]): void;
    /** For a structure step: its answer, or null when the worker failed (the caller then redoes it inline). */
    settle?(value: unknown): void;
  }
>();

function workerOrNull(): Worker | null {
  if (worker !== undefined) return worker;
  const url = new URL(import.meta.url);
  // Compiled JavaScript only (dist/*.js, or the bundle's main.cjs): from TypeScript sources no thread can start.
  if (!/\.c?js$/.test(url.pathname) || typeof SharedArrayBuffer === 'undefined') return (worker = null);
  let started: Worker;
  try {
    started = new Worker(new URL('./pack-hasher-entry.js', url), { workerData: { tag: WORKER_TAG }, execArgv: [] });
  } catch {
    return (worker = null);
  }
  started.on('message', (reply: HashReply) => {
    const waiter = waiting.get(reply.id);
    if (waiter === undefined) return;
    waiting.delete(reply.id);
    if (waiting.size === 0) {
      started.unref();
      endWhenIdle(started);
    }
    if (waiter.settle !== undefined) waiter.settle(reply.ok && 'value' in reply ? reply.value : null);
    else waiter.resolve(reply.ok && 'hashes' in reply ? reply.hashes : waiter.items.map(hashPiecesInline));
  });
  const fail = (): void => {
    // A worker ended for being idle was forgotten first and had nothing waiting: what waits is another's.
    if (worker !== started) return;
    // Hash what was waiting inline: the bytes are still held by the requests, so no answer is lost.
    worker = null;
    for (const waiter of waiting.values())
      if (waiter.settle !== undefined) waiter.settle(null);
      else waiter.resolve(waiter.items.map(hashPiecesInline));
    waiting.clear();
  };
  started.on('error', fail);
  started.on('exit', fail);
  // An idle hasher must not keep the process alive (after the listeners: adding one refs the port again);
  // while a request waits it does, so that its answer arrives.
  started.unref();
  worker = started;
  return started;
}

function post(items: readonly (readonly Uint8Array[])[]): Promise<string[]> {
  const target = workerOrNull();
  if (target === null) return Promise.resolve(items.map(hashPiecesInline));
  return new Promise((resolve) => {
    const id = ++nextId;
    busy();
    if (waiting.size === 0) target.ref();
    waiting.set(id, { items, resolve });
    const request: HashRequest = { id, items };
    target.postMessage(request);
  });
}

/** Sends one structure step to the worker; null when there is none or it failed. */
function call(target: Worker, request: StructureStep): Promise<unknown> {
  return new Promise((settle) => {
    const id = ++nextId;
    busy();
    if (waiting.size === 0) target.ref();
    waiting.set(id, { items: [], resolve: () => undefined, settle });
    target.postMessage({ ...request, id });
  });
}

/**
 * The hashing of one pack: {@link allocate} gives memory for an input (shared when a worker can hash it),
 * {@link hash} queues an input and answers its SHA-256 later, in batches; {@link hashPieces} hashes a whole
 * artifact from its pieces. Every answer is the SHA-256 of exactly the bytes given, wherever it ran.
 */
export class PackHasher {
  /** Whether hashes run on another thread (else {@link hash} hashes inline, at once). */
  readonly parallel: boolean;
  /** Invariant: inputs queued and not posted yet, with their resolvers; {@link #queuedBytes} their size. */
  #queued: { readonly bytes: Uint8Array; resolve(sha: string): void }[] = [];
  #queuedBytes = 0;
  /**
   * Invariant: the chunk of shared memory {@link allocate} hands views of out, and how many of its bytes are
   * handed out (views never overlap; a chunk lives as long as any view of it does).
   */
  #chunk: Uint8Array | null = null;
  #chunkUsed = 0;

  constructor() {
    this.parallel = workerOrNull() !== null;
  }

  /** Memory for an input of `length` bytes: shared when the worker will hash it (a view of a shared chunk). */
  allocate = (length: number): Uint8Array => {
    if (!this.parallel || length < SHARED_MIN_BYTES) return Buffer.allocUnsafe(length);
    if (length > CHUNK_BYTES / 4) return new Uint8Array(new SharedArrayBuffer(length));
    if (this.#chunk === null || this.#chunkUsed + length > this.#chunk.length) {
      this.#chunk = new Uint8Array(new SharedArrayBuffer(CHUNK_BYTES));
      this.#chunkUsed = 0;
    }
    const view = this.#chunk.subarray(this.#chunkUsed, this.#chunkUsed + length);
    // The next view starts 8-byte aligned, as a buffer of its own would.
    this.#chunkUsed += Math.ceil(length / 8) * 8;
    return view;
  };

  /** The SHA-256 of `bytes`: from the worker when they are shared (posted in batches), else inline. */
  hash(bytes: Uint8Array): Promise<string> {
    if (!this.parallel || !isShared(bytes)) return Promise.resolve(hashPiecesInline([bytes]));
    return new Promise((resolve) => {
      this.#queued.push({ bytes, resolve });
      this.#queuedBytes += bytes.length;
      if (this.#queuedBytes >= BATCH_BYTES) this.flush();
    });
  }

  /** Posts the inputs queued so far. Call it before awaiting their hashes. */
  flush(): void {
    if (this.#queued.length === 0) return;
    const batch = this.#queued;
    this.#queued = [];
    this.#queuedBytes = 0;
    void post(batch.map((entry) => [entry.bytes])).then((hashes) =>
      batch.forEach((entry, index) => entry.resolve(hashes[index]!)),
    );
  }

  /**
   * The SHA-256 of `pieces` joined, computed on the worker while the caller goes on (the pieces must not
   * change until it settles), or null when it would run inline (no worker, or too much outside shared memory
   * to copy): then the caller hashes it where it suits it best.
   */
  hashPieces(pieces: readonly Uint8Array[]): Promise<string> | null {
    if (!this.parallel) return null;
    // A view outside shared memory is copied with its whole buffer: count each buffer once, whole.
    const copiedBuffers = new Set<ArrayBufferLike>();
    let copied = 0;
    for (const piece of pieces) {
      if (isShared(piece) || copiedBuffers.has(piece.buffer)) continue;
      copiedBuffers.add(piece.buffer);
      copied += piece.buffer.byteLength;
      if (copied > COPIED_MAX_BYTES) return null;
    }
    return post([pieces]).then((hashes) => hashes[0]!);
  }

  /**
   * {@link packStructure} run on the worker, the crawl sent and the build set taken back in parts (each
   * one a short task on this thread); null when no worker runs or it failed, for the caller to run it inline.
   */
  async structure(revision: number, crawl: CrawlResult, registryText: string | null): Promise<PackStructure | null> {
    const taken = await this.#structure(revision, crawl, registryText, 'records', RECORDS_PART);
    if (taken === null) return null;
    const { head, parts } = taken;
    return {
      exists: head.exists,
      registryJson: head.registryJson,
      blockers: head.blockers,
      buildSet: parts as AssetRecord[],
    };
  }

  /**
   * {@link packStructure} run on the worker like {@link structure}, but only the {@link PlannedAsset}s of the
   * rebuilt build set come back (see {@link plannedAssets}): what the pack needs to check that it packed the
   * snapshot's records as a rebuild would have them, a small part of cloning the records themselves.
   */
  async plan(revision: number, crawl: CrawlResult, registryText: string | null): Promise<PackPlan | null> {
    const taken = await this.#structure(revision, crawl, registryText, 'plan', PLAN_PART);
    if (taken === null) return null;
    const { head, parts } = taken;
    return {
      exists: head.exists,
      registryJson: head.registryJson,
      blockers: head.blockers,
      plan: parts as PlannedAsset[],
    };
  }

  async #structure(
    revision: number,
    crawl: CrawlResult,
    registryText: string | null,
    shape: 'records' | 'plan',
    part: number,
  ): Promise<{ readonly head: Omit<PackStructure, 'buildSet'>; readonly parts: readonly unknown[] } | null> {
    const target = this.parallel ? workerOrNull() : null;
    if (target === null) return null;
    structureSteps++;
    try {
      return await this.#structureOn(target, revision, crawl, registryText, shape, part);
    } finally {
      structureSteps--;
      if (structureSteps === 0 && waiting.size === 0 && worker === target) endWhenIdle(target);
    }
  }

  async #structureOn(
    target: Worker,
    revision: number,
    crawl: CrawlResult,
    registryText: string | null,
    shape: 'records' | 'plan',
    part: number,
  ): Promise<{ readonly head: Omit<PackStructure, 'buildSet'>; readonly parts: readonly unknown[] } | null> {
    const job = ++nextJob;
    const parts = Math.max(Math.ceil(crawl.anchors.length / CRAWL_PART), Math.ceil(crawl.files.length / CRAWL_PART));
    for (let index = 0; index < parts; index++) {
      const from = index * CRAWL_PART;
      const sent = await call(target, {
        job,
        kind: 'crawl-part',
        anchors: crawl.anchors.slice(from, from + CRAWL_PART),
        files: crawl.files.slice(from, from + CRAWL_PART),
      });
      if (sent === null) return null;
    }
    const { anchors: _anchors, files: _files, ...rest } = crawl;
    const head = (await call(target, { job, kind: 'structure', shape, revision, rest, registryText })) as
      (Omit<PackStructure, 'buildSet'> & { readonly records: number }) | null;
    if (head === null) return null;
    const taken: unknown[] = [];
    while (taken.length < head.records) {
      const items = (await call(target, { job, kind: 'take', count: part })) as unknown[] | null;
      if (items === null || items.length === 0) return null;
      taken.push(...items);
    }
    return { head, parts: taken };
  }
}

/** The worker's half of {@link PackHasher.structure}: the crawl being received, then the build set being taken. */
/** Invariant (worker side): per job of {@link PackHasher.structure} still running, its crawl or its build set left. */
const jobs = new Map<
  number,
  { anchors: CrawlResult['anchors'][number][]; files: string[] } | { readonly left: unknown[] }
>();
let nextJob = 0;

function answerStructure(request: StructureRequest): unknown {
  const state = jobs.get(request.job);
  switch (request.kind) {
    case 'crawl-part': {
      const receiving = state !== undefined && 'anchors' in state ? state : { anchors: [], files: [] };
      receiving.anchors.push(...request.anchors);
      receiving.files.push(...request.files);
      jobs.set(request.job, receiving);
      return true;
    }
    case 'structure': {
      const received = state !== undefined && 'anchors' in state ? state : { anchors: [], files: [] };
      const crawl: CrawlResult = { ...request.rest, anchors: received.anchors, files: received.files };
      const structure = packStructure(request.revision, crawl, request.registryText);
      const { buildSet, ...head } = structure;
      const items: unknown[] = request.shape === 'plan' ? plannedAssets(structure, crawl) : [...buildSet];
      // Taken from the end backwards would reorder it: keep it reversed, so each part is popped cheaply.
      jobs.set(request.job, { left: items.reverse() });
      return { ...head, records: items.length };
    }
    case 'take': {
      const left = state !== undefined && 'left' in state ? state.left : [];
      const records: unknown[] = [];
      while (records.length < request.count && left.length > 0) records.push(left.pop());
      if (left.length === 0) jobs.delete(request.job);
      return records;
    }
  }
}

if (!isMainThread && parentPort !== null && (workerData as { tag?: unknown } | null)?.tag === WORKER_TAG) {
  const port = parentPort;
  port.on('message', (request: HashRequest | StructureRequest) => {
    let reply: HashReply;
    try {
      reply =
        request.kind === undefined
          ? { id: request.id, ok: true, hashes: request.items.map(hashPiecesInline) }
          : { id: request.id, ok: true, value: answerStructure(request) };
    } catch (error) {
      reply = { id: request.id, ok: false, error: error instanceof Error ? error.message : String(error) };
    }
    port.postMessage(reply);
  });
}
