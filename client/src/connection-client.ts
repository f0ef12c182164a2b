/**
 * `PackerConnection`: the typed packer client over any vscode-jsonrpc `MessageConnection`, any reader/writer
 * pair (a WebSocket, a worker port), or a connection another library owns and has started, such as
 * vscode-languageclient's `LanguageClient` (`fromEndpoint`), for environments without Node streams or
 * processes (a browser page) and for editor extensions that run one server for the standard LSP surface and
 * the packer's own requests. It sends typed requests derived from the protocol's declarations, follows
 * writes as operation handles, and reports events; the transport's owner decides how it ends.
 */
import {
  StandardErrorCodes,
  packerNotifications,
  packerRequests,
  type ApplyResult,
  type InitializeResult,
  type NotificationDeclaration,
  type PackerEvent,
  type ParamsOf,
  type RequestDeclaration,
  type ResultOf,
} from '@prometeu/packer-protocol';
import {
  CancellationTokenSource,
  createMessageConnection,
  type CancellationToken,
  type MessageConnection,
  type MessageReader,
  type MessageWriter,
} from 'vscode-jsonrpc';
import {
  ClientStateError,
  ConnectionClosedError,
  PackerRequestError,
  RequestCancelledError,
  ServerTimeoutError,
  type PackerClientError,
} from './errors.js';
import { resumeEvents, type ResumeFrom, type ResumeOptions, type ResumeResult } from './event-feed.js';
import {
  startOperation,
  submitMutationOperation,
  type OperationHandle,
  type OperationHost,
  type OperationOptions,
  type OperationParams,
  type SubmitOptions,
  type SubmitParams,
} from './operations.js';
import type {
  EndpointDisposable,
  JsonRpcEndpoint,
  NotificationParamsOf,
  RequestOptions,
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

/** Where a wire delivers what it hears: notifications, and the end of the connection. */
interface WireSink {
  notification(method: string, params: unknown): void;
  closed(error: PackerClientError): void;
}

/** What the client needs of whatever carries its messages. */
interface Wire {
  /** Whether this client owns the connection's lifecycle (runs `initialize`, `shutdown` and `exit`). */
  readonly ownsLifecycle: boolean;
  request<R>(method: string, params: unknown, token: CancellationToken): Promise<R>;
  notify(method: string, params: unknown): Promise<void>;
  /** Makes sure notifications named `method` reach the sink (a no-op where all of them already do). */
  listen(method: string): void;
  /** Releases the connection: disposes one the client owns, detaches from one it does not. */
  close(): void;
}

/** A wire over a vscode-jsonrpc connection the client owns: it starts listening, and disposes it at the end. */
function messageConnectionWire(connection: MessageConnection, sink: WireSink): Wire {
  connection.onNotification((method, params) => sink.notification(method, params));
  connection.onClose(() => sink.closed(new ConnectionClosedError('The connection to the packer server closed.')));
  connection.onError(([error, message]) => {
    if (message === undefined)
      sink.closed(new ConnectionClosedError(`Reading from the packer server failed: ${error.message}`));
  });
  connection.listen();
  return {
    ownsLifecycle: true,
    request: <R>(method: string, params: unknown, token: CancellationToken) =>
      params === undefined
        ? connection.sendRequest<R>(method, token)
        : connection.sendRequest<R>(method, params, token),
    notify: (method, params) =>
      params === undefined ? connection.sendNotification(method) : connection.sendNotification(method, params),
    listen: () => undefined,
    close: () => connection.dispose(),
  };
}

/**
 * A wire over an endpoint someone else owns (a `LanguageClient`): one handler per notification method,
 * registered when first needed and removed on close; the endpoint itself is left running.
 */
function endpointWire(endpoint: JsonRpcEndpoint, sink: WireSink): Wire {
  /** Invariant: the endpoint handler of every method this wire listens to, until `close`. */
  const handlers = new Map<string, EndpointDisposable>();
  let closed = false;
  const listen = (method: string): void => {
    if (closed || handlers.has(method)) return;
    handlers.set(
      method,
      endpoint.onNotification(method, (params) => sink.notification(method, params)),
    );
  };
  listen(packerNotifications.event.method);
  return {
    ownsLifecycle: false,
    request: <R>(method: string, params: unknown, token: CancellationToken) =>
      params === undefined ? endpoint.sendRequest<R>(method, token) : endpoint.sendRequest<R>(method, params, token),
    notify: (method, params) =>
      params === undefined ? endpoint.sendNotification(method) : endpoint.sendNotification(method, params),
    listen,
    close: () => {
      closed = true;
      for (const handler of handlers.values()) handler.dispose();
      handlers.clear();
    },
  };
}

// The class gains the derived request methods through this declaration and the prototype loop below.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging, @typescript-eslint/no-empty-object-type
export interface PackerConnection extends ConnectionRequestMethods {}

/** A typed packer client over a message connection the caller owns. */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class PackerConnection implements OperationHost {
  private readonly wire: Wire;
  /** Invariant: set once, when the connection closes or fails; every later request rejects with it. */
  private failure: PackerClientError | undefined;
  private readonly eventListeners = new Set<(event: PackerEvent) => void>();
  private readonly notificationListeners = new Map<string, Set<(params: unknown) => void>>();
  private readonly exitListeners = new Set<() => void>();
  /** Invariant: the reject function of every request not yet settled, removed when it settles. */
  private readonly pending = new Set<(error: PackerClientError) => void>();
  /** Makes this connection's operation ids unique across connections and processes. */
  private readonly operationIdPrefix = `k${Math.random().toString(36).slice(2, 10)}`;
  private operationCounter = 0;

  /** Wraps a connection; it must not be listening yet. */
  static fromMessageConnection(connection: MessageConnection): PackerConnection {
    return new PackerConnection((sink) => messageConnectionWire(connection, sink));
  }

  /** Builds the connection from a reader and a writer (for example {@link WebSocketMessageReader} and its writer). */
  static fromReaderWriter(reader: MessageReader, writer: MessageWriter): PackerConnection {
    return PackerConnection.fromMessageConnection(createMessageConnection(reader, writer));
  }

  /**
   * Uses a connection another library owns and has already started, such as vscode-languageclient's
   * `LanguageClient`: it ran `initialize` and owns `shutdown`, so this connection's {@link start} refuses and
   * {@link stop} only detaches. It takes the endpoint's handler of `packer/event` (and of each method given to
   * {@link onNotification}); listen to those through this connection, not the endpoint. Cancelling a request
   * goes through the endpoint's token, so the server receives `$/cancelRequest`.
   */
  static fromEndpoint(endpoint: JsonRpcEndpoint): PackerConnection {
    return new PackerConnection((sink) => endpointWire(endpoint, sink));
  }

  private constructor(attach: (sink: WireSink) => Wire) {
    this.wire = attach({
      notification: (method, params) => this.dispatch(method, params),
      closed: (error) => this.end(error),
    });
  }

  /** The error that ended the connection, if it ended. */
  get error(): PackerClientError | undefined {
    return this.failure;
  }

  /**
   * Sends `initialize` (no process id: a page has none) and `initialized`, and returns the server's answer.
   * Rejects with a `ClientStateError` on a connection from {@link fromEndpoint}: its owner did the handshake.
   */
  async start(options: ConnectionStartOptions = {}): Promise<InitializeResult> {
    if (!this.wire.ownsLifecycle)
      throw new ClientStateError('This connection uses an endpoint that ran initialize itself; do not start it.');
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
    await this.wire.notify('initialized', {});
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
    try {
      await this.wire.notify(declaration.method, params);
    } catch (error) {
      throw this.toError(declaration.method, error);
    }
  }

  /** A new operation id, unique to this connection (a random prefix and a counter). */
  newOperationId(): string {
    this.operationCounter++;
    return `${this.operationIdPrefix}-${this.operationCounter}`;
  }

  /** Sends a write with an operation id after subscribing to its events (see `PackerClient.startOperation`). */
  startOperation<D extends RequestDeclaration>(
    declaration: D,
    params: OperationParams<D>,
    options?: OperationOptions,
  ): OperationHandle<ResultOf<D>> {
    return startOperation(this, declaration, params, options);
  }

  /** {@link startOperation} for `packer/applyMutation`. */
  applyMutationOperation(
    params: OperationParams<Requests['applyMutation']>,
    options?: OperationOptions,
  ): OperationHandle<ResultOf<Requests['applyMutation']>> {
    return this.startOperation(packerRequests.applyMutation, params, options);
  }

  /** {@link startOperation} for `packer/pack`: its `events` carry the per-asset progress. */
  packOperation(
    params: OperationParams<Requests['pack']>,
    options?: OperationOptions,
  ): OperationHandle<ResultOf<Requests['pack']>> {
    return this.startOperation(packerRequests.pack, params, options);
  }

  /** {@link startOperation} for `packer/reconcile`. */
  reconcileOperation(
    params: OperationParams<Requests['reconcile']>,
    options?: OperationOptions,
  ): OperationHandle<ResultOf<Requests['reconcile']>> {
    return this.startOperation(packerRequests.reconcile, params, options);
  }

  /** Sends `packer/submitMutation` and follows it to its terminal event (see `PackerClient.submitMutationOperation`). */
  submitMutationOperation(params: SubmitParams, options?: SubmitOptions): OperationHandle<ApplyResult> {
    return submitMutationOperation(this, params, options);
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
    this.wire.listen(method);
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

  /**
   * Sends `shutdown` and `exit` when the connection is still up, then disposes it. On a connection from
   * {@link fromEndpoint} it sends nothing and only detaches (the endpoint's owner stops the server). Pending
   * requests reject with a `ConnectionClosedError`. Never rejects.
   */
  async stop(): Promise<void> {
    if (this.failure === undefined && this.wire.ownsLifecycle) {
      await this.send('shutdown', undefined, { timeoutMs: 5_000 }).catch(() => undefined);
      await this.wire.notify('exit', undefined).catch(() => undefined);
    }
    this.end(new ConnectionClosedError('The connection was stopped.'));
  }

  /**
   * Sends one request and settles exactly once: the answer, an error response, an abort (at once, or with
   * the server's answer under `awaitCancellation`), a timeout, or the end of the connection.
   */
  private send<R>(method: string, params: unknown, options: RequestOptions): Promise<R> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const { signal, timeoutMs } = options;
    if (signal?.aborted) return Promise.reject(new RequestCancelledError(method, 'aborted'));
    return new Promise<R>((resolve, reject) => {
      const source = new CancellationTokenSource();
      let settled = false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const settle = (outcome: () => void): void => {
        if (settled) return;
        settled = true;
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.pending.delete(onEnd);
        outcome();
        source.dispose();
      };
      const onEnd = (error: PackerClientError): void => settle(() => reject(error));
      const onAbort = (): void => {
        // Cancelling the token makes the connection send `$/cancelRequest` for this request's id.
        source.cancel();
        if (options.awaitCancellation !== true) settle(() => reject(new RequestCancelledError(method, 'aborted')));
      };
      this.pending.add(onEnd);
      signal?.addEventListener('abort', onAbort, { once: true });
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          source.cancel();
          settle(() => reject(new ServerTimeoutError('request', method, timeoutMs)));
        }, timeoutMs);
      }
      let sent: Promise<R>;
      try {
        sent = this.wire.request<R>(method, params, source.token);
      } catch (error) {
        settle(() => reject(this.toError(method, error)));
        return;
      }
      sent.then(
        (result) => settle(() => resolve(result)),
        (error: unknown) => settle(() => reject(this.toError(method, error))),
      );
    });
  }

  /** The client's error for a failed send or an error response (from any copy of vscode-jsonrpc). */
  private toError(method: string, error: unknown): PackerClientError {
    if (this.failure !== undefined) return this.failure;
    const response = responseErrorOf(error);
    if (response === undefined || LOCAL_ERROR_CODES.has(response.code))
      return new ConnectionClosedError(
        `Could not send ${method}: ${error instanceof Error ? error.message : String(error)}`,
      );
    if (response.code === StandardErrorCodes.RequestCancelled)
      return new RequestCancelledError(method, 'server', response.message);
    return new PackerRequestError(method, response.code, response.message, response.data);
  }

  private dispatch(method: string, params: unknown): void {
    if (method === packerNotifications.event.method)
      for (const listener of [...this.eventListeners]) safeCall(listener, params as PackerEvent);
    for (const listener of [...(this.notificationListeners.get(method) ?? [])]) safeCall(listener, params);
  }

  private end(error: PackerClientError): void {
    if (this.failure !== undefined) return;
    this.failure = error;
    for (const reject of [...this.pending]) reject(error);
    this.pending.clear();
    for (const listener of [...this.exitListeners]) safeCall(listener, undefined);
    this.exitListeners.clear();
    this.wire.close();
  }
}

/**
 * vscode-jsonrpc's codes for failures on this side of the wire (a failed write or read, a response dropped
 * because the connection was disposed, a connection not running): the request never got an answer.
 */
const LOCAL_ERROR_CODES = new Set([-32099, -32098, -32097, -32096]);

/**
 * The code, message and data of a vscode-jsonrpc `ResponseError`. Checked by shape, not class: an endpoint
 * such as vscode-languageclient 9 carries its own copy of vscode-jsonrpc, whose errors are not instances of
 * this package's class. `toJson` tells a response error from a `ConnectionError`, which also has a code.
 */
function responseErrorOf(error: unknown): { code: number; message: string; data: unknown } | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const candidate = error as { code?: unknown; message?: unknown; data?: unknown; toJson?: unknown };
  if (typeof candidate.code !== 'number' || typeof candidate.message !== 'string') return undefined;
  if (typeof candidate.toJson !== 'function') return undefined;
  return { code: candidate.code, message: candidate.message, data: candidate.data };
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
