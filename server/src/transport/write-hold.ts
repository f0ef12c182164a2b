/**
 * The order in which incoming messages reach vscode-jsonrpc's queue: snapshot reads go ahead of write requests
 * still waiting in the input, and everything else keeps its arrival order.
 *
 * vscode-jsonrpc takes one message off its queue per turn of the event loop, in arrival order, so a read sent
 * after 1,000 `applyMutation` requests waited for 1,000 turns (and for the commits run between them) before it was
 * even looked at. This hold sits between the framed reader and that queue. It hands the queue at most one held
 * message at a time: the next one only once vscode-jsonrpc has dispatched the previous one. A read request that
 * arrives while only write requests are held goes to the queue at once, ahead of them. A read never overtakes
 * anything else: while a lifecycle message, a notification (text sync, `submitMutation`, …), a response or another
 * read is held, a read is held behind it in arrival order. Write requests are never reordered among themselves nor
 * relative to any non-read message. A read overtakes only writes that were not yet dispatched, so it still observes
 * a published revision, as it would have had it arrived a moment earlier.
 *
 * `$/cancelRequest` for a held request is kept with that request and handed to the queue right after it, in the same
 * turn: vscode-jsonrpc then finds the request undispatched, as it would without the hold, and dispatches it with its
 * token already cancelled (a write cancelled before it started). A cancellation of anything not held passes at once,
 * as vscode-jsonrpc handles cancellations as they arrive.
 */
import type { Message } from 'vscode-jsonrpc/node';

/** How the hold treats one message: a read may overtake held writes; `other` is never reordered. */
export type ArrivalClass = 'read' | 'write' | 'other';

/** Classifies an incoming message; only requests (with an id) may be `read` or `write`. */
export type ArrivalClassifier = (message: Message) => ArrivalClass;

interface Held {
  readonly message: Message;
  readonly kind: ArrivalClass;
  /** Invariant: the `$/cancelRequest` messages that arrived for this request while it was held, in order. */
  readonly cancels: Message[];
}

const CANCEL_METHOD = '$/cancelRequest';

/** The id a `$/cancelRequest` names, or undefined when the message is not one. */
function cancelledIdOf(message: Message): string | number | undefined {
  const candidate = message as { method?: unknown; params?: { id?: unknown } | null };
  if (candidate.method !== CANCEL_METHOD) return undefined;
  const id = candidate.params?.id;
  return typeof id === 'string' || typeof id === 'number' ? id : undefined;
}

/** The id of a request, or undefined for a notification or a response. */
function requestIdOf(message: Message): string | number | undefined {
  const candidate = message as { method?: unknown; id?: unknown };
  if (typeof candidate.method !== 'string') return undefined;
  return typeof candidate.id === 'string' || typeof candidate.id === 'number' ? candidate.id : undefined;
}

/** Statistics of a hold, for tests and diagnostics. */
export interface WriteHoldStatistics {
  /** Messages held now. */
  readonly held: number;
  /** Reads that went to the queue ahead of at least one held write, since the hold was made. */
  readonly overtaken: number;
}

/**
 * Holds write requests (and whatever arrives behind a held message) back from vscode-jsonrpc's queue so that
 * reads can go ahead of them; see the file comment for the rules.
 */
export class WriteHold {
  /** Invariant: the held messages in arrival order; the first is the next one handed to the queue. */
  private readonly held: Held[] = [];
  /** Invariant: where `held[i - heldStart]` lives; entries before it were handed on (a cheap queue). */
  private heldStart = 0;
  /** Invariant: the held requests by id, for the cancellations that name them. */
  private readonly heldById = new Map<string | number, Held>();
  /** Invariant: how many held entries are not `write` requests; a read overtakes only while this is 0. */
  private heldBarriers = 0;
  /**
   * Invariant: the message this hold last handed to the queue and vscode-jsonrpc has not dispatched yet (only
   * writes and other messages are tracked: a read handed on never blocks the hold); undefined when none is.
   */
  private inQueue: Message | undefined;
  private overtaken = 0;

  constructor(
    private readonly classify: ArrivalClassifier,
    private readonly deliver: (message: Message) => void,
  ) {}

  /** Counters of the hold. */
  get statistics(): WriteHoldStatistics {
    return { held: this.held.length - this.heldStart, overtaken: this.overtaken };
  }

  /** Takes one incoming message: hands it to the queue now, or holds it. */
  arrive(message: Message): void {
    const cancelled = cancelledIdOf(message);
    if (cancelled !== undefined) {
      const target = this.heldById.get(cancelled);
      if (target !== undefined) target.cancels.push(message);
      else this.deliver(message);
      return;
    }
    let kind = this.classify(message);
    const holding = this.held.length > this.heldStart;
    // A read that reuses the id of a request still held or still in vscode-jsonrpc's queue keeps its place: its
    // queue keys requests by id, so the read would replace that request there, which would then never be
    // dispatched and would hold every later message back for good. In order, it meets what it met without the hold.
    if (kind === 'read' && this.sharesAnId(message)) kind = 'other';
    if (kind === 'read' && this.heldBarriers === 0) {
      if (holding) this.overtaken++;
      this.deliver(message);
      return;
    }
    if (!holding && this.inQueue === undefined) {
      this.handOn({ message, kind, cancels: [] });
      return;
    }
    const entry: Held = { message, kind, cancels: [] };
    this.held.push(entry);
    if (kind !== 'write') this.heldBarriers++;
    const id = requestIdOf(message);
    if (id !== undefined) this.heldById.set(id, entry);
  }

  /**
   * Says that vscode-jsonrpc took `message` off its queue (the connection's message strategy calls it for every
   * message); when it is the one this hold handed on last, the next held message goes to the queue.
   */
  dispatched(message: Message): void {
    if (message !== this.inQueue) return;
    this.inQueue = undefined;
    this.release();
  }

  /** Hands every held message to the queue in order (the input ended: nothing can overtake any more). */
  flush(): void {
    while (this.held.length > this.heldStart) this.handOn(this.shift());
  }

  /** Whether `message` is a request with the id of a held request or of the request handed on and not dispatched. */
  private sharesAnId(message: Message): boolean {
    const id = requestIdOf(message);
    if (id === undefined) return false;
    return this.heldById.has(id) || (this.inQueue !== undefined && requestIdOf(this.inQueue) === id);
  }

  private release(): void {
    while (this.inQueue === undefined && this.held.length > this.heldStart) this.handOn(this.shift());
  }

  private shift(): Held {
    const entry = this.held[this.heldStart]!;
    this.heldStart++;
    if (this.heldStart === this.held.length) {
      this.held.length = 0;
      this.heldStart = 0;
    } else if (this.heldStart > 1024 && this.heldStart * 2 > this.held.length) {
      this.held.splice(0, this.heldStart);
      this.heldStart = 0;
    }
    if (entry.kind !== 'write') this.heldBarriers--;
    const id = requestIdOf(entry.message);
    if (id !== undefined && this.heldById.get(id) === entry) this.heldById.delete(id);
    return entry;
  }

  private handOn(entry: Held): void {
    if (entry.kind !== 'read') this.inQueue = entry.message;
    this.deliver(entry.message);
    for (const cancel of entry.cancels) this.deliver(cancel);
  }
}
