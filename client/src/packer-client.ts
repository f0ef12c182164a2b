/**
 * `PackerClient`: a typed connection to a packer server, spawned over stdio or over streams the caller owns.
 * It runs the LSP lifecycle, sends the protocol's requests with cancellation and timeouts, turns every
 * failure into a typed error, and never leaves a request or a `stop()` waiting on a dead or hung server.
 */
import {
  PackerEvent,
  StandardErrorCodes,
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
  CancellationTokenSource,
  ConnectionError,
  ResponseError,
  StreamMessageReader,
  StreamMessageWriter,
  createMessageConnection,
  type MessageConnection,
  type NotificationType,
} from 'vscode-jsonrpc/node';
import {
  ClientStateError,
  ConnectionClosedError,
  PackerRequestError,
  RequestCancelledError,
  ServerCrashedError,
  ServerProtocolError,
  ServerSpawnError,
  ServerTimeoutError,
  type PackerClientError,
  type TimeoutPhase,
} from './errors.js';
import {
  resumeEvents,
  type EventCursor,
  type ResumeFrom,
  type ResumeOptions,
  type ResumeResult,
} from './event-feed.js';
import { FrameGuard } from './frame-guard.js';
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
import { ServerProcess } from './server-process.js';

/** The requests of the protocol, by short name. */
type Requests = typeof packerRequests;
/** The notifications of the protocol, by short name. */
type Notifications = typeof packerNotifications;

/** The params type of a notification declaration, as a client sends it. */
export type NotificationParamsOf<D> = D extends { readonly type: NotificationType<infer P> } ? P : never;

/** Where a client is in its life. */
export type ClientState = 'new' | 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';

/** Per-request options. */
export interface RequestOptions {
  /** Aborting it sends `$/cancelRequest` and rejects the request with a {@link RequestCancelledError}. */
  readonly signal?: AbortSignal;
  /** Overrides the client's `requestTimeoutMs` for this request. */
  readonly timeoutMs?: number;
  /**
   * When `signal` aborts after the request was sent, send `$/cancelRequest` but settle with the server's
   * answer: its `RequestCancelled` (a {@link RequestCancelledError} with `by: 'server'`), or the result when
   * the request had finished or cannot be cancelled. Default false: reject at once.
   */
  readonly awaitCancellation?: boolean;
}

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

/** A listener's unsubscribe function. */
export type Unsubscribe = () => void;

/** What a client is built on. */
interface Transport {
  readonly input: Readable;
  readonly output: Writable;
  readonly server: ServerProcess | undefined;
}

/** Waiting time for the process exit after its stdout closed, or after a SIGKILL, in ms. */
const EXIT_GRACE_MS = 2_000;
/** How long a request whose write failed waits for the reason (usually the process exit), in ms. */
const WRITE_FAILURE_GRACE_MS = 1_000;

/**
 * A typed client of the packer protocol.
 *
 * Create it with {@link PackerClient.spawn} (the client owns a server process) or
 * {@link PackerClient.fromStreams} (the caller owns the transport), call {@link PackerClient.start}, send
 * requests, then {@link PackerClient.stop}. It keeps no global state and never exits the process, so it
 * works in Node, Electron and VS Code extensions alike.
 */
