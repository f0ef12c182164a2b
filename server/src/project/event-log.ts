/**
 * A project's event log: gives every event its gap-free sequence, retains recent events for replay, and
 * hands each new event to the listeners (connections) in sequence order.
 */
import type { PackerEvent, PackerEventKind } from '@prometeu/packer-protocol';

/** The body type of an event kind. */
export type EventBody<K extends PackerEventKind> = Extract<PackerEvent, { kind: K }>['body'];

/** Receives every event of a log, in sequence order, synchronously. */
export type EventListener = (event: PackerEvent) => void;

/** The answer to a replay. */
export interface Replay {
  readonly events: PackerEvent[];
  readonly lastSequence: number;
  readonly firstRetainedSequence: number;
  readonly dropped: boolean;
  readonly more: boolean;
}

/** Default number of events kept for replay per project. */
export const DEFAULT_RETENTION = 50_000;

export class EventLog {
  /** Invariant: the sequence of the newest event; the next event gets `lastSequence + 1`. */
  private lastSequence = 0;
  /** Invariant: the newest retained events, in sequence order, with no gaps. */
  private retained: PackerEvent[] = [];
  /** Invariant: for each operation id, how many of the retained events carry it (absent when none). */
  private readonly retainedOperations = new Map<string, number>();
  private readonly listeners = new Set<EventListener>();

  constructor(
    readonly projectId: string,
    readonly epoch: string,
    private readonly now: () => Date = () => new Date(),
    private readonly retention = DEFAULT_RETENTION,
  ) {}

  /** The sequence of the newest event, 0 before the first. */
  get sequence(): number {
    return this.lastSequence;
  }

  /** Records an event and delivers it to every listener before returning. */
  append<K extends PackerEventKind>(kind: K, body: EventBody<K>, operationId?: string): PackerEvent {
    const event = {
      projectId: this.projectId,
      epoch: this.epoch,
      sequence: ++this.lastSequence,
      ...(operationId !== undefined ? { operationId } : {}),
      time: this.now().toISOString(),
      kind,
      body,
    } as PackerEvent;
    Object.freeze(event);
    this.retained.push(event);
    if (operationId !== undefined)
      this.retainedOperations.set(operationId, (this.retainedOperations.get(operationId) ?? 0) + 1);
    if (this.retained.length > this.retention * 2) {
      const cut = this.retained.length - this.retention;
      for (let index = 0; index < cut; index++) {
        const dropped = this.retained[index]!.operationId;
        if (dropped === undefined) continue;
        const left = (this.retainedOperations.get(dropped) ?? 1) - 1;
        if (left === 0) this.retainedOperations.delete(dropped);
        else this.retainedOperations.set(dropped, left);
      }
      this.retained = this.retained.slice(cut);
    }
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A failing listener (a closed connection) must not stop the others or the operation.
      }
    }
    return event;
  }

  /** Whether any retained event carries `operationId`. */
  retainsOperation(operationId: string): boolean {
    return this.retainedOperations.has(operationId);
  }

  /** Adds a listener; returns the function that removes it. */
  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The retained events after `afterSequence`, optionally of one operation, at most `limit`. */
  replay(afterSequence: number, options: { operationId?: string; limit?: number } = {}): Replay {
    const limit = options.limit ?? 10_000;
    const firstRetainedSequence = this.retained[0]?.sequence ?? 0;
    const dropped = firstRetainedSequence > 0 && afterSequence < firstRetainedSequence - 1;
    const start =
      firstRetainedSequence === 0 ? this.retained.length : Math.max(0, afterSequence + 1 - firstRetainedSequence);
    const events: PackerEvent[] = [];
    let more = false;
    for (let index = start; index < this.retained.length; index++) {
      const event = this.retained[index]!;
      if (options.operationId !== undefined && event.operationId !== options.operationId) continue;
      if (events.length === limit) {
        more = true;
        break;
      }
      events.push(event);
    }
    return { events, lastSequence: this.lastSequence, firstRetainedSequence, dropped, more };
  }
}
