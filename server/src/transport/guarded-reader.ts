/**
 * A message reader that answers what vscode-jsonrpc would only log: bodies that are not JSON get `-32700`,
 * and JSON that is not a JSON-RPC 2.0 request, notification or response gets `-32600`. Valid messages pass
 * through unchanged.
 */
import type {
  DataCallback,
  Disposable,
  Message,
  MessageReader,
  MessageWriter,
  PartialMessageInfo,
} from 'vscode-jsonrpc/node';
import { Emitter } from 'vscode-jsonrpc/node';

/** What the guard reports besides its answers, for the server log. */
export type GuardLog = (message: string) => void;

function isId(value: unknown): value is string | number {
  return typeof value === 'string' || typeof value === 'number';
}

/** Why a decoded value is not a valid message, or undefined when it is one. */
export function messageProblem(value: unknown): string | undefined {
  if (Array.isArray(value)) return 'batch messages are not supported; send one message per frame';
  if (typeof value !== 'object' || value === null) return 'a message must be a JSON object';
  const message = value as Record<string, unknown>;
  if (message['jsonrpc'] !== '2.0') return 'the "jsonrpc" member must be exactly "2.0"';
  if ('method' in message) {
    if (typeof message['method'] !== 'string') return 'the "method" member must be a string';
    if ('id' in message && message['id'] !== null && !isId(message['id']))
      return 'the "id" member must be a string or a number';
    if ('params' in message && (typeof message['params'] !== 'object' || message['params'] === null))
      return 'the "params" member must be an object or an array';
    return undefined;
  }
  if ('id' in message && ('result' in message || 'error' in message)) return undefined;
  return 'a message needs a "method" (request or notification) or an "id" with a "result" or "error" (response)';
}

export class GuardedMessageReader implements MessageReader {
  private readonly errorEmitter = new Emitter<Error>();
  private readonly closeEmitter = new Emitter<void>();
  private readonly partialEmitter = new Emitter<PartialMessageInfo>();
  private readonly subscriptions: Disposable[] = [];

  constructor(
    private readonly inner: MessageReader,
    private readonly writer: MessageWriter,
    private readonly log: GuardLog,
  ) {
    this.subscriptions.push(
      inner.onError((error) => {
        // The body of a frame was not JSON (or a header was broken): answer with a parse error.
        this.log(`Unreadable message: ${error.message}`);
        void this.answer(null, -32700, `Parse error: ${error.message}`);
      }),
      inner.onClose(() => this.closeEmitter.fire()),
      inner.onPartialMessage((info) => this.partialEmitter.fire(info)),
    );
  }

  get onError() {
    return this.errorEmitter.event;
  }
  get onClose() {
    return this.closeEmitter.event;
  }
  get onPartialMessage() {
    return this.partialEmitter.event;
  }

  listen(callback: DataCallback): Disposable {
    return this.inner.listen((message: Message) => {
      const problem = messageProblem(message);
      if (problem === undefined) {
        callback(message);
        return;
      }
      const raw = message as unknown as Record<string, unknown> | null;
      const id = raw !== null && typeof raw === 'object' && !Array.isArray(raw) && isId(raw['id']) ? raw['id'] : null;
      this.log(`Invalid message: ${problem}`);
      void this.answer(id, -32600, `Invalid request: ${problem}.`);
    });
  }

  private async answer(id: string | number | null, code: number, message: string): Promise<void> {
    try {
      await this.writer.write({ jsonrpc: '2.0', id, error: { code, message } } as Message);
    } catch {
      // The other side is gone; nothing to answer.
    }
  }

  dispose(): void {
    for (const subscription of this.subscriptions) subscription.dispose();
    this.inner.dispose();
  }
}
