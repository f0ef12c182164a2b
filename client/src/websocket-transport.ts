/**
 * A vscode-jsonrpc `MessageReader` and `MessageWriter` over a WebSocket: one JSON-RPC message per text
 * frame. Environment-neutral: it takes anything shaped like the browser's `WebSocket` (the `ws` package's
 * sockets are too), so the packer panel in a browser is just another packer client.
 */
import {
  AbstractMessageReader,
  AbstractMessageWriter,
  type DataCallback,
  type Disposable,
  type Message,
} from 'vscode-jsonrpc';

/** What the transport needs of a WebSocket: the browser's `WebSocket` and `ws`'s sockets both fit. */
export interface WebSocketLike {
  /** 0 connecting, 1 open, 2 closing, 3 closed. */
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'message', listener: (event: { readonly data: unknown }) => void): void;
  addEventListener(type: 'close', listener: (event: { readonly code: number; readonly reason: string }) => void): void;
  addEventListener(type: 'error', listener: (event: unknown) => void): void;
}

const OPEN = 1;

/** Reads one JSON-RPC message from each text frame; a frame that is not JSON is reported as an error. */
export class WebSocketMessageReader extends AbstractMessageReader {
  /** Invariant: set by `listen`, once; frames before it are kept in `early`. */
  private callback: DataCallback | undefined;
  private readonly early: Message[] = [];

  /** Starts reading `socket` at once, so no frame is lost before `listen`. */
  constructor(socket: WebSocketLike) {
    super();
    socket.addEventListener('message', (event) => {
      const text = typeof event.data === 'string' ? event.data : String(event.data);
      let message: Message;
      try {
        message = JSON.parse(text) as Message;
      } catch (error) {
        this.fireError(error);
        return;
      }
      if (this.callback === undefined) this.early.push(message);
      else this.callback(message);
    });
    socket.addEventListener('error', (event) => this.fireError(event));
    socket.addEventListener('close', () => this.fireClose());
  }

  /** Delivers every message to `callback`, first those that arrived before. */
  listen(callback: DataCallback): Disposable {
    this.callback = callback;
    for (const message of this.early.splice(0)) callback(message);
    return { dispose: () => (this.callback = undefined) };
  }
}

/** Writes each JSON-RPC message as one text frame; writing to a socket that is not open fails. */
export class WebSocketMessageWriter extends AbstractMessageWriter {
  private readonly socket: WebSocketLike;
  private errors = 0;

  /** Writes to `socket`, which must be open by the time the first message is written. */
  constructor(socket: WebSocketLike) {
    super();
    this.socket = socket;
    socket.addEventListener('close', () => this.fireClose());
  }

  /** Sends one message. */
  write(message: Message): Promise<void> {
    if (this.socket.readyState !== OPEN) {
      const error = new Error('The WebSocket is not open.');
      this.fireError(error, message, ++this.errors);
      return Promise.reject(error);
    }
    this.socket.send(JSON.stringify(message));
    return Promise.resolve();
  }

  /** Nothing is buffered here. */
  end(): void {}
}
