/**
 * The connection's outbound queue. Every message to the client (responses, events, logs) passes through it
 * in call order, is framed whole, and is written in batches: one stream write per turn of the event loop,
 * so a burst of events costs one write, not one per event. While the client does not keep up (the stream
 * asks to drain), messages wait here, and only then may queued `operation.progress` events of one
 * operation be merged: the newest replaces the older ones and says how many it replaced. No other
 * message is ever merged or dropped, and order is always kept.
 */
import { AbstractMessageWriter, type Message, type MessageWriter } from 'vscode-jsonrpc/node';

interface Pending {
  message: Message;
  readonly settle: Array<() => void>;
}

/** The identity of a progress event that later progress of the same operation may replace. */
function progressKey(message: Message): string | undefined {
  const candidate = message as {
    method?: unknown;
    params?: { kind?: unknown; projectId?: unknown; operationId?: unknown };
  };
  if (candidate.method !== 'packer/event' || candidate.params?.kind !== 'operation.progress') return undefined;
  return `${String(candidate.params.projectId)}\u0000${String(candidate.params.operationId)}`;
}

/**
 * Serialised results that handlers froze (a snapshot's whole asset list): immutable, so their JSON is
 * computed once and reused for every response that carries them.
 */
const frozenResults = new WeakMap<object, string>();

/** The JSON of a message; a frozen result's JSON is memoised. */
function serialise(message: Message): string {
  const response = message as { jsonrpc?: string; id?: unknown; result?: unknown; error?: unknown };
  const result = response.result;
  if (result === null || typeof result !== 'object' || !Object.isFrozen(result) || 'error' in response)
    return JSON.stringify(message);
  let json = frozenResults.get(result);
  if (json === undefined) {
    json = JSON.stringify(result);
    frozenResults.set(result, json);
  }
  return `{"jsonrpc":${JSON.stringify(response.jsonrpc)},"id":${JSON.stringify(response.id)},"result":${json}}`;
}

export class OutboundWriter extends AbstractMessageWriter implements MessageWriter {
  /** Invariant: messages accepted but not yet handed to the stream, in call order. */
  private pending: Pending[] = [];
  /** Invariant: true while a flush is scheduled or waiting for the stream to drain. */
  private scheduled = false;
  /** Invariant: true while the stream asked to drain; only then are progress events merged. */
  private backedUp = false;
  private closed = false;
  /** How many progress events were merged away; for tests and the server log. */
  mergedCount = 0;

  constructor(private readonly output: NodeJS.WritableStream) {
    super();
    output.on('error', (error: Error) => this.fireError(error));
    output.on('close', () => {
      this.closed = true;
      this.fireClose();
    });
  }

  write(message: Message): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const key = this.backedUp ? progressKey(message) : undefined;
      if (key !== undefined) {
        for (let index = this.pending.length - 1; index >= 0; index--) {
          const queued = this.pending[index]!;
          if (progressKey(queued.message) !== key) continue;
          // Same operation's progress still waiting: the newer one takes its place at the end of the queue.
          const previous =
            (queued.message as unknown as { params: { body: { merged?: number } } }).params.body.merged ?? 0;
          const replacement = message as unknown as { params: { body: Record<string, unknown> } };
          replacement.params = { ...replacement.params, body: { ...replacement.params.body, merged: previous + 1 } };
          this.pending.splice(index, 1);
          this.pending.push({ message, settle: [...queued.settle, resolve] });
          this.mergedCount++;
          return;
        }
      }
      this.pending.push({ message, settle: [resolve] });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    if (this.closed) {
      for (const item of this.pending.splice(0)) for (const settle of item.settle) settle();
      this.scheduled = false;
      return;
    }
    const batch = this.pending;
    this.pending = [];
    let text = '';
    for (const item of batch) {
      const body = serialise(item.message);
      text += `Content-Length: ${Buffer.byteLength(body, 'utf8')}\r\n\r\n${body}`;
    }
    const ready = text === '' || this.output.write(text, 'utf8');
    for (const item of batch) for (const settle of item.settle) settle();
    if (ready) {
      this.backedUp = false;
      this.scheduled = false;
      if (this.pending.length > 0) this.schedule();
      return;
    }
    this.backedUp = true;
    this.output.once('drain', () => this.flush());
  }

  end(): void {
    this.flush();
  }
}