export class PackerClient {
  private readonly options: ResolvedOptions;
  private readonly connection: MessageConnection;
  private readonly server: ServerProcess | undefined;
  /** Detaches the client from the input stream once the connection ends (the caller may own the stream). */
  private readonly detachInput: () => void;
  /** Invariant: only moves forward (new, starting, running, stopping, stopped), or to failed from any of them but stopped. */
  private clientState: ClientState = 'new';
  /** Invariant: set once, by the first fatal event; every later request rejects with it. */
  private failure: PackerClientError | undefined;
  /** Invariant: the reject function of every request not yet settled. */
  private readonly pending = new Set<(error: PackerClientError) => void>();
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
  /** Invariant: per project, the epoch of the newest event seen and the greatest sequence seen in it. */
  private readonly cursors = new Map<string, EventCursor>();
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
    const guard = new FrameGuard((violation) =>
      this.failFatally(new ServerProtocolError(violation.problem, violation.excerpt)),
    );
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
      result = await this.send<InitializeResult>(
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
      return Promise.reject(error);
    }
    return this.send(method, params, options, 'request', timeoutMs);
  }

  /** `packer/openProject`: opens the folder at `rootUri` (a `file:` URI) and returns its status. */
  openProject(
    params: ParamsOf<Requests['openProject']>,
    options?: RequestOptions,
  ): Promise<ResultOf<Requests['openProject']>> {
    return this.request(packerRequests.openProject, params, options);
  }

  /** `packer/closeProject`: closes a project once its writer lane is idle. */
  closeProject(
    params: ParamsOf<Requests['closeProject']>,
    options?: RequestOptions,
  ): Promise<ResultOf<Requests['closeProject']>> {
    return this.request(packerRequests.closeProject, params, options);
  }

  /** `packer/projectStatus`: revision, state, divergence, counts and writer lane. */
  projectStatus(
    params: ParamsOf<Requests['projectStatus']>,
    options?: RequestOptions,
  ): Promise<ResultOf<Requests['projectStatus']>> {
    return this.request(packerRequests.projectStatus, params, options);
  }

  /** `packer/initWorkspace`: creates `assets/.prometeu/index.json` if absent (by `projectId` or `rootUri`). */
  initWorkspace(
    params: ParamsOf<Requests['initWorkspace']>,
    options?: RequestOptions,
  ): Promise<ResultOf<Requests['initWorkspace']>> {
    return this.request(packerRequests.initWorkspace, params, options);
  }

  /** `packer/listAssets`: every asset root and registry entry, optionally filtered. */
  listAssets(
    params: ParamsOf<Requests['listAssets']>,
    options?: RequestOptions,
  ): Promise<ResultOf<Requests['listAssets']>> {
    return this.request(packerRequests.listAssets, params, options);
  }

  /** `packer/getAssetDetails`: one asset by `assetId`, `assetUuid` or `root`. */
  getAssetDetails(
    params: ParamsOf<Requests['getAssetDetails']>,
    options?: RequestOptions,
  ): Promise<ResultOf<Requests['getAssetDetails']>> {
    return this.request(packerRequests.getAssetDetails, params, options);
  }

  /** `packer/doctor`: diagnostics of the registered world (default) or the whole workspace. */
  doctor(params: ParamsOf<Requests['doctor']>, options?: RequestOptions): Promise<ResultOf<Requests['doctor']>> {
    return this.request(packerRequests.doctor, params, options);
  }

  /** `packer/packSummary`: the build set and whether a pack can start. */
  packSummary(
    params: ParamsOf<Requests['packSummary']>,
    options?: RequestOptions,
  ): Promise<ResultOf<Requests['packSummary']>> {
    return this.request(packerRequests.packSummary, params, options);
  }

  /** `packer/events`: the retained events after a sequence, for catching up after a gap. */
  events(params: ParamsOf<Requests['events']>, options?: RequestOptions): Promise<ResultOf<Requests['events']>> {
    return this.request(packerRequests.events, params, options);
  }

  /** `packer/previewMutation`: what a mutation would do against the current snapshot; changes nothing. */
  previewMutation(
    params: ParamsOf<Requests['previewMutation']>,
    options?: RequestOptions,
  ): Promise<ResultOf<Requests['previewMutation']>> {
    return this.request(packerRequests.previewMutation, params, options);
  }

  /** `packer/applyMutation`: applies a preview (or an intent) in the writer lane; resolves with its final outcome. */
  applyMutation(
    params: ParamsOf<Requests['applyMutation']>,
    options?: RequestOptions,
  ): Promise<ResultOf<Requests['applyMutation']>> {
    return this.request(packerRequests.applyMutation, params, options);
  }

  /**
   * `packer/submitMutation`: the notification form of {@link applyMutation}. Resolves once it is written; its
   * outcome arrives as the terminal `packer/event` of its `operationId`.
   */
  submitMutation(params: NotificationParamsOf<Notifications['submitMutation']>): Promise<void> {
    return this.sendNotification(packerNotifications.submitMutation, params);
  }

  /** `packer/reconcile`: accepts the disk's current truth into a new revision; see {@link reconcileOperation} for its events. */
  reconcile(
    params: ParamsOf<Requests['reconcile']>,
    options?: RequestOptions,
  ): Promise<ResultOf<Requests['reconcile']>> {
    return this.request(packerRequests.reconcile, params, options);
  }

  /** `packer/pack`: packs the frozen current snapshot into `build/`; see {@link packOperation} for its progress. */
  pack(params: ParamsOf<Requests['pack']>, options?: RequestOptions): Promise<ResultOf<Requests['pack']>> {
    return this.request(packerRequests.pack, params, options);
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
    return startOperation({ client: this, newOperationId: () => this.newOperationId() }, declaration, params, options);
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
    return submitMutationOperation({ client: this, newOperationId: () => this.newOperationId() }, params, options);
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
    if (result.status === 'replayed') for (const event of result.events) this.noteCursor(event);
    else
      this.cursors.set(projectId, {
        epoch: result.epoch,
        afterSequence: Math.max(result.lastSequence, this.sameEpochSequence(projectId, result.epoch)),
      });
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
    try {
      await (params === undefined
        ? this.connection.sendNotification(method)
        : this.connection.sendNotification(method, params));
    } catch (error) {
      throw (
        (await this.reasonOfWriteFailure()) ??
        new ConnectionClosedError(`Could not send ${method}: ${(error as Error).message}`)
      );
    }
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
          await this.send('shutdown', undefined, {}, 'shutdown', this.options.shutdownTimeoutMs);
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

  /** Sends one request and settles exactly once: answer, error response, abort, timeout, or the connection's end. */
  private send<R>(
    method: string,
    params: unknown,
    options: RequestOptions,
    phase: TimeoutPhase,
    timeoutMs: number | undefined,
  ): Promise<R> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(new RequestCancelledError(method, 'aborted'));
    return new Promise<R>((resolve, reject) => {
      const source = new CancellationTokenSource();
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const settle = (outcome: () => void): void => {
        if (settled) return;
        settled = true;
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.pending.delete(onFatal);
        outcome();
        source.dispose();
      };
      const onFatal = (error: PackerClientError): void => settle(() => reject(error));
      const onAbort = (): void => {
        source.cancel();
        if (options.awaitCancellation !== true) settle(() => reject(new RequestCancelledError(method, 'aborted')));
      };
      this.pending.add(onFatal);
      signal?.addEventListener('abort', onAbort, { once: true });
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          source.cancel();
          settle(() => reject(new ServerTimeoutError(phase, method, timeoutMs)));
        }, timeoutMs);
      }
      let answer: Promise<R>;
      try {
        answer =
          params === undefined
            ? this.connection.sendRequest<R>(method, source.token)
            : this.connection.sendRequest<R>(method, params, source.token);
      } catch (error) {
        settle(() =>
          reject(this.failure ?? new ConnectionClosedError(`Could not send ${method}: ${(error as Error).message}`)),
        );
        return;
      }
      answer.then(
        (result) => settle(() => resolve(result)),
        (error: unknown) => {
          if (isLocalFailure(error)) {
            // The write failed or the connection went away: wait briefly for the reason (usually the exit).
            void this.reasonOfWriteFailure().then((reason) =>
              settle(() =>
                reject(reason ?? new ConnectionClosedError(`Could not send ${method}: ${(error as Error).message}`)),
              ),
            );
            return;
          }
          settle(() => reject(toClientError(method, error)));
        },
      );
    });
  }

  /** The fatal error that explains a failed write, once known (or undefined after a short grace). */
  private reasonOfWriteFailure(): Promise<PackerClientError | undefined> {
    if (this.failure !== undefined) return Promise.resolve(this.failure);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.failureWaiters.delete(waiter);
        resolve(this.failure);
      }, WRITE_FAILURE_GRACE_MS);
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
    for (const reject of [...this.pending]) reject(error);
    this.pending.clear();
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
    for (const reject of [...this.pending])
      reject(this.failure ?? new ConnectionClosedError('The connection to the packer server ended.'));
    this.pending.clear();
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
    this.noteCursor(event);
    for (const listener of [...this.eventListeners]) safeCall(listener, event);
  }

  /** Moves the project's cursor to `event` when it is newer (a new epoch replaces the old one). */
  private noteCursor(event: PackerEvent): void {
    if (typeof event.projectId !== 'string' || typeof event.epoch !== 'string' || typeof event.sequence !== 'number')
      return;
    const current = this.cursors.get(event.projectId);
    if (current === undefined || current.epoch !== event.epoch || current.afterSequence < event.sequence) {
      this.cursors.set(event.projectId, { epoch: event.epoch, afterSequence: event.sequence });
    }
  }

  private sameEpochSequence(projectId: string, epoch: string): number {
    const current = this.cursors.get(projectId);
    return current !== undefined && current.epoch === epoch ? current.afterSequence : 0;
  }
}

/** Whether a rejection came from this side of the wire (a failed write, a disposed connection) rather than from the server. */
function isLocalFailure(error: unknown): boolean {
  if (error instanceof ConnectionError) return true;
  if (error instanceof ResponseError) return error.code === -32099 || error.code === -32097 || error.code === -32096;
  return false;
}

/** Turns an error response into the client's error type. */
function toClientError(method: string, error: unknown): PackerClientError {
  if (error instanceof ResponseError) {
    if (error.code === StandardErrorCodes.RequestCancelled)
      return new RequestCancelledError(method, 'server', error.message);
    return new PackerRequestError(method, error.code, error.message, error.data);
  }
  return new ServerProtocolError(
    `the answer to ${method} could not be read (${error instanceof Error ? error.message : String(error)})`,
  );
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
