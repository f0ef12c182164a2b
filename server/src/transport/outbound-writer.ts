/**
 * The connection's outbound queue. Every message to the client (responses, events, logs) passes through it
 * in call order, is framed whole, and is written in batches: one stream write per turn of the event loop
 * (one per 32 KiB of a larger batch), so a burst of events costs one write, not one per event. While the
 * client does not keep up (the stream asks to drain), messages wait here, and only then may queued
 * `operation.progress` events of one
 * operation be merged: the newest replaces the older ones and says how many it replaced. No other
 * message is ever merged or dropped, and order is always kept. No message can fail to serialise: one
 * nested deeper than `MAX_OUTBOUND_DEPTH`, holding a BigInt or a cycle, or that `JSON.stringify` throws on,
 * is replaced by a `-32603` answer (a response) or dropped with a log line (a notification).
 */
import { AbstractMessageWriter, type Message, type MessageWriter } from 'vscode-jsonrpc/node';
import { MAX_OUTBOUND_DEPTH } from './framing-limits.js';
import { jsonTextDeeperThan, unserialisableReason } from './message-check.js';
import { yieldToClients } from '../io/turns.js';

/** The size of the pieces a batch is written in, in UTF-16 code units: well inside V8's regular heap objects. */
const WRITE_CHUNK = 32 * 1024;

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
 * Serialised results that handlers froze (a snapshot's whole asset list, an asset's details): immutable, so
 * their JSON and its length in UTF-8 bytes are computed once and reused for every response that carries them.
 * `level` is the deepest level of a message the value may sit at with its JSON still within
 * `MAX_OUTBOUND_DEPTH` (a response's result is level 2).
 */
const frozenResults = new WeakMap<object, Memo>();

/**
 * A memoised JSON text: as one string, or (made by {@link serialiseAhead}) as UTF-8 pieces in order, encoded in
 * slices, so that sending it neither flattens nor encodes megabytes in one task. `bytes` is its UTF-8 length.
 */
type Memo =
  | { readonly json: string; readonly bytes: number; readonly level: number }
  | { readonly pieces: readonly Uint8Array[]; readonly bytes: number; readonly level: number };

/** A message's JSON as parts to write in order (strings as UTF-8), for a message holding an encoded memo. */
type Parts = { readonly parts: readonly (string | Uint8Array)[]; readonly bytes: number };

/**
 * The deepest level a value serialised by {@link serialiseAhead} may sit at: a write's response is also the
 * `outcome` of its terminal event's body (message, params, body, outcome).
 */
const AHEAD_LEVEL = 4;
/** Array items serialised by one `JSON.stringify` in {@link serialiseAhead}. */
const AHEAD_RUN = 256;
/** How long {@link serialiseAhead} works before it lets the event loop run, in ms. */
const AHEAD_SLICE_MS = 3;

/**
 * Computes the JSON of `value`, a frozen result that a response (and a write's terminal event, which carries
 * the same object as its `outcome`) will send, in slices with the event loop let run between them, and
 * memoises it as the response path memoises frozen results: sending it then costs no long task. A pack's
 * answer names every asset of the build set (megabytes at 100k roots), and serialised when sent it held the
 * main thread for hundreds of milliseconds, twice. The text is exactly `JSON.stringify(value)`: long arrays
 * are written by `JSON.stringify` in runs of items, their brackets cut off. A value that is not frozen, not a
 * plain object, or whose text nests too deep is left to the ordinary path (which names the problem).
 *
 * A long frozen array inside `value` is memoised on its own too, at the level it sits at: answers that carry the
 * same array again (every up-to-date pack of one record carries one frozen list of its assets, megabytes at 10k
 * roots) reuse its encoded pieces instead of serialising and encoding it again.
 */
export async function serialiseAhead(value: object): Promise<void> {
  if (!Object.isFrozen(value) || frozenResults.has(value)) return;
  let since = performance.now();
  const pause = async (): Promise<void> => {
    if (performance.now() - since < AHEAD_SLICE_MS) return;
    await yieldToClients();
    since = performance.now();
  };
  const limit = MAX_OUTBOUND_DEPTH - AHEAD_LEVEL + 1;
  // The text in order, each string short (a run of items at most), a memoised array as its encoded pieces; false
  // once `value` must take the ordinary path.
  const texts: (string | Uint8Array)[] = [];
  const write = async (item: unknown, depth: number): Promise<boolean> => {
    if (
      item === null ||
      typeof item !== 'object' ||
      typeof (item as { toJSON?: unknown }).toJSON === 'function' ||
      depth > 2
    )
      return add(plain(item, depth));
    if (Array.isArray(item)) {
      if (Object.getPrototypeOf(item) !== Array.prototype || item.length < AHEAD_RUN) return add(plain(item, depth));
      const level = AHEAD_LEVEL + depth;
      const known = frozenResults.get(item);
      if (known !== undefined && known.level >= level && 'pieces' in known) {
        texts.push(...known.pieces);
        return true;
      }
      const own: string[] = [];
      for (let from = 0; from < item.length; from += AHEAD_RUN) {
        const run = plain(item.slice(from, from + AHEAD_RUN), depth);
        if (run === undefined) return false;
        own.push(from === 0 ? '[' : ',', run.slice(1, -1));
        await pause();
      }
      own.push(']');
      if (!Object.isFrozen(item)) {
        texts.push(...own);
        return true;
      }
      const memo = await encoded(own, level);
      if (!frozenResults.has(item)) frozenResults.set(item, memo);
      texts.push(...memo.pieces);
      return true;
    }
    const prototype = Object.getPrototypeOf(item) as unknown;
    if (prototype !== Object.prototype && prototype !== null) return add(plain(item, depth));
    let first = true;
    for (const key of Object.keys(item)) {
      const member = (item as Record<string, unknown>)[key];
      // What JSON.stringify leaves out of an object.
      if (member === undefined || typeof member === 'function' || typeof member === 'symbol') continue;
      texts.push(`${first ? '{' : ','}${JSON.stringify(key)}:`);
      first = false;
      if (!(await write(member, depth + 1))) return false;
    }
    texts.push(first ? '{}' : '}');
    return true;
  };
  const add = (text: string | undefined): boolean => {
    if (text === undefined) return false;
    texts.push(text);
    return true;
  };
  // One JSON.stringify, checked: its text must not nest deeper than the level it sits at allows.
  const plain = (item: unknown, depth: number): string | undefined => {
    let text: string | undefined;
    try {
      text = JSON.stringify(item);
    } catch {
      return undefined;
    }
    return text === undefined || jsonTextDeeperThan(text, limit - depth) ? undefined : text;
  };
  // Encoded piece by piece, short texts together, in slices too: one string of megabytes would be flattened and
  // encoded in one task when written. Pieces already encoded (a memoised array's) are taken as they are.
  const encoded = async (
    parts: readonly (string | Uint8Array)[],
    level: number,
  ): Promise<{ pieces: Uint8Array[]; bytes: number; level: number }> => {
    const pieces: Uint8Array[] = [];
    let bytes = 0;
    let small = '';
    const flushSmall = (): void => {
      if (small === '') return;
      const piece = Buffer.from(small, 'utf8');
      pieces.push(piece);
      bytes += piece.length;
      small = '';
    };
    for (const part of parts) {
      if (typeof part !== 'string') {
        flushSmall();
        pieces.push(part);
        bytes += part.length;
        continue;
      }
      small += part;
      if (small.length < AHEAD_PIECE) continue;
      flushSmall();
      await pause();
    }
    flushSmall();
    return { pieces, bytes, level };
  };
  if (!(await write(value, 0))) return;
  const memo = await encoded(texts, AHEAD_LEVEL);
  if (!frozenResults.has(value)) frozenResults.set(value, memo);
}

/** Characters of short texts gathered into one encoded piece by {@link serialiseAhead}. */
const AHEAD_PIECE = 16 * 1024;

/**
 * Whether `value` holds, within `levels` levels of plain objects below it (arrays are not looked into), a
 * frozen object whose JSON is memoised for a level at least as deep as where it sits (`level`).
 */
function holdsMemo(value: unknown, levels: number, level: number): boolean {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  if ((frozenResults.get(value)?.level ?? 0) >= level) return true;
  if (levels === 0 || typeof (value as { toJSON?: unknown }).toJSON === 'function') return false;
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) if (holdsMemo(record[key], levels - 1, level + 1)) return true;
  return false;
}

