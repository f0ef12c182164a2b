/**
 * `PackerConnection`: the typed packer client over any vscode-jsonrpc `MessageConnection` or any
 * reader/writer pair (a WebSocket, a worker port), for environments without Node streams or processes,
 * such as a browser page. It runs the LSP handshake, sends typed requests derived from the protocol's
 * declarations, and reports events; the transport's owner decides how it ends.
 */
import {
  packerNotifications,
  packerRequests,
  type InitializeResult,
  type NotificationDeclaration,
  type PackerEvent,
  type ParamsOf,
  type RequestDeclaration,
  type ResultOf,
} from '@prometeu/packer-protocol';
import {
  CancellationTokenSource,
  ResponseError,
  createMessageConnection,
  type MessageConnection,
  type MessageReader,
  type MessageWriter,
} from 'vscode-jsonrpc';
import { ConnectionClosedError, PackerRequestError, RequestCancelledError, type PackerClientError } from './errors.js';
import { resumeEvents, type ResumeFrom, type ResumeOptions, type ResumeResult } from './event-feed.js';
import type {
  EventSource,
  NotificationParamsOf,
  NotificationSender,
  RequestOptions,
  RequestSender,
  Unsubscribe,
} from './ports.js';

/** The requests of the protocol, by short name. */
type Requests = typeof packerRequests;

/** One typed method per request of the protocol, as on `PackerClient`. */
export type ConnectionRequestMethods = {
  readonly [K in keyof Requests]: (
    params: ParamsOf<Requests[K]>,
    options?: RequestOptions,
  ) => Promise<ResultOf<Requests[K]>>;
};

/** What `start` sends in `initialize`. */
export interface ConnectionStartOptions {
  readonly clientInfo?: { readonly name: string; readonly version?: string };
  readonly workspaceFolders?: readonly { readonly uri: string; readonly name: string }[] | null;
}

// The class gains the derived request methods through this declaration and the prototype loop below.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging, @typescript-eslint/no-empty-object-type
export interface PackerConnection extends ConnectionRequestMethods {}

