/**
 * `PackerClient`: a typed connection to a packer server, spawned over stdio or over streams the caller owns.
 * It wires the streams, runs the LSP lifecycle, turns every failure into a typed error, and never leaves a
 * request or a `stop()` waiting on a dead or hung server. Request mechanics are in `rpc.ts`; its typed
 * request methods are derived from the protocol's `packerRequests`, not restated.
 */
import {
  PackerEvent,
  packerNotifications,
  packerRequests,
  type InitializeResult,
  type NotificationDeclaration,
  type ParamsOf,
  type RequestDeclaration,
  type ResultOf,
} from '@prometeu/packer-protocol';
import { randomUUID } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import {
  StreamMessageReader,
  StreamMessageWriter,
  createMessageConnection,
  type MessageConnection,
} from 'vscode-jsonrpc/node';
import {
  ClientStateError,
  ConnectionClosedError,
  ServerCrashedError,
  ServerProtocolError,
  ServerSpawnError,
  type PackerClientError,
} from './errors.js';
import {
  EventCursors,
  resumeEvents,
  type EventCursor,
  type ResumeFrom,
  type ResumeOptions,
  type ResumeResult,
} from './event-feed.js';
import { FrameGuard, type FramingViolation } from './frame-guard.js';
import {
  startOperation,
  submitMutationOperation,
  type OperationHandle,
  type OperationOptions,
  type OperationParams,
  type SubmitOptions,
  type SubmitParams,
} from './operations.js';
import {
  checkTimeout,
  resolveOptions,
  resolveSpawnOptions,
  type PackerClientOptions,
  type ResolvedOptions,
  type SpawnOptions,
  type TraceValue,
} from './options.js';
import type {
  EventSource,
  NotificationParamsOf,
  NotificationSender,
  RequestOptions,
  RequestSender,
  Unsubscribe,
} from './ports.js';
import { RequestChannel } from './rpc.js';
import { ServerProcess } from './server-process.js';

export type { NotificationParamsOf, RequestOptions, Unsubscribe } from './ports.js';

/** The requests of the protocol, by short name. */
type Requests = typeof packerRequests;
/** The notifications of the protocol, by short name. */
type Notifications = typeof packerNotifications;

/** Where a client is in its life. */
export type ClientState = 'new' | 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';

/** A `window/logMessage` from the server: its own diagnostics, not project state. */
export interface LogMessage {
  /** 1 error, 2 warning, 3 info, 4 log (LSP's `MessageType`). */
  readonly type: 1 | 2 | 3 | 4;
  /** The text. */
  readonly message: string;
}

/** A `$/logTrace` from the server. */
export interface LogTrace {
  /** The trace line. */
  readonly message: string;
  /** More detail when the trace level is `verbose`. */
  readonly verbose?: string;
}

/** A `packer/event` that did not match the protocol's schema (only with `validateEvents`). */
export interface InvalidEvent {
  /** The params as received. */
  readonly params: unknown;
  /** What did not match, as zod reports it. */
  readonly issues: readonly { readonly path: readonly PropertyKey[]; readonly message: string }[];
}

/** How the server connection ended. */
export interface ServerExitInfo {
  /** The process exit code; null when a signal ended it or there is no process (streams). */
  readonly exitCode: number | null;
  /** The signal that ended the process, or null. */
  readonly signal: NodeJS.Signals | null;
  /** True when the end was asked for: `stop()` sent `exit`, or the client killed the server. */
  readonly expected: boolean;
  /** Why the client considers the connection failed, when it does (crash, timeout, protocol error). */
  readonly error: PackerClientError | undefined;
}

/** What `stop()` did. */
export interface StopResult {
  /** The process exit code; null when a signal ended it or there is no process. */
  readonly exitCode: number | null;
  /** The signal that ended the process, or null. */
  readonly signal: NodeJS.Signals | null;
  /** True when the client had to kill the server with SIGKILL. */
  readonly killed: boolean;
  /** True when `shutdown` was answered, `exit` was sent and a spawned server exited with code 0. */
  readonly clean: boolean;
  /** What went wrong, if anything: a {@link ServerTimeoutError} for a hung shutdown, the crash error of a server that had died. */
  readonly error: PackerClientError | undefined;
}