/**
 * `JSON.stringify(value)` with each memoised frozen object inside it (found as {@link holdsMemo} finds them)
 * written as its memoised text; `level` is where `value` sits in the message.
 */
function spliced(value: unknown, levels: number, level: number): Parts | { reason: string } {
  const parts: (string | Uint8Array)[] = [];
  let bytes = 0;
  const text = (json: string): void => {
    parts.push(json);
    bytes += Buffer.byteLength(json, 'utf8');
  };
  const walk = (item: unknown, levelsLeft: number, at: number): string | undefined => {
    if (item !== null && typeof item === 'object' && !Array.isArray(item)) {
      const memo = frozenResults.get(item);
      if (memo !== undefined && memo.level >= at) {
        if ('json' in memo) parts.push(memo.json);
        else parts.push(...memo.pieces);
        bytes += memo.bytes;
        return undefined;
      }
      if (levelsLeft > 0 && typeof (item as { toJSON?: unknown }).toJSON !== 'function') {
        const record = item as Record<string, unknown>;
        let first = true;
        for (const key of Object.keys(record)) {
          const member = record[key];
          if (member === undefined || typeof member === 'function' || typeof member === 'symbol') continue;
          text(`${first ? '{' : ','}${JSON.stringify(key)}:`);
          first = false;
          const reason = walk(member, levelsLeft - 1, at + 1);
          if (reason !== undefined) return reason;
        }
        text(first ? '{}' : '}');
        return undefined;
      }
    }
    const serialised = stringify(item, at);
    if ('reason' in serialised) return serialised.reason;
    text(serialised.json);
    return undefined;
  };
  const reason = walk(value, levels, level);
  return reason !== undefined ? { reason } : { parts, bytes };
}

