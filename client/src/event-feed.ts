/**
 * Catching up after a reconnect. A client remembers, per project, the epoch and the last sequence it saw
 * (its {@link EventCursor}); `resume` replays what came after it with `packer/events`, or says explicitly
 * that the caller must resynchronise from reads because the server restarted (a new epoch) or no longer
 * retains the events. {@link ProjectEventFeed} joins that replay and the live stream into one gap-free,
 * duplicate-free sequence of a project's events.
 */
import { PackerErrorCodes, packerRequests, type PackerEvent } from '@prometeu/packer-protocol';
import { isPackerError } from './errors.js';
import { EventSink, type EventSinkOptions } from './event-sink.js';
import type { EventSource, RequestOptions, RequestSender, Unsubscribe } from './ports.js';

/** What a feed needs of a connection: the live events, their replay, and the end of the connection. */
export interface FeedSource extends EventSource {
  /** Replays the project's events after `from` (see `PackerClient.resume`). */
  resume(projectId: string, from: ResumeFrom, options?: ResumeOptions): Promise<ResumeResult>;
}

/** Where a reader of a project's events stands: the epoch and the last sequence it saw in it. */
export interface EventCursor {
  /** The server run the sequence belongs to. */
  readonly epoch: string;
  /** The last sequence seen; pass it as `afterSequence` to continue. */
  readonly afterSequence: number;
}

/**
 * Where a client stands in each project's events: the epoch of the newest event seen and the greatest
 * sequence seen in it, moved by live events and by replays.
 */
export class EventCursors {
  /** Invariant: per project, the epoch of the newest event seen and the greatest sequence seen in it. */
  private readonly cursors = new Map<string, EventCursor>();

  /** The project's cursor, if any event of it was seen. */
  get(projectId: string): EventCursor | undefined {
    return this.cursors.get(projectId);
  }

  /** Moves the project's cursor to `event` when it is newer (a new epoch replaces the old one). */
  note(event: PackerEvent): void {
    if (typeof event.projectId !== 'string' || typeof event.epoch !== 'string' || typeof event.sequence !== 'number')
      return;
    const current = this.cursors.get(event.projectId);
    if (current === undefined || current.epoch !== event.epoch || current.afterSequence < event.sequence)
      this.cursors.set(event.projectId, { epoch: event.epoch, afterSequence: event.sequence });
  }

  /** Moves the cursor after a resume: past the replayed events, or to the resync point. */
  noteResume(projectId: string, result: ResumeResult): void {
    if (result.status === 'replayed') {
      for (const event of result.events) this.note(event);
      return;
    }
    const current = this.cursors.get(projectId);
    const seen = current !== undefined && current.epoch === result.epoch ? current.afterSequence : 0;
    this.cursors.set(projectId, { epoch: result.epoch, afterSequence: Math.max(result.lastSequence, seen) });
  }
}

/** Where to resume from: a cursor, or just a sequence (0 for everything retained) of an unknown epoch. */
export interface ResumeFrom {
  readonly afterSequence: number;
  /** The epoch `afterSequence` belongs to; when given, a different current epoch means resynchronise. */
  readonly epoch?: string;
}

/** Why a reader must resynchronise from reads instead of replaying. */
export type ResyncReason = 'epochChanged' | 'dropped';

/** What `PackerClient.resume` found. */
export type ResumeResult =
  | {
      /** Every event after the cursor, in order, with no gaps: apply them and carry on. */
      readonly status: 'replayed';
      readonly epoch: string;
      readonly events: readonly PackerEvent[];
      /** The newest sequence of the project when the replay was read. */
      readonly lastSequence: number;
    }
  | {
      /**
       * The events after the cursor cannot be replayed: `epochChanged` (the server restarted; its sequence
       * numbers mean nothing now) or `dropped` (no longer retained). Re-read the state (projectStatus,
       * listAssets...) and continue from `epoch` and `lastSequence`.
       */
      readonly status: 'resync';
      readonly reason: ResyncReason;
      /** The current epoch. */
      readonly epoch: string;
      /** The epoch the caller asked about. */
      readonly requestedEpoch: string | undefined;
      /** The newest sequence of the project in the current epoch: the new cursor. */
      readonly lastSequence: number;
    };

/** Options of a resume. */
export interface ResumeOptions extends RequestOptions {
  /** Events per `packer/events` page (default 10 000). */
  readonly pageSize?: number;
}

/** Replays the events of `projectId` after `from`, page by page. */
export async function resumeEvents(
  client: RequestSender,
  projectId: string,
  from: ResumeFrom,
  options: ResumeOptions = {},
): Promise<ResumeResult> {
  const requestOptions: RequestOptions = {
    ...(options.signal !== undefined ? { signal: options.signal } : {}),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
  };
  const limit = options.pageSize;
  const events: PackerEvent[] = [];
  let afterSequence = from.afterSequence;
  let epoch = from.epoch;
  for (;;) {
    let page;
    try {
      page = await client.request(
        packerRequests.events,
        {
          projectId,
          afterSequence,
          ...(epoch !== undefined ? { epoch } : {}),
          ...(limit !== undefined ? { limit } : {}),
        },
        requestOptions,
      );
    } catch (error) {
      if (!isPackerError(error, PackerErrorCodes.EpochMismatch)) throw error;
      const now = await client.request(
        packerRequests.events,
        { projectId, afterSequence: 0, limit: 1 },
        requestOptions,
      );
      return {
        status: 'resync',
        reason: 'epochChanged',
        epoch: now.epoch,
        requestedEpoch: from.epoch,
        lastSequence: now.lastSequence,
      };
    }
    if (page.dropped)
      return {
        status: 'resync',
        reason: 'dropped',
        epoch: page.epoch,
        requestedEpoch: from.epoch,
        lastSequence: page.lastSequence,
      };
    events.push(...page.events);
    epoch = page.epoch;
    const last = page.events.at(-1);
    if (!page.more || last === undefined)
      return { status: 'replayed', epoch: page.epoch, events, lastSequence: page.lastSequence };
    afterSequence = last.sequence;
  }
}