/** What a client is built on. */
interface Transport {
  readonly input: Readable;
  readonly output: Writable;
  readonly server: ServerProcess | undefined;
}

/** Waiting time for the process exit after its stdout closed, or after a SIGKILL, in ms. */
const EXIT_GRACE_MS = 2_000;
/**
 * How long a request that lost its stream waits for the reason, in ms: longer than {@link EXIT_GRACE_MS},
 * so a spawned server's exit (or the kill that follows a stdout closed without one) always decides first.
 */
const LOST_STREAM_GRACE_MS = EXIT_GRACE_MS + 1_000;

/**
 * One typed method per request of the protocol, named as in `packerRequests` (`openProject`, `listAssets`,
 * `pack`...): `client.listAssets(params, options)` is `client.request(packerRequests.listAssets, params,
 * options)`. Derived from the declarations, so a request added to the protocol is a method here at once.
 */
export type ProtocolRequestMethods = {
  readonly [K in keyof Requests]: (
    params: ParamsOf<Requests[K]>,
    options?: RequestOptions,
  ) => Promise<ResultOf<Requests[K]>>;
};

// The class below gains the derived request methods through this declaration and the prototype loop after it.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging, @typescript-eslint/no-empty-object-type
export interface PackerClient extends ProtocolRequestMethods {}

