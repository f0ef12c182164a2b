/**
 * The server's message reader: it decodes LSP base framing itself (`frame-decoder.ts`) and answers what
 * vscode-jsonrpc would only log or choke on. A malformed header is answered `-32700` and the reader
 * resynchronises; an over-long frame is answered `-32600` and skipped; a body that is not JSON gets
 * `-32700`; JSON that is not a JSON-RPC 2.0 message, or nests deeper than the limit, gets `-32600`. Input
 * that cannot be resynchronised ends the connection (the server exits with 1). Valid messages pass on.
 */
import { AbstractMessageReader, type DataCallback, type Disposable, type Message } from 'vscode-jsonrpc/node';
import { FrameDecoder, type FrameDecoderStatistics } from './frame-decoder.js';
import { DEFAULT_FRAMING_LIMITS, type FramingLimits } from './framing-limits.js';
import { answerIdOf, isCall, jsonNestsDeeperThan, messageProblem } from './message-check.js';
import { WriteHold, type ArrivalClassifier, type WriteHoldStatistics } from './write-hold.js';

/** What the reader reports besides its answers, for the server log. */
export type ReaderLog = (message: string) => void;

/** Where the reader sends its error answers: the connection's outbound queue. */
export interface AnswerWriter {
  write(message: Message): Promise<void>;
}

/** Options of a framed reader. */
export interface FramedReaderOptions {
  /** Limits lower than the defaults, for tests. */
  readonly limits?: Partial<FramingLimits>;
  /**
   * Called once when the input cannot be resynchronised, after the reason was logged; the server exits
   * with 1. Without it the reader fires `onClose`.
   */
  readonly onUnrecoverable?: (reason: string) => void;
  /**
   * Classifies each valid message for the write hold (`write-hold.ts`): with it, reads are passed on ahead of
   * write requests still held, and the owner must call {@link FramedMessageReader.dispatched} for every message
   * vscode-jsonrpc takes off its queue. Without it, messages pass on in arrival order.
   */
  readonly classify?: ArrivalClassifier;
}

/**
 * A vscode-jsonrpc `MessageReader` over a byte stream that decodes LSP framing itself and answers broken
 * input through `writer`; only valid JSON-RPC messages within the depth limit reach `listen`'s callback.
 */
export class FramedMessageReader extends AbstractMessageReader {
  private readonly limits: FramingLimits;
  private readonly decoder: FrameDecoder;
  private readonly utf8 = new TextDecoder('utf-8', { fatal: true });
  /** Invariant: set by `listen`, cleared by `dispose`; frames are delivered only while set. */
  private callback: DataCallback | undefined;
  /** Invariant: true once `onClose` fired (or the reader was disposed); it fires at most once. */
  private closed = false;
  /** Invariant: removes the input listeners `listen` added; undefined when none are attached. */
  private detach: (() => void) | undefined;
  /** The write hold, when the reader was given a classifier; valid messages go through it. */
  private readonly hold: WriteHold | undefined;

  constructor(
    private readonly input: NodeJS.ReadableStream,
    private readonly writer: AnswerWriter,
    private readonly log: ReaderLog,
    private readonly options: FramedReaderOptions = {},
  ) {
    super();
    this.limits = { ...DEFAULT_FRAMING_LIMITS, ...options.limits };
    this.hold =
      options.classify !== undefined
        ? new WriteHold(options.classify, (message) => this.callback?.(message))
        : undefined;
    this.decoder = new FrameDecoder(
      {
        frame: (body) => this.deliver(body),
        malformed: (problem) => {
          this.log(`Malformed framing: ${problem}; looking for the next Content-Length header.`);
          this.answer(null, -32700, `Parse error: ${problem}. Input up to the next Content-Length header is skipped.`);
        },
        oversized: (length) => {
          this.log(`Refused a frame of ${length} bytes (the limit is ${this.limits.maxFrameBytes}); skipping it.`);
          this.answer(
            null,
            -32600,
            `Invalid request: a frame of ${length} bytes is longer than the limit of ${this.limits.maxFrameBytes} bytes; its body is skipped.`,
          );
        },
        unrecoverable: (problem) => this.giveUp(problem),
      },
      this.limits,
    );
  }