/** What {@link ProjectEventFeed.start} found. */
export type FeedStart =
  | {
      readonly status: 'replayed';
      readonly epoch: string;
      /** How many missed events were replayed. */ readonly replayed: number;
    }
  | {
      readonly status: 'resync';
      readonly reason: ResyncReason;
      readonly epoch: string;
      readonly requestedEpoch: string | undefined;
      readonly lastSequence: number;
    };

/** Options of a {@link ProjectEventFeed}. */
export interface ProjectEventFeedOptions extends EventSinkOptions {
  /** Start after this cursor (from an earlier client or feed); default: everything the server retains. */
  readonly from?: ResumeFrom;
}

/**
 * One project's events as one ordered stream: first what was missed since `from` (replayed), then the
 * live events, without duplicates and, apart from progress merged for a slow reader, without gaps. When the
 * missed events cannot be replayed, {@link start} says `resync` and the feed continues from the current
 * end of the log. Read it with `for await`, or with {@link drain} from a render loop.
 */
export class ProjectEventFeed implements AsyncIterableIterator<PackerEvent> {
  /** The events, buffered for the reader. */
  readonly sink: EventSink;
  private readonly client: FeedSource;
  private readonly projectId: string;
  private readonly from: ResumeFrom;
  private unsubscribe: Unsubscribe = () => undefined;
  /** Invariant: live events that arrived while the replay was read; empty once started. */
  private pending: PackerEvent[] | undefined;
  /** Invariant: the epoch and last sequence handed to the sink; undefined before start. */
  private position: EventCursor | undefined;
  private started = false;

  /** Builds a feed of `projectId`'s events; nothing is sent before {@link start}. */
  constructor(client: FeedSource, projectId: string, options: ProjectEventFeedOptions = {}) {
    this.client = client;
    this.projectId = projectId;
    this.from = options.from ?? { afterSequence: 0 };
    this.sink = new EventSink(
      options.coalesceProgress === undefined ? {} : { coalesceProgress: options.coalesceProgress },
    );
    this.sink.onClose(() => this.unsubscribe());
  }

  /** The epoch and last sequence delivered to the reader so far: save it to resume later. */
  get cursor(): EventCursor | undefined {
    return this.position;
  }

  /**
   * Subscribes to the live events, then replays what came after `from`. Resolves with `replayed` or with
   * `resync` (re-read the state; the feed goes on from the current end of the log). Rejects, and closes
   * the feed, when the replay request fails (an unknown project, a dead connection). Call it once.
   */
  async start(options: ResumeOptions = {}): Promise<FeedStart> {
    if (this.started) throw new Error('ProjectEventFeed.start() may be called once.');
    this.started = true;
    this.pending = [];
    this.unsubscribe = this.client.onEvent((event) => {
      if (event.projectId !== this.projectId) return;
      if (this.pending !== undefined) this.pending.push(event);
      else this.deliver(event);
    });
    const stopWatchingExit = this.client.onExit(() => this.close());
    const stopEvents = this.unsubscribe;
    this.unsubscribe = () => {
      stopEvents();
      stopWatchingExit();
    };
    let result: ResumeResult;
    try {
      result = await this.client.resume(this.projectId, this.from, options);
    } catch (error) {
      this.close();
      throw error;
    }
    let start: FeedStart;
    if (result.status === 'replayed') {
      this.position = {
        epoch: result.epoch,
        afterSequence: this.from.epoch === result.epoch || this.from.epoch === undefined ? this.from.afterSequence : 0,
      };
      for (const event of result.events) this.deliver(event);
      start = { status: 'replayed', epoch: result.epoch, replayed: result.events.length };
    } else {
      this.position = { epoch: result.epoch, afterSequence: result.lastSequence };
      start = {
        status: 'resync',
        reason: result.reason,
        epoch: result.epoch,
        requestedEpoch: result.requestedEpoch,
        lastSequence: result.lastSequence,
      };
    }
    const waiting = this.pending;
    this.pending = undefined;
    for (const event of waiting) this.deliver(event);
    return start;
  }

  /** Stops following: unsubscribes; events already buffered can still be read. */
  close(): void {
    this.unsubscribe();
    this.sink.close();
  }

  /** Takes every buffered event without waiting. */
  drain(): PackerEvent[] {
    return this.sink.drain();
  }

  next(): Promise<IteratorResult<PackerEvent>> {
    return this.sink.next();
  }

  return(): Promise<IteratorResult<PackerEvent>> {
    this.unsubscribe();
    return this.sink.return();
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<PackerEvent> {
    return this;
  }

  /** Hands an event to the reader unless it was already delivered (replay and live overlap). */
  private deliver(event: PackerEvent): void {
    const position = this.position;
    if (position === undefined || event.epoch !== position.epoch || event.sequence <= position.afterSequence) return;
    this.position = { epoch: event.epoch, afterSequence: event.sequence };
    this.sink.push(event);
  }
}