/**
 * A typed client of the packer protocol.
 *
 * Create it with {@link PackerClient.spawn} (the client owns a server process) or
 * {@link PackerClient.fromStreams} (the caller owns the transport), call {@link PackerClient.start}, send
 * requests, then {@link PackerClient.stop}. It keeps no global state and never exits the process, so it
 * works in Node, Electron and VS Code extensions alike.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class PackerClient implements RequestSender, NotificationSender, EventSource {
  private readonly options: ResolvedOptions;
  private readonly connection: MessageConnection;
  private readonly server: ServerProcess | undefined;
  /** Detaches the client from the input stream once the connection ends (the caller may own the stream). */
  private readonly detachInput: () => void;
  /** Invariant: only moves forward (new, starting, running, stopping, stopped), or to failed from any of them but stopped. */
  private clientState: ClientState = 'new';
  /** Invariant: set once, by the first fatal event; every later request rejects with it. */
  private failure: PackerClientError | undefined;
  /** The requests in flight; every one settles when the connection fails or ends. */
  private readonly channel: RequestChannel;
  /** Invariant: called once each when `failure` is set. */
  private readonly failureWaiters = new Set<(error: PackerClientError) => void>();
  /** Invariant: true once the client has asked the server to end (sent `exit`, or killed it). */
  private endRequested = false;
  /** Invariant: true once the client sent SIGKILL. */
  private killedByClient = false;
  private exitInfo: ServerExitInfo | undefined;
  private resolveExited: (info: ServerExitInfo) => void = () => undefined;
  private stopping: Promise<StopResult> | undefined;
  private initializeResult: InitializeResult | undefined;
  private readonly eventListeners = new Set<(event: PackerEvent) => void>();
  private readonly invalidEventListeners = new Set<(event: InvalidEvent) => void>();
  private readonly logListeners = new Set<(message: LogMessage) => void>();
  private readonly traceListeners = new Set<(trace: LogTrace) => void>();
  private readonly exitListeners = new Set<(info: ServerExitInfo) => void>();
  private readonly notificationListeners = new Map<string, Set<(params: unknown) => void>>();
  /** Where this client stands in each project's events. */
  private readonly cursors = new EventCursors();
  /** Makes this client's operation ids unique across clients and processes. */
  private readonly operationIdPrefix = `c${randomUUID().slice(0, 8)}`;
  private operationCounter = 0;

  /** Resolves once, when the server connection has ended (the process exited, or the streams closed). */
  readonly exited: Promise<ServerExitInfo>;

  /**
   * Starts a packer server as a child process and connects to it over its stdin and stdout. The process
   * runs from this call on; call {@link start} next. Throws a `TypeError` for invalid options.
   */
  static spawn(options: SpawnOptions): PackerClient {
    const resolved = resolveOptions(options);
    const spawnOptions = resolveSpawnOptions(options);
    const server = new ServerProcess({
      command: spawnOptions.serverCommand,
      args: spawnOptions.args,
      cwd: spawnOptions.cwd,
      env: spawnOptions.env,
      stderrTailBytes: spawnOptions.stderrTailBytes,
    });
    return new PackerClient(resolved, { input: server.child.stdout, output: server.child.stdin, server });
  }

  /**
   * Connects to a server over streams the caller owns (Electron, a VS Code extension, an in-process server):
   * `readable` carries the server's frames, `writable` takes the client's. Call {@link start} next.
   */
  static fromStreams(readable: Readable, writable: Writable, options: PackerClientOptions = {}): PackerClient {
    return new PackerClient(resolveOptions(options), { input: readable, output: writable, server: undefined });
  }

  private constructor(options: ResolvedOptions, transport: Transport) {
    this.options = options;
    this.server = transport.server;
    this.exited = new Promise<ServerExitInfo>((resolve) => (this.resolveExited = resolve));
    const guard = new FrameGuard((violation) => this.handleFramingViolation(violation));
    const onInputError = (error: Error): void =>
      this.failFatally(new ConnectionClosedError(`Reading from the packer server failed: ${error.message}`));
    transport.input.on('error', onInputError);
    transport.input.pipe(guard);
    this.detachInput = () => {
      transport.input.unpipe(guard);
      transport.input.off('error', onInputError);
    };
    this.connection = createMessageConnection(
      new StreamMessageReader(guard),
      new StreamMessageWriter(transport.output),
      {
        error: (message) => {
          if (message.startsWith('Received message which is neither'))
            this.failFatally(
              new ServerProtocolError(
                'it sent JSON that is not a JSON-RPC message',
                message.slice(message.indexOf(':') + 1).trim(),
              ),
            );
        },
        warn: () => undefined,
        info: () => undefined,
        log: () => undefined,
      },
    );
    this.connection.onError(([error, message]) => {
      // Read errors come without a message; write errors are reported through the request that failed.
      if (message === undefined)
        this.failFatally(new ServerProtocolError(`it sent a message that could not be read (${error.message})`));
    });
    this.channel = new RequestChannel(
      this.connection,
      {
        currentFailure: () => this.failure,
        waitForFailure: (graceMs) => this.waitForFailure(graceMs),
      },
      LOST_STREAM_GRACE_MS,
    );
    this.connection.onClose(() => this.handleConnectionClosed());
    this.connection.onNotification((method, params) => this.dispatchNotification(method, params));
    this.connection.listen();
    if (this.server !== undefined) {
      const server = this.server;
      void server.spawnFailed.then((error) => this.fail(new ServerSpawnError(server.commandLine, error)));
      void server.exited.then((exit) => this.handleProcessExit(exit.exitCode, exit.signal));
    }
  }

  /** Where the client is in its life. */
  get state(): ClientState {
    return this.clientState;
  }

  /** The server process id, for a spawned server that started. */
  get pid(): number | undefined {
    return this.server?.pid;
  }

  /** The `initialize` result, once {@link start} succeeded. */
  get serverInitializeResult(): InitializeResult | undefined {
    return this.initializeResult;
  }

  /** The error that ended the connection, if one did. */
  get error(): PackerClientError | undefined {
    return this.failure;
  }

  /** The last bytes the spawned server wrote to stderr (empty for streams). */
  stderrTail(): string {
    return this.server?.stderrTail() ?? '';
  }

  /**
   * Sends `initialize` (with this process's pid and the workspace folders), then `initialized`, and returns
   * the server's answer. Fails with a {@link ServerTimeoutError} when no answer comes within
   * `initializeTimeoutMs`, a {@link ServerCrashedError} when the server exits, a {@link ServerProtocolError}
   * when it writes garbage, or a {@link PackerRequestError} when it refuses; a spawned server is killed in
   * each of those cases.
   */
  async start(): Promise<InitializeResult> {
    if (this.failure !== undefined && this.initializeResult === undefined && this.clientState !== 'stopped')
      throw this.failure;
    if (this.clientState !== 'new')
      throw new ClientStateError(`start() may be called once, on a new client; this client is ${this.clientState}.`);
    this.clientState = 'starting';
    const params = {
      processId: this.options.processId,
      clientInfo: this.options.clientInfo,
      rootUri: null,
      workspaceFolders:
        this.options.workspaceFolders === null
          ? null
          : this.options.workspaceFolders.map((folder) => ({ uri: folder.uri, name: folder.name })),
      capabilities: {},
      trace: this.options.trace,
      ...(this.options.initializationOptions !== undefined
        ? { initializationOptions: this.options.initializationOptions }
        : {}),
    };
    let result: InitializeResult;
    try {
      result = await this.channel.send<InitializeResult>(
        'initialize',
        params,
        {},
        'initialize',
        this.options.initializeTimeoutMs,
      );
    } catch (error) {
      const failure = error as PackerClientError;
      this.failFatally(failure);
      throw failure;
    }
    if (this.failure !== undefined) throw this.failure;
    this.initializeResult = result;
    this.clientState = 'running';
    void this.connection.sendNotification('initialized', {}).catch(() => undefined);
    return result;
  }

  /**
   * Sends any request of the protocol, typed from its declaration (`packerRequests.x` or one declared
   * later), or any method by name with an untyped result.
   */
  request<D extends RequestDeclaration>(
    declaration: D,
    params: ParamsOf<D>,
    options?: RequestOptions,
  ): Promise<ResultOf<D>>;
  request<R = unknown>(method: string, params?: object, options?: RequestOptions): Promise<R>;
  request(target: RequestDeclaration | string, params?: unknown, options: RequestOptions = {}): Promise<unknown> {
    const method = typeof target === 'string' ? target : target.method;
    const refusal = this.refusal(method);
    if (refusal !== undefined) return Promise.reject(refusal);
    let timeoutMs: number | undefined;
    try {
      timeoutMs = checkTimeout('timeoutMs', options.timeoutMs, this.options.requestTimeoutMs);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    return this.channel.send(method, params, options, 'request', timeoutMs);
  }

  /**
   * `packer/submitMutation`: the notification form of {@link applyMutation}. Resolves once it is written; its
   * outcome arrives as the terminal `packer/event` of its `operationId`.
   */
  submitMutation(params: NotificationParamsOf<Notifications['submitMutation']>): Promise<void> {
    return this.sendNotification(packerNotifications.submitMutation, params);
  }

  /** A new operation id, unique to this client (a random prefix and a counter). */
  newOperationId(): string {
    this.operationCounter++;
    return `${this.operationIdPrefix}-${this.operationCounter}`;
  }

  /**
   * Sends a write (any request declaration whose params take an `operationId`: `packerRequests.pack`,
   * `.applyMutation`, `.reconcile`, `.initWorkspace`) with the caller's `operationId` or a new one, after
   * subscribing to that operation's events. Returns at once with the handle: `outcome` (the response),
   * `events` (ending after the terminal event) and `terminal`.
   */
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

  /**
   * Sends `packer/submitMutation` with the caller's `operationId` or a new one, after subscribing to its
   * events, and follows it to its terminal event: `outcome` resolves with the terminal body's `outcome`
   * (an `ApplyResult`, `applied` or `rejected`), or rejects with the `PackerRequestError` of `body.error`,
   * a `RequestCancelledError` for `operation.cancelled`, a `SubmissionRefusedError` when the server could
   * not attribute it to a project, or the connection's failure. `cancel()` only stops following it.
   */
  submitMutationOperation(
    params: SubmitParams,
    options?: SubmitOptions,
  ): OperationHandle<ResultOf<Requests['applyMutation']>> {
    return submitMutationOperation(this, params, options);
  }

  /**
   * Where this client stands in `projectId`'s events: the epoch and the greatest sequence of the events it
   * received (live, or replayed by {@link resume}). Save it; after a reconnect, pass it to {@link resume}
   * or to a `ProjectEventFeed` to replay what was missed.
   */
  eventCursor(projectId: string): EventCursor | undefined {
    return this.cursors.get(projectId);
  }

  /**
   * Replays `projectId`'s events after `from` (a cursor saved from this or an earlier client; default: this
   * client's own cursor, else everything retained), following `more` until the end. Resolves `replayed`
   * with the events, or `resync` when the server cannot replay them: `epochChanged` (the server restarted;
   * it answered `EpochMismatch`, 1009) or `dropped` (no longer retained). Other errors reject as usual.
   */
  async resume(projectId: string, from?: ResumeFrom, options?: ResumeOptions): Promise<ResumeResult> {
    const start = from ?? this.cursors.get(projectId) ?? { afterSequence: 0 };
    const result = await resumeEvents(this, projectId, start, options);
    this.cursors.noteResume(projectId, result);
    return result;
  }

  /**
   * Sends a notification: a protocol declaration (params typed from it) or a method name. Resolves once it
   * is written.
   */
  sendNotification<D extends NotificationDeclaration>(declaration: D, params: NotificationParamsOf<D>): Promise<void>;
  sendNotification(method: string, params?: object): Promise<void>;
  async sendNotification(target: NotificationDeclaration | string, params?: unknown): Promise<void> {
    const method = typeof target === 'string' ? target : target.method;
    const refusal = this.refusal(method);
    if (refusal !== undefined) throw refusal;
    await this.channel.notify(method, params);
  }

  /** Sets the server's trace level (`$/setTrace`); traces arrive through {@link onLogTrace}. */
  setTrace(value: TraceValue): Promise<void> {
    return this.sendNotification('$/setTrace', { value });
  }

  /**
   * Calls `listener` with every `packer/event` of every open project, in the order the server sent them.
   * Returns the unsubscribe function. A listener that throws does not affect the others.
   */
  onEvent(listener: (event: PackerEvent) => void): Unsubscribe {
    return subscribe(this.eventListeners, listener);
  }

  /** With `validateEvents`, calls `listener` with each `packer/event` that does not match the schema. */
  onInvalidEvent(listener: (event: InvalidEvent) => void): Unsubscribe {
    return subscribe(this.invalidEventListeners, listener);
  }

  /** Calls `listener` with each `window/logMessage` (the server's own diagnostics). */
  onLogMessage(listener: (message: LogMessage) => void): Unsubscribe {
    return subscribe(this.logListeners, listener);
  }

  /** Calls `listener` with each `$/logTrace`. */
  onLogTrace(listener: (trace: LogTrace) => void): Unsubscribe {
    return subscribe(this.traceListeners, listener);
  }

  /** Calls `listener` with the params of each notification named `method` (for methods the client has no typed hook for). */
  onNotification(method: string, listener: (params: unknown) => void): Unsubscribe {
    let listeners = this.notificationListeners.get(method);
    if (listeners === undefined) {
      listeners = new Set();
      this.notificationListeners.set(method, listeners);
    }
    return subscribe(listeners, listener);
  }

  /** Calls `listener` with what a spawned server writes to stderr, chunk by chunk. */
  onStderr(listener: (text: string) => void): Unsubscribe {
    return this.server?.onStderr(listener) ?? (() => undefined);
  }

  /**
   * Calls `listener` once, when the connection ends: a spawned server exited (expectedly or not) or the
   * streams closed. A listener added after the end is called at once (asynchronously).
   */
  onExit(listener: (info: ServerExitInfo) => void): Unsubscribe {
    if (this.exitInfo !== undefined) {
      const info = this.exitInfo;
      queueMicrotask(() => safeCall(listener, info));
      return () => undefined;
    }
    return subscribe(this.exitListeners, listener);
  }

  /**
   * Sends `shutdown` then `exit`, waits for a spawned server to exit, and kills it with SIGKILL when it has
   * not exited within `shutdownTimeoutMs`. Never rejects and never waits forever: what went wrong is in the
   * result. Requests still pending when the connection ends reject with a {@link ConnectionClosedError}.
   * Calling it again returns the same result.
   */
  stop(): Promise<StopResult> {
    this.stopping ??= this.runStop();
    return this.stopping;
  }

  private async runStop(): Promise<StopResult> {
    const deadline = Date.now() + this.options.shutdownTimeoutMs;
    let problem: PackerClientError | undefined = this.failure;
    let answered = false;
    const wasRunning = this.clientState === 'running';
    const alive = this.failure === undefined && this.exitInfo === undefined;
    if (this.clientState !== 'failed') this.clientState = 'stopping';
    if (alive) {
      if (wasRunning) {
        try {
          await this.channel.send('shutdown', undefined, {}, 'shutdown', this.options.shutdownTimeoutMs);
          answered = true;
        } catch (error) {
          problem = error as PackerClientError;
        }
      }
      if (this.failure === undefined) {
        this.endRequested = true;
        await this.connection.sendNotification('exit').catch(() => undefined);
      }
    }
    let killed = false;
    if (this.server !== undefined) {
      const exited = await this.waitForExit(Math.max(0, deadline - Date.now()));
      if (!exited) {
        this.kill();
        killed = true;
        await this.waitForExit(EXIT_GRACE_MS);
      }
    } else {
      this.endRequested = true;
      this.finishConnection(null, null);
    }
    this.fail(new ConnectionClosedError('The client was stopped.'));
    if (this.clientState !== 'failed') this.clientState = 'stopped';
    const exit = this.server?.exit ?? { exitCode: null, signal: null };
    problem ??= this.exitInfo?.expected === false ? this.exitInfo.error : undefined;
    const clean =
      wasRunning && answered && problem === undefined && !killed && (this.server === undefined || exit.exitCode === 0);
    return { exitCode: exit.exitCode, signal: exit.signal, killed, clean, error: problem };
  }

  /** Why a request or notification for `method` cannot be sent now, if it cannot. */
  private refusal(method: string): PackerClientError | undefined {
    if (this.failure !== undefined) return this.failure;
    if (this.clientState === 'new' || this.clientState === 'starting')
      return new ClientStateError(`Cannot send ${method}: call start() and wait for it first.`);
    if (this.clientState !== 'running')
      return new ClientStateError(`Cannot send ${method}: the client is ${this.clientState}.`);
    return undefined;
  }

  /** The fatal error once it is known, or undefined after `graceMs`. */
  private waitForFailure(graceMs: number): Promise<PackerClientError | undefined> {
    if (this.failure !== undefined) return Promise.resolve(this.failure);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.failureWaiters.delete(waiter);
        resolve(this.failure);
      }, graceMs);
      timer.unref();
      const waiter = (error: PackerClientError): void => {
        clearTimeout(timer);
        resolve(error);
      };
      this.failureWaiters.add(waiter);
    });
  }

  /** Records the first fatal error and rejects everything pending with it. */
  private fail(error: PackerClientError): void {
    if (this.failure !== undefined) return;
    this.failure = error;
    if (this.clientState !== 'stopping' && this.clientState !== 'stopped') this.clientState = 'failed';
    this.channel.rejectAll(error);
    for (const waiter of [...this.failureWaiters]) waiter(error);
    this.failureWaiters.clear();
  }

  /** A failure after which the connection cannot be trusted: record it, kill a spawned server, end the connection. */
  private failFatally(error: PackerClientError): void {
    this.fail(error);
    if (this.server !== undefined) this.kill();
    else this.finishConnection(null, null);
  }

  private kill(): void {
    if (this.server === undefined || this.server.exit !== undefined) return;
    this.endRequested = true;
    this.killedByClient = true;
    this.server.kill('SIGKILL');
  }

  /**
   * A framing violation ends the connection. When a spawned server's output merely stopped mid-frame, the
   * process was most likely killed while writing: wait (bounded) for its exit, so pending requests learn
   * that it crashed and how, rather than that its last bytes were cut.
   */
  private handleFramingViolation(violation: FramingViolation): void {
    const error = new ServerProtocolError(violation.problem, violation.excerpt);
    const server = this.server;
    if (!violation.atEnd || server === undefined) {
      this.failFatally(error);
      return;
    }
    if (server.exit !== undefined) return;
    const timer = setTimeout(() => {
      if (server.exit === undefined) this.failFatally(error);
    }, EXIT_GRACE_MS);
    timer.unref();
  }

  private handleProcessExit(exitCode: number | null, signal: NodeJS.Signals | null): void {
    if (!this.endRequested) {
      // Pending requests learn how the server ended, not just that the pipe broke.
      this.fail(new ServerCrashedError(exitCode, signal, this.server?.stderrTail() ?? ''));
    }
    this.finishConnection(exitCode, signal);
  }

  private handleConnectionClosed(): void {
    if (this.server === undefined) {
      if (!this.endRequested) this.fail(new ConnectionClosedError('The connection to the packer server closed.'));
      this.finishConnection(null, null);
      return;
    }
    if (this.server.exit !== undefined) return;
    // A spawned server's stdout closed: its exit (and exit code) should follow at once.
    const timer = setTimeout(() => {
      if (this.server?.exit !== undefined) return;
      this.failFatally(
        new ConnectionClosedError('The packer server closed its stdout but did not exit; it was killed.'),
      );
    }, EXIT_GRACE_MS);
    timer.unref();
  }

  /** Ends the connection once and tells the exit listeners. */
  private finishConnection(exitCode: number | null, signal: NodeJS.Signals | null): void {
    if (this.exitInfo !== undefined) return;
    if (this.clientState === 'running' || this.clientState === 'starting' || this.clientState === 'new') {
      this.fail(this.failure ?? new ConnectionClosedError('The connection to the packer server ended.'));
    }
    const expected =
      this.endRequested && (this.failure === undefined || this.clientState === 'stopping' || this.killedByClient);
    const info: ServerExitInfo = { exitCode, signal, expected, error: this.failure };
    this.exitInfo = info;
    this.channel.rejectAll(this.failure ?? new ConnectionClosedError('The connection to the packer server ended.'));
    this.connection.dispose();
    this.detachInput();
    this.resolveExited(info);
    for (const listener of [...this.exitListeners]) safeCall(listener, info);
    this.exitListeners.clear();
  }

  private async waitForExit(timeoutMs: number): Promise<boolean> {
    if (this.exitInfo !== undefined) return true;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    const result = await Promise.race([this.exited.then(() => true as const), timedOut]);
    clearTimeout(timer);
    return result;
  }

  private dispatchNotification(method: string, params: unknown): void {
    switch (method) {
      case packerNotifications.event.method:
        this.dispatchEvent(params);
        break;
      case 'window/logMessage':
        for (const listener of [...this.logListeners]) safeCall(listener, params as LogMessage);
        break;
      case '$/logTrace':
        for (const listener of [...this.traceListeners]) safeCall(listener, params as LogTrace);
        break;
    }
    const listeners = this.notificationListeners.get(method);
    if (listeners !== undefined) for (const listener of [...listeners]) safeCall(listener, params);
  }

  private dispatchEvent(params: unknown): void {
    let event = params as PackerEvent;
    if (this.options.validateEvents) {
      const parsed = PackerEvent.safeParse(params);
      if (!parsed.success) {
        const invalid: InvalidEvent = {
          params,
          issues: parsed.error.issues.map((issue) => ({ path: issue.path, message: issue.message })),
        };
        for (const listener of [...this.invalidEventListeners]) safeCall(listener, invalid);
        return;
      }
      event = parsed.data;
    }
    this.cursors.note(event);
    for (const listener of [...this.eventListeners]) safeCall(listener, event);
  }
}

function subscribe<T>(listeners: Set<T>, listener: T): Unsubscribe {
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
  };
}

function safeCall<T>(listener: (value: T) => void, value: T): void {
  try {
    listener(value);
  } catch {
    // A listener's failure is its own; it must not break the connection or the other listeners.
  }
}

// The typed request methods, one per declaration of `packerRequests` (see ProtocolRequestMethods).
for (const [name, declaration] of Object.entries(packerRequests) as [keyof Requests, RequestDeclaration][]) {
  Object.defineProperty(PackerClient.prototype, name, {
    value: function (this: PackerClient, params: unknown, options?: RequestOptions): Promise<unknown> {
      return this.request(declaration, params as never, options);
    },
    writable: true,
    configurable: true,
  });
}