  /** The decoder's counters: work done and bytes held, for tests and diagnostics. */
  get statistics(): FrameDecoderStatistics {
    return this.decoder.statistics;
  }

  /** The write hold's counters (undefined without a classifier). */
  get holdStatistics(): WriteHoldStatistics | undefined {
    return this.hold?.statistics;
  }

  /** Says that vscode-jsonrpc took `message` off its queue, so the hold may pass the next held message on. */
  dispatched(message: Message): void {
    this.hold?.dispatched(message);
  }

  listen(callback: DataCallback): Disposable {
    this.callback = callback;
    const onData = (chunk: Buffer | string): void => {
      this.decoder.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
    };
    const onEnd = (): void => {
      const problem = this.decoder.endProblem();
      if (problem !== undefined) this.log(`The input ended badly: ${problem}.`);
      // Nothing can overtake any more: what was held goes on in arrival order, as it would have without the hold.
      this.hold?.flush();
      this.close();
    };
    const onError = (error: Error): void => {
      this.log(`The input failed: ${error.message}.`);
      this.fireError(error);
      this.close();
    };
    this.input.on('data', onData);
    this.input.on('end', onEnd);
    this.input.on('close', onEnd);
    this.input.on('error', onError);
    this.detach = () => {
      this.input.off('data', onData);
      this.input.off('end', onEnd);
      this.input.off('close', onEnd);
      this.input.off('error', onError);
    };
    return { dispose: () => this.stopListening() };
  }

  override dispose(): void {
    this.stopListening();
    this.closed = true;
    super.dispose();
  }

  private stopListening(): void {
    this.callback = undefined;
    this.decoder.stop();
    this.detach?.();
    this.detach = undefined;
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopListening();
    this.fireClose();
  }

  private giveUp(problem: string): void {
    this.log(`Unrecoverable framing: ${problem}. Exiting with code 1 so that the client can restart the server.`);
    this.stopListening();
    if (this.options.onUnrecoverable !== undefined) {
      this.closed = true;
      this.options.onUnrecoverable(problem);
    } else this.close();
  }

  /** Checks one frame body and passes it on, or answers why not. */
  private deliver(body: Buffer): void {
    let value: unknown;
    try {
      value = JSON.parse(this.utf8.decode(body));
    } catch (error) {
      const reason = error instanceof TypeError ? 'the frame body is not valid UTF-8' : (error as Error).message;
      this.log(`Unreadable message: ${reason}`);
      this.answer(null, -32700, `Parse error: ${reason}`);
      return;
    }
    const problem = messageProblem(value);
    if (problem !== undefined) {
      this.log(`Invalid message: ${problem}`);
      this.answer(answerIdOf(value), -32600, `Invalid request: ${problem}.`);
      return;
    }
    if (jsonNestsDeeperThan(body, this.limits.maxMessageDepth)) {
      const what = `the message nests arrays and objects deeper than the limit of ${this.limits.maxMessageDepth} levels`;
      const id = answerIdOf(value);
      if (isCall(value) && id !== null) this.answer(id, -32600, `Invalid request: ${what}.`);
      const method = isCall(value) ? String((value as { method: unknown }).method) : 'a response';
      this.log(`Refused ${method}: ${what}.`);
      return;
    }
    if (this.hold !== undefined) this.hold.arrive(value as Message);
    else this.callback?.(value as Message);
  }

  private answer(id: string | number | null, code: number, message: string): void {
    this.writer.write({ jsonrpc: '2.0', id, error: { code, message } } as Message).catch(() => {
      // The other side is gone; nothing to answer.
    });
  }
}