/** How many levels below a notification {@link serialise} looks for memoised objects (a terminal event's outcome). */
const NOTIFICATION_MEMO_LEVELS = AHEAD_LEVEL - 1;

/** What is sent for one message: its JSON and, when already known, its length in UTF-8 bytes. */
type Serialised = { json: string; bytes?: number } | { reason: string };

/**
 * The JSON of a value, or why it cannot be sent. `JSON.stringify` runs first and its text is scanned for
 * the depth (cheaper than walking the value, and allocation-free); a value it refuses (a BigInt, a cycle, a
 * throwing `toJSON`) or whose text nests too deep is walked to say why.
 */
function stringify(value: unknown, level = 1): { json: string } | { reason: string } {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (error) {
    return {
      reason:
        unserialisableReason(value, MAX_OUTBOUND_DEPTH, level) ??
        `serialising it failed: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
  // A message is an object, so undefined only comes from a toJSON that returned nothing.
  if (json === undefined) return { reason: 'it serialises to nothing' };
  if (jsonTextDeeperThan(json, MAX_OUTBOUND_DEPTH - level + 1))
    return {
      reason:
        unserialisableReason(value, MAX_OUTBOUND_DEPTH, level) ?? `it nests deeper than ${MAX_OUTBOUND_DEPTH} levels`,
    };
  return { json };
}

/** The JSON of a message, or why it cannot be sent; a frozen result's JSON is memoised. */
function serialise(message: Message): Serialised | Parts {
  const response = message as { jsonrpc?: string; id?: unknown; result?: unknown; error?: unknown };
  const result = response.result;
  if (result === null || typeof result !== 'object' || !Object.isFrozen(result) || 'error' in response) {
    // A terminal event carries its write's response, serialised ahead when large (see serialiseAhead).
    if (!('id' in response) && holdsMemo(message, NOTIFICATION_MEMO_LEVELS, 1))
      return spliced(message, NOTIFICATION_MEMO_LEVELS, 1);
    return stringify(message);
  }
  let memo = frozenResults.get(result);
  if (memo === undefined) {
    // The result sits one level below the response object, which counts towards the limit.
    const serialised = stringify(result, 2);
    if ('reason' in serialised) return serialised;
    memo = { json: serialised.json, bytes: Buffer.byteLength(serialised.json, 'utf8'), level: 2 };
    frozenResults.set(result, memo);
  }
  // A number id (what clients send) needs no check; anything else goes through the checked path.
  const id = typeof response.id === 'number' ? { json: JSON.stringify(response.id) } : stringify(response.id);
  if ('reason' in id) return id;
  const head = `{"jsonrpc":${JSON.stringify(response.jsonrpc)},"id":${id.json},"result":`;
  const bytes = Buffer.byteLength(head, 'utf8') + memo.bytes + 1;
  if ('pieces' in memo) return { parts: [head, ...memo.pieces, '}'], bytes };
  return { json: `${head}${memo.json}}`, bytes };
}

/**
 * What is sent instead of a message that cannot be serialised: a response becomes a `-32603` error naming
 * why (an error response keeps its code and message, without its `data`); anything else is dropped.
 */
function replacement(message: Message, reason: string): string | undefined {
  const candidate = message as { id?: unknown; result?: unknown; error?: { code?: unknown; message?: unknown } };
  if (!('id' in candidate) || !('result' in candidate || 'error' in candidate)) return undefined;
  const id = typeof candidate.id === 'string' || typeof candidate.id === 'number' ? candidate.id : null;
  const original = candidate.error;
  const error =
    original !== undefined && typeof original.code === 'number' && typeof original.message === 'string'
      ? { code: original.code, message: `${original.message} (its data was not sent: ${reason})` }
      : { code: -32603, message: `Internal error: the result could not be sent because ${reason}.` };
  return JSON.stringify({ jsonrpc: '2.0', id, error });
}

/** The connection's outbound queue (see the top of this file); vscode-jsonrpc's `MessageWriter`. */
export class OutboundWriter extends AbstractMessageWriter implements MessageWriter {
  /** Invariant: messages accepted but not yet handed to the stream, in call order. */
  private pending: Pending[] = [];
  /** Invariant: true while a flush is scheduled or waiting for the stream to drain. */
  private scheduled = false;
  /** Invariant: true while the stream asked to drain; only then are progress events merged. */
  private backedUp = false;
  private closed = false;
  /** Invariant: stream writes of a flush whose callback has not come yet (the last write of each flush counts). */
  private writing = 0;
  /** Invariant: callbacks of `whenWritten`, run once nothing is pending or being written (or the stream closed). */
  private writtenWaiters: (() => void)[] = [];
  /** How many progress events were merged away; for tests and the server log. */
  mergedCount = 0;

  /** `log` hears about messages that could not be serialised (stderr in the stdio entry). */
  constructor(
    private readonly output: NodeJS.WritableStream,
    private readonly log: (message: string) => void = (message) => process.stderr.write(`${message}\n`),
  ) {
    super();
    output.on('error', (error: Error) => this.fireError(error));
    output.on('close', () => {
      this.closed = true;
      this.whenIdle();
      this.fireClose();
    });
  }

  /** Calls `run` once every message accepted so far has been handed to the operating system. */
  whenWritten(run: () => void): void {
    this.writtenWaiters.push(run);
    this.whenIdle();
  }

  /** Runs the `whenWritten` callbacks when nothing waits to be written. */
  private whenIdle(): void {
    if (!this.closed && (this.scheduled || this.pending.length > 0 || this.writing > 0)) return;
    for (const run of this.writtenWaiters.splice(0)) run();
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
      this.whenIdle();
      return;
    }
    const batch = this.pending;
    this.pending = [];
    // The batch goes out in pieces of about WRITE_CHUNK characters, a large body on its own: one string of a
    // whole burst (a megabyte when every file's diagnostics are published at open) would be flattened into V8's
    // large-object space on writing, and such allocations bring the next full collection of the heap forward.
    let ready = true;
    let text = '';
    for (const item of batch) {
      const body = this.bodyOf(item.message);
      if (body === undefined) continue;
      if ('parts' in body) {
        // Encoded ahead (see serialiseAhead): written piece by piece, never joined.
        if (text !== '') ready = this.output.write(text, 'utf8') && ready;
        text = '';
        ready = this.output.write(`Content-Length: ${body.bytes}\r\n\r\n`, 'utf8') && ready;
        for (const part of body.parts)
          ready = (typeof part === 'string' ? this.output.write(part, 'utf8') : this.output.write(part)) && ready;
        continue;
      }
      const header = `Content-Length: ${body.bytes ?? Buffer.byteLength(body.json, 'utf8')}\r\n\r\n`;
      if (body.json.length >= WRITE_CHUNK) {
        if (text !== '') ready = this.output.write(text, 'utf8') && ready;
        text = '';
        ready = this.output.write(header, 'utf8') && ready;
        ready = this.output.write(body.json, 'utf8') && ready;
        continue;
      }
      text += header + body.json;
      if (text.length >= WRITE_CHUNK) {
        ready = this.output.write(text, 'utf8') && ready;
        text = '';
      }
    }
    this.writing++;
    // Writes leave in order, so the callback of the flush's last one (an empty one when all were large) means all did.
    ready =
      this.output.write(text, 'utf8', () => {
        this.writing--;
        this.whenIdle();
      }) && ready;
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

  /** The JSON to send for a message (with its byte length when known), or undefined when it is dropped (logged). */
  private bodyOf(message: Message): { json: string; bytes?: number } | Parts | undefined {
    const serialised = serialise(message);
    if ('json' in serialised || 'parts' in serialised) return serialised;
    const method = (message as { method?: unknown }).method;
    const what =
      typeof method === 'string'
        ? `the ${method} message`
        : `the response to ${String((message as { id?: unknown }).id)}`;
    const sent = replacement(message, serialised.reason);
    this.log(
      `Could not send ${what}: ${serialised.reason}; ${sent === undefined ? 'dropped it' : 'sent an error answer instead'}.`,
    );
    return sent === undefined ? undefined : { json: sent };
  }

  end(): void {
    this.flush();
  }
}
