/**
 * A buffered, single-consumer queue of `packer/event`s for consumers slower than the server: a UI that
 * renders at 60 Hz, a CLI drawing a progress bar, a test that reads when it likes.
 *
 * While events wait in the buffer, an `operation.progress` may replace the buffered progress of the same
 * operation when no other event of that operation lies between them: the newer one moves to the end (its
 * own place in sequence order) and its `body.merged` says how many progress events it now stands for.
 * Nothing else is ever dropped, merged or reordered, so every terminal event is delivered, after every
 * other event of its operation.
 */
import type { PackerEvent } from '@prometeu/packer-protocol';

/** Options of an {@link EventSink}. */
export interface EventSinkOptions {
  /** Merge buffered `operation.progress` of one operation into the newest (default true). */
  readonly coalesceProgress?: boolean;
}

/** One buffered event. */
interface Slot {
  event: PackerEvent;
  /** Invariant: true once a newer progress of the same operation took this slot's place. */
  replaced: boolean;
}

type ProgressEvent = Extract<PackerEvent, { kind: 'operation.progress' }>;

/** The key of an operation's events: operation ids are unique per project and epoch. */
function operationKey(event: PackerEvent): string | undefined {
  return event.operationId === undefined
    ? undefined
    : `${event.projectId}\u0000${event.epoch}\u0000${event.operationId}`;
}

/**
 * A queue of events with progress coalescing. Feed it with {@link push} (for example from
 * `client.onEvent`), end it with {@link close}, and read it either with `for await` or, for a render
 * loop, with {@link drain} once per frame. It has one consumer: two readers would split the events.
 */
export class EventSink implements AsyncIterableIterator<PackerEvent> {
  private readonly coalesce: boolean;
  /** Invariant: the buffered slots from `head` on are in arrival order; `replaced` ones are skipped when read. */
  private slots: Slot[] = [];
  private head = 0;
  /** Invariant: how many slots from `head` on are not `replaced`. */
  private live = 0;
  /** Invariant: for each operation, its newest buffered slot (of any kind), while it is still buffered. */
  private readonly newest = new Map<string, Slot>();
  /** Invariant: at most one reader waits, and only while the buffer is empty and the sink is open. */
  private waiter: ((result: IteratorResult<PackerEvent>) => void) | undefined;
  private ended = false;
  private mergedAway = 0;
  private readonly closeListeners = new Set<() => void>();

  /** Builds an empty, open sink. */
  constructor(options: EventSinkOptions = {}) {
    this.coalesce = options.coalesceProgress ?? true;
  }

  /** How many events wait to be read. */
  get size(): number {
    return this.live;
  }

  /** Whether {@link close} was called (buffered events may still be read). */
  get closed(): boolean {
    return this.ended;
  }

  /** How many progress events were merged into newer ones while buffered. */
  get mergedCount(): number {
    return this.mergedAway;
  }

  /** Adds an event. Ignored after {@link close}. */
  push(event: PackerEvent): void {
    if (this.ended) return;
    if (this.waiter !== undefined) {
      // A reader is waiting, so the buffer is empty: hand the event over directly.
      const waiter = this.waiter;
      this.waiter = undefined;
      waiter({ value: event, done: false });
      return;
    }
    const key = operationKey(event);
    let stored = event;
    if (this.coalesce && key !== undefined && event.kind === 'operation.progress') {
      const previous = this.newest.get(key);
      if (previous !== undefined && previous.event.kind === 'operation.progress') {
        previous.replaced = true;
        this.live--;
        const replacedCount = (previous.event.body.merged ?? 0) + 1 + (event.body.merged ?? 0);
        const merged: ProgressEvent = { ...event, body: { ...event.body, merged: replacedCount } };
        stored = merged;
        this.mergedAway++;
      }
    }
    const slot: Slot = { event: stored, replaced: false };
    this.slots.push(slot);
    this.live++;
    if (key !== undefined) this.newest.set(key, slot);
  }

  /**
   * Ends the sink: events already buffered are still delivered, then iteration ends. Later pushes are
   * ignored. Calling it again does nothing.
   */
  close(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.waiter !== undefined) {
      const waiter = this.waiter;
      this.waiter = undefined;
      waiter({ value: undefined, done: true });
    }
    for (const listener of [...this.closeListeners]) {
      try {
        listener();
      } catch {
        // A close listener's failure is its own.
      }
    }
    this.closeListeners.clear();
  }

  /** Calls `listener` once when the sink closes (at once, asynchronously, if it already did). */
  onClose(listener: () => void): void {
    if (this.ended) queueMicrotask(listener);
    else this.closeListeners.add(listener);
  }

  /** Takes every buffered event, in order, without waiting. */
  drain(): PackerEvent[] {
    const events: PackerEvent[] = [];
    for (let event = this.take(); event !== undefined; event = this.take()) events.push(event);
    return events;
  }

  /** The next event: at once when one is buffered, else when one arrives; `done` once closed and empty. */
  next(): Promise<IteratorResult<PackerEvent>> {
    const event = this.take();
    if (event !== undefined) return Promise.resolve({ value: event, done: false });
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    if (this.waiter !== undefined)
      return Promise.reject(new Error('EventSink has one consumer: next() was called while another call was waiting.'));
    return new Promise((resolve) => (this.waiter = resolve));
  }

  /** Stops reading early (`break` in `for await`): closes the sink and discards what is buffered. */
  return(): Promise<IteratorResult<PackerEvent>> {
    this.close();
    this.slots = [];
    this.head = 0;
    this.live = 0;
    this.newest.clear();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<PackerEvent> {
    return this;
  }

  private take(): PackerEvent | undefined {
    while (this.head < this.slots.length) {
      const slot = this.slots[this.head]!;
      this.head++;
      if (slot.replaced) continue;
      this.live--;
      const key = operationKey(slot.event);
      if (key !== undefined && this.newest.get(key) === slot) this.newest.delete(key);
      this.compact();
      return slot.event;
    }
    this.compact();
    return undefined;
  }

  /** Drops read slots once they outnumber the rest, so a long-lived sink does not grow. */
  private compact(): void {
    if (this.head === this.slots.length) {
      this.slots = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.slots.length) {
      this.slots = this.slots.slice(this.head);
      this.head = 0;
    }
  }
}
