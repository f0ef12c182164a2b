/**
 * The narrow interfaces through which operation handles and event feeds use a connection: send a request,
 * send a notification, hear events and notifications, learn that the connection ended. `PackerClient`
 * implements them; nothing here knows the client class, so nothing imports it back.
 */
import type {
  NotificationDeclaration,
  PackerEvent,
  ParamsOf,
  RequestDeclaration,
  ResultOf,
} from '@prometeu/packer-protocol';
import type { CancellationToken, NotificationType } from 'vscode-jsonrpc';
import type { PackerClientError } from './errors.js';

/** Per-request options. */
export interface RequestOptions {
  /** Aborting it sends `$/cancelRequest` and rejects the request with a `RequestCancelledError`. */
  readonly signal?: AbortSignal;
  /** Overrides the client's `requestTimeoutMs` for this request. */
  readonly timeoutMs?: number;
  /**
   * When `signal` aborts after the request was sent, send `$/cancelRequest` but settle with the server's
   * answer: its `RequestCancelled` (a `RequestCancelledError` with `by: 'server'`), or the result when
   * the request had finished or cannot be cancelled. Default false: reject at once.
   */
  readonly awaitCancellation?: boolean;
}

/** A listener's unsubscribe function. */
export type Unsubscribe = () => void;

/** The params type of a notification declaration, as a client sends it. */
export type NotificationParamsOf<D> = D extends { readonly type: NotificationType<infer P> } ? P : never;

/** Sends typed requests of the protocol. */
export interface RequestSender {
  /** Sends the request `declaration` declares, with its typed params, and resolves with its typed result. */
  request<D extends RequestDeclaration>(
    declaration: D,
    params: ParamsOf<D>,
    options?: RequestOptions,
  ): Promise<ResultOf<D>>;
}

/** Sends typed notifications of the protocol. */
export interface NotificationSender {
  /** Sends the notification `declaration` declares; resolves once it is written. */
  sendNotification<D extends NotificationDeclaration>(declaration: D, params: NotificationParamsOf<D>): Promise<void>;
}

/** Where the server's events and notifications, and the end of the connection, are heard. */
export interface EventSource {
  /** Calls `listener` with every `packer/event`, in the order the server sent them. */
  onEvent(listener: (event: PackerEvent) => void): Unsubscribe;
  /** Calls `listener` with the params of each notification named `method`. */
  onNotification(method: string, listener: (params: unknown) => void): Unsubscribe;
  /** Calls `listener` once when the connection ends (at once, asynchronously, when it already has). */
  onExit(listener: () => void): Unsubscribe;
  /** The error that ended the connection, if one did. */
  readonly error: PackerClientError | undefined;
}

/** Something that can be disposed: what an endpoint returns for a notification handler. */
export interface EndpointDisposable {
  dispose(): void;
}

/**
 * A JSON-RPC connection another library owns and has already started: vscode-languageclient's
 * `LanguageClient` (which runs the LSP handshake and the standard surface itself), or a vscode-jsonrpc
 * `MessageConnection` that is already listening. These are the only calls `PackerConnection.fromEndpoint`
 * makes, with these exact arities: a request with no params is sent without a params argument, and a token
 * is always the last argument. The endpoint may keep one handler per notification method, as both of those
 * do, so the packer connection registers each method once and fans it out to its own listeners.
 */
export interface JsonRpcEndpoint {
  /** Sends a request with no params; cancelling `token` sends `$/cancelRequest`. */
  sendRequest<R>(method: string, token?: CancellationToken): Promise<R>;
  /** Sends a request; cancelling `token` sends `$/cancelRequest`. */
  sendRequest<R>(method: string, params: unknown, token?: CancellationToken): Promise<R>;
  /** Sends a notification with no params. */
  sendNotification(method: string): Promise<void>;
  /** Sends a notification. */
  sendNotification(method: string, params: unknown): Promise<void>;
  /** Sets the handler of the notification `method` (the endpoint may replace an earlier one). */
  onNotification(method: string, handler: (params: unknown) => void): EndpointDisposable;
}