/** A typed packer client over a message connection the caller owns. */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class PackerConnection implements RequestSender, NotificationSender, EventSource {
  private readonly connection: MessageConnection;
  /** Invariant: set once, when the connection closes or fails; every later request rejects with it. */
  private failure: PackerClientError | undefined;
  private readonly eventListeners = new Set<(event: PackerEvent) => void>();
  private readonly notificationListeners = new Map<string, Set<(params: unknown) => void>>();
  private readonly exitListeners = new Set<() => void>();

  /** Wraps a connection; it must not be listening yet. */
  static fromMessageConnection(connection: MessageConnection): PackerConnection {
    return new PackerConnection(connection);
  }

  /** Builds the connection from a reader and a writer (for example {@link WebSocketMessageReader} and its writer). */
  static fromReaderWriter(reader: MessageReader, writer: MessageWriter): PackerConnection {
    return new PackerConnection(createMessageConnection(reader, writer));
  }

  private constructor(connection: MessageConnection) {
    this.connection = connection;
    connection.onNotification((method, params) => this.dispatch(method, params));
    connection.onClose(() => this.end(new ConnectionClosedError('The connection to the packer server closed.')));
    connection.onError(([error, message]) => {
      if (message === undefined)
        this.end(new ConnectionClosedError(`Reading from the packer server failed: ${error.message}`));
    });
    connection.listen();
  }

  /** The error that ended the connection, if it ended. */
  get error(): PackerClientError | undefined {
    return this.failure;
  }

  /** Sends `initialize` (no process id: a page has none) and `initialized`, and returns the server's answer. */
  async start(options: ConnectionStartOptions = {}): Promise<InitializeResult> {
    const result = await this.send<InitializeResult>(
      'initialize',
      {
        processId: null,
        clientInfo: options.clientInfo ?? { name: 'packer-connection' },
        rootUri: null,
        workspaceFolders: options.workspaceFolders ?? null,
        capabilities: {},
      },
      {},
    );
    await this.connection.sendNotification('initialized', {});
    return result;
  }

  /** Sends a request of the protocol, typed from its declaration. */
  request<D extends RequestDeclaration>(
    declaration: D,
    params: ParamsOf<D>,
    options?: RequestOptions,
  ): Promise<ResultOf<D>> {
    return this.send<ResultOf<D>>(declaration.method, params, options ?? {});
  }

  /** Sends a notification of the protocol. */
  async sendNotification<D extends NotificationDeclaration>(
    declaration: D,
    params: NotificationParamsOf<D>,
  ): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    await this.connection.sendNotification(declaration.method, params);
  }

  /** Replays `projectId`'s events after `from` (see `PackerClient.resume`). */
  resume(projectId: string, from: ResumeFrom, options?: ResumeOptions): Promise<ResumeResult> {
    return resumeEvents(this, projectId, from, options);
  }

  /** Calls `listener` with every `packer/event`, in the order the server sent them. */
  onEvent(listener: (event: PackerEvent) => void): Unsubscribe {
    this.eventListeners.add(listener);
    return () => void this.eventListeners.delete(listener);
  }

  /** Calls `listener` with the params of each notification named `method`. */
  onNotification(method: string, listener: (params: unknown) => void): Unsubscribe {
    let listeners = this.notificationListeners.get(method);
    if (listeners === undefined) this.notificationListeners.set(method, (listeners = new Set()));
    listeners.add(listener);
    return () => void listeners.delete(listener);
  }

  /** Calls `listener` once when the connection ends (at once, asynchronously, when it already has). */
  onExit(listener: () => void): Unsubscribe {
    if (this.failure !== undefined) {
      queueMicrotask(listener);
      return () => undefined;
    }
    this.exitListeners.add(listener);
    return () => void this.exitListeners.delete(listener);
  }

  /** Sends `shutdown` and `exit` when the connection is still up, then disposes it. Never rejects. */
  async stop(): Promise<void> {
    if (this.failure === undefined) {
      await this.send('shutdown', undefined, { timeoutMs: 5_000 }).catch(() => undefined);
      await this.connection.sendNotification('exit').catch(() => undefined);
    }
    this.end(new ConnectionClosedError('The connection was stopped.'));
  }

  private send<R>(method: string, params: unknown, options: RequestOptions): Promise<R> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (options.signal?.aborted) return Promise.reject(new RequestCancelledError(method, 'aborted'));
    const source = new CancellationTokenSource();
    const onAbort = (): void => source.cancel();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const sent =
      params === undefined
        ? this.connection.sendRequest<R>(method, source.token)
        : this.connection.sendRequest<R>(method, params, source.token);
    return sent.then(
      (result) => {
        options.signal?.removeEventListener('abort', onAbort);
        return result;
      },
      (error: unknown) => {
        options.signal?.removeEventListener('abort', onAbort);
        if (this.failure !== undefined) throw this.failure;
        if (error instanceof ResponseError) {
          if (error.code === -32800) throw new RequestCancelledError(method, 'server', error.message);
          throw new PackerRequestError(method, error.code, error.message, error.data);
        }
        throw new ConnectionClosedError(
          `Could not send ${method}: ${error instanceof Error ? error.message : String(error)}`,
        );
      },
    );
  }

  private dispatch(method: string, params: unknown): void {
    if (method === packerNotifications.event.method)
      for (const listener of [...this.eventListeners]) safeCall(listener, params as PackerEvent);
    for (const listener of [...(this.notificationListeners.get(method) ?? [])]) safeCall(listener, params);
  }

  private end(error: PackerClientError): void {
    if (this.failure !== undefined) return;
    this.failure = error;
    for (const listener of [...this.exitListeners]) safeCall(listener, undefined);
    this.exitListeners.clear();
    this.connection.dispose();
  }
}

function safeCall<T>(listener: (value: T) => void, value: T): void {
  try {
    listener(value);
  } catch {
    // A listener's failure is its own.
  }
}

// The typed request methods, one per declaration of `packerRequests`.
for (const [name, declaration] of Object.entries(packerRequests) as [keyof Requests, RequestDeclaration][]) {
  Object.defineProperty(PackerConnection.prototype, name, {
    value: function (this: PackerConnection, params: unknown, options?: RequestOptions): Promise<unknown> {
      return this.request(declaration, params, options);
    },
    writable: true,
    configurable: true,
  });
}
