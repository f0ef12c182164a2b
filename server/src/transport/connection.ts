/**
 * One client connection: the LSP lifecycle (initialize gate, shutdown, exit), request dispatch by lane,
 * cancellation, error mapping, event forwarding and the `$/progress` mirror. This is the only module
 * (with the guarded reader) that knows JSON-RPC.
 */
import {
  InitializeParams,
  PACKER_PROTOCOL_VERSION,
  StandardErrorCodes,
  MUTATION_KINDS,
  packerNotifications,
  packerRequests,
  type InitializeResult,
  type PackerEvent,
} from '@prometeu/packer-protocol';
import {
  CancellationToken,
  ResponseError,
  createMessageConnection,
  type Message,
  type MessageConnection,
} from 'vscode-jsonrpc/node';
import {
  LogMessageNotification,
  LogTraceNotification,
  MessageType,
  WorkDoneProgress,
  type InitializeResult as LspInitializeResult,
  type ProgressToken,
} from 'vscode-languageserver-protocol';
import { ProtocolError } from '../errors.js';
import { fastInitializeParams } from '../dispatch/fast-params.js';
import { invalidParams } from '../dispatch/invalid-params.js';
import { readViewOf } from '../dispatch/context.js';
import { createRoutes, type DispatchContext, type Route } from '../dispatch/routes.js';
import type { SubmissionRefusal } from '../dispatch/submit-mutation.js';
import { createWriteRunner, type WorkDoneProgressValue } from '../dispatch/write-runner.js';
import type { PackerHost, ServerWorkStep } from '../host.js';
import { assetTypeCapabilities, formatCapabilities } from '../wire/capabilities.js';
import { toProjectStatus } from '../wire/convert.js';
import { isUnexpected, toWireError } from '../wire/errors.js';
import { FramedMessageReader } from './framed-reader.js';
import type { ArrivalClass } from './write-hold.js';
import { isProcessAlive } from '../io/process.js';
import { OutboundWriter } from './outbound-writer.js';
import { setOutputGate } from '../project/after-answer.js';
import { noteDispatched } from '../io/turns.js';
import { LanguageService } from '../lsp/language-service.js';
import { createStandardHandlers } from '../lsp/standard-handlers.js';
import {
  CodeActionKind,
  PublishDiagnosticsNotification,
  ShowMessageNotification,
  ShowMessageRequest,
  TextDocumentSyncKind,
  WorkDoneProgressCreateRequest,
} from 'vscode-languageserver-protocol';
import { PACKER_COMMANDS } from '../lsp/commands.js';
import { RENAME_REGISTRATION } from '../lsp/renames.js';

/** The requests a client sends first, whose params schemas are built once the client says `initialized`. */
const FIRST_REQUESTS = [
  packerRequests.openProject,
  packerRequests.projectStatus,
  packerRequests.listAssets,
  packerRequests.getAssetDetails,
  packerRequests.closeProject,
];

/** What a connection needs. */
export interface ConnectionOptions {
  readonly input: NodeJS.ReadableStream;
  readonly output: NodeJS.WritableStream;
  readonly host: PackerHost;
  /** Called once, with 0 after `shutdown` then `exit`, else 1. The stdio entry exits the process. */
  readonly onExit: (code: number) => void;
  /** Server log (stderr in the stdio entry). */
  readonly log?: (message: string) => void;
  /** Whether a process is alive; replaced in tests. */
  readonly isProcessAlive?: (pid: number) => boolean;
  /** How often to check the client process named in `processId`, in ms. */
  readonly processCheckInterval?: number;
  readonly serverVersion?: string;
}

/** A served connection. */
export interface ServedConnection {
  readonly connection: MessageConnection;
  dispose(): void;
}

type Phase = 'awaitingInitialize' | 'running' | 'shutDown' | 'exited';
type TraceLevel = 'off' | 'messages' | 'verbose';

/**
 * The abort signal of one request, following its `$/cancelRequest`; `abort` cancels it from elsewhere too.
 * The signal is made the first time someone asks for it: a read answered in the turn it arrived in never
 * looks, and an `AbortController` with its subscription to the token costs more than many reads.
 */
class RequestSignal {
  private controller: AbortController | undefined;
  private subscription: { dispose(): void } | undefined;

  constructor(private readonly token: CancellationToken) {}

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      const controller = new AbortController();
      this.controller = controller;
      if (this.token.isCancellationRequested) controller.abort();
      else this.subscription = this.token.onCancellationRequested(() => controller.abort());
    }
    return this.controller.signal;
  }

  /** Whether the request was cancelled, without making the signal. */
  cancelled(): boolean {
    return this.controller !== undefined ? this.controller.signal.aborted : this.token.isCancellationRequested;
  }

  readonly abort = (): void => {
    if (!this.signal.aborted) this.controller?.abort();
  };

  dispose(): void {
    this.subscription?.dispose();
  }
}

/** The `workDoneToken` of a request's params, when it has one. */
function workDoneTokenOf(raw: unknown): ProgressToken | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const token = (raw as { workDoneToken?: unknown }).workDoneToken;
  return typeof token === 'string' || typeof token === 'number' ? token : undefined;
}

/** How a token the server created for its own work stands on one connection. */
interface ServerWorkToken {
  readonly token: string;
  /** Invariant: false until the client answered `window/workDoneProgress/create`; nothing is sent before. */
  created: boolean;
  /** Invariant: the values waiting for the client's answer, `begin` first. */
  readonly pending: WorkDoneProgressValue[];
}

/** The error response the client gets for `error`. */
function toResponseError(error: unknown, method: string): ResponseError<unknown> {
  const wire = toWireError(error, method);
  return new ResponseError(wire.code, wire.message, wire.data);
}

/**
 * How the write hold treats an incoming message: a request of the read lane is a `read` (it may go ahead of write
 * requests not yet dispatched), a request of the write lane is a `write`, and everything else (lifecycle and server
 * lane requests, every notification, responses, unknown methods) keeps its place.
 */
function arrivalClassOf(routes: ReadonlyMap<string, Route>, message: Message): ArrivalClass {
  const { method, id } = message as { method?: unknown; id?: unknown };
  if (typeof method !== 'string' || id === undefined || id === null) return 'other';
  const route = routes.get(method);
  if (route?.kind !== 'request') return 'other';
  return route.lane === 'read' ? 'read' : route.lane === 'write' ? 'write' : 'other';
}

/** Serves one client over a pair of streams. */
export function serveConnection(options: ConnectionOptions): ServedConnection {
  const log = options.log ?? ((message: string) => process.stderr.write(`[packer-server] ${message}\n`));
  const writer = new OutboundWriter(options.output, log);
  // Work a project starts after an answer waits until this connection's output has left the process.
  const clearOutputGate = setOutputGate((run) => writer.whenWritten(run));
  // Input that cannot be resynchronised ends the connection with 1, whatever the phase.
  // Reads go ahead of write requests still waiting in the input (transport/write-hold.ts); the classifier reads the
  // routes, which exist before the connection listens.
  const reader = new FramedMessageReader(options.input, writer, log, {
    onUnrecoverable: () => exit(1),
    classify: (message) => arrivalClassOf(routes, message),
  });
  const connection = createMessageConnection(
    reader,
    writer,
    {
      error: (message) => log(message),
      warn: (message) => log(message),
      info: () => undefined,
      log: () => undefined,
    },
    {
      // Counts each message taken off the queue, so that background work yields until the queue is taken, and
      // lets the write hold pass its next message on once the one before it was dispatched.
      messageStrategy: {
        handleMessage: (message, next) => {
          noteDispatched();
          // In `finally`: a message whose handling threw must still let the hold pass on the next one.
          try {
            return next(message);
          } finally {
            reader.dispatched(message);
          }
        },
      },
    },
  );
  const { host } = options;

  /** Invariant: moves forward only: awaitingInitialize, running, shutDown, exited. */
  let phase: Phase = 'awaitingInitialize';
  /** What `initialize` asked for the projects this connection opens. */
  let defaults: { autoReconcile?: boolean } = {};
  let trace: TraceLevel = 'off';
  let unsubscribeEvents: (() => void) | undefined;
  let unsubscribeWork: (() => void) | undefined;
  /** Invariant: the cancel function of each running request that carried a `workDoneToken`, by token. */
  const progressCancels = new Map<ProgressToken, () => void>();
  /** Invariant: the tokens this connection created for server-started work that has not ended, by work id. */
  const workTokens = new Map<string, ServerWorkToken>();
  let workTokenCounter = 0;
  let processTimer: NodeJS.Timeout | undefined;

  const exit = (code: number): void => {
    if (phase === 'exited') return;
    phase = 'exited';
    dispose();
    options.onExit(code);
  };

  const logMessage = (type: MessageType, message: string): void => {
    if (phase === 'awaitingInitialize' || phase === 'exited') return;
    void connection.sendNotification(LogMessageNotification.type, { type, message }).catch(() => undefined);
  };

  const logTrace = (message: string, verbose?: string): void => {
    if (trace === 'off' || phase === 'exited') return;
    void connection
      .sendNotification(LogTraceNotification.type, {
        message,
        ...(trace === 'verbose' && verbose !== undefined ? { verbose } : {}),
      })
      .catch(() => undefined);
  };

  const forwardEvent = (event: PackerEvent): void => {
    if (phase !== 'running' && phase !== 'shutDown') return;
    void connection.sendNotification(packerNotifications.event.type, event).catch(() => undefined);
  };

  const refuseSubmission = (refusal: SubmissionRefusal): void => {
    if (phase !== 'running') return;
    void connection.sendNotification(packerNotifications.submissionRefused.type, refusal).catch(() => undefined);
    // The log line stays for people reading the client's output; programs use the notification.
    logMessage(MessageType.Error, refusal.message);
  };

  const sendProgress = (token: ProgressToken, value: WorkDoneProgressValue): void => {
    void connection.sendProgress(WorkDoneProgress.type, token, value).catch(() => undefined);
  };
  const runWrite = createWriteRunner(sendProgress);

  /**
   * Work the server started itself gets a token this connection creates with
   * `window/workDoneProgress/create`; its `begin` (and what followed) is sent once the client accepted it,
   * so a token is either unused or sees `begin` first and `end` last. A refused create sends nothing.
   */
  const followServerWork = (step: ServerWorkStep): void => {
    if (phase !== 'running') return;
    if (step.step === 'begin') {
      const entry: ServerWorkToken = {
        token: `packer-work-${++workTokenCounter}`,
        created: false,
        pending: [
          {
            kind: 'begin',
            title: step.title,
            cancellable: false,
            ...(step.message !== undefined ? { message: step.message } : {}),
          },
        ],
      };
      workTokens.set(step.workId, entry);
      connection.sendRequest(WorkDoneProgressCreateRequest.type, { token: entry.token }).then(
        () => {
          entry.created = true;
          for (const value of entry.pending.splice(0)) sendProgress(entry.token, value);
        },
        () => workTokens.delete(step.workId),
      );
      return;
    }
    const entry = workTokens.get(step.workId);
    if (entry === undefined) return;
    const value: WorkDoneProgressValue =
      step.step === 'report'
        ? {
            kind: 'report',
            ...(step.message !== undefined ? { message: step.message } : {}),
            ...(step.percentage !== undefined ? { percentage: step.percentage } : {}),
          }
        : { kind: 'end', ...(step.message !== undefined ? { message: step.message } : {}) };
    if (step.step === 'end') workTokens.delete(step.workId);
    if (entry.created) sendProgress(entry.token, value);
    else entry.pending.push(value);
  };

  // The standard LSP surface: diagnostics on asset.json and index.json, published once the client is
  // initialized (for every file when it declared publishDiagnostics, else for the documents it opens).
  let publishesWholeWorkspace = false;
  /** Whether the client declared `window.workDoneProgress`, so commands may create progress tokens. */
  let clientShowsProgress = false;
  let progressTokens = 0;
  /** Whether the client announces renames (`workspace.fileOperations.willRename` and `didRename`). */
  let clientAnnouncesRenames = false;
  let diagnosticsDelayMs: number | undefined;
  const language = new LanguageService({
    host,
    publish: (params) => {
      if (phase !== 'running' && phase !== 'shutDown') return;
      void connection.sendNotification(PublishDiagnosticsNotification.type, params).catch(() => undefined);
    },
    debounceMs: () => diagnosticsDelayMs,
  });
  const standardHandlers = createStandardHandlers({
    host,
    service: language,
    warn: (message) => logMessage(MessageType.Warning, message),
    defaults: () => defaults,
    showMessage: (type, message) => {
      if (phase !== 'running') return;
      void connection.sendNotification(ShowMessageNotification.type, { type, message }).catch(() => undefined);
    },
    ask: async (message, actions) => {
      const picked = await connection
        .sendRequest(ShowMessageRequest.type, {
          type: MessageType.Warning,
          message,
          actions: actions.map((title) => ({ title })),
        })
        .catch(() => null);
      return picked?.title ?? null;
    },
    createProgress: async () => {
      if (!clientShowsProgress) return undefined;
      const token = `packer-command-${++progressTokens}`;
      try {
        await connection.sendRequest(WorkDoneProgressCreateRequest.type, { token });
        return token;
      } catch {
        return undefined;
      }
    },
  });
  const unsubscribeLanguage = host.subscribe((event) => {
    if (event.kind !== 'snapshot.published' || phase !== 'running') return;
    const project = host.list().find((candidate) => candidate.id === event.projectId);
    if (project !== undefined) language.refresh(project);
  });

  const routes = createRoutes(
    {
      initialize: async (raw) => {
        if (phase !== 'awaitingInitialize')
          throw new ProtocolError(StandardErrorCodes.InvalidRequest, 'initialize may be sent only once.');
        let params = fastInitializeParams(raw);
        if (params === undefined) {
          const parsed = InitializeParams.safeParse(raw);
          if (!parsed.success) throw invalidParams('initialize', parsed.error);
          params = parsed.data;
        }
        phase = 'running';
        trace = params.trace ?? 'off';
        const autoReconcile = params.initializationOptions?.['autoReconcile'];
        if (typeof autoReconcile === 'boolean') defaults = { autoReconcile };
        const delay = params.initializationOptions?.['diagnosticsDelayMs'];
        if (typeof delay === 'number' && Number.isFinite(delay) && delay >= 0) diagnosticsDelayMs = delay;
        const textDocument = (params.capabilities as { textDocument?: { publishDiagnostics?: unknown } }).textDocument;
        publishesWholeWorkspace = textDocument?.publishDiagnostics !== undefined;
        const fileOperations = (
          params.capabilities as { workspace?: { fileOperations?: { willRename?: unknown; didRename?: unknown } } }
        ).workspace?.fileOperations;
        clientAnnouncesRenames = fileOperations?.willRename === true && fileOperations.didRename === true;
        clientShowsProgress =
          (params.capabilities as { window?: { workDoneProgress?: unknown } }).window?.workDoneProgress === true;
        if (typeof params.processId === 'number') {
          const pid = params.processId;
          const alive = options.isProcessAlive ?? isProcessAlive;
          processTimer = setInterval(() => {
            if (!alive(pid)) {
              log(`The client process ${pid} is gone; exiting.`);
              exit(1);
            }
          }, options.processCheckInterval ?? 2000);
          processTimer.unref();
        }
        const projects: InitializeResult['projects'] = [];
        for (const folder of params.workspaceFolders ?? []) {
          try {
            const project = await host.open(folder.uri, defaults);
            // The same state packer/projectStatus gives, from the same function.
            const status = toProjectStatus(readViewOf(project), project.snapshot());
            projects.push({
              rootUri: folder.uri,
              projectId: project.id,
              revision: status.revision,
              state: status.state,
            });
          } catch (error) {
            const wire = toWireError(error);
            projects.push({ rootUri: folder.uri, error: { code: wire.code, message: wire.message } });
            log(`Workspace folder ${folder.uri} was not opened: ${wire.message}`);
          }
        }
        // Events flow only after the folders are open, so nothing precedes the initialize response; the open
        // events stay replayable through packer/events.
        unsubscribeEvents = host.subscribe(forwardEvent);
        // Server-started work is shown only to clients that can create progress tokens, and only once the
        // initialize response is out (LSP allows no server request before it).
        if (clientShowsProgress) {
          setImmediate(() => {
            if (phase !== 'running') return;
            unsubscribeWork = host.subscribeServerWork(followServerWork);
            for (const begin of host.serverWorkInProgress()) followServerWork(begin);
          });
        }
        const result: InitializeResult = {
          serverInfo: { name: 'prometeu-packer', version: options.serverVersion ?? PACKER_PROTOCOL_VERSION },
          capabilities: {
            textDocumentSync: {
              openClose: true,
              change: TextDocumentSyncKind.Incremental,
              save: { includeText: false },
            },
            workspace: {
              workspaceFolders: { supported: true, changeNotifications: true },
              // Renames under assets/ are intents when the client can announce them.
              ...(clientAnnouncesRenames
                ? { fileOperations: { willRename: RENAME_REGISTRATION, didRename: RENAME_REGISTRATION } }
                : {}),
            },
            hoverProvider: true,
            completionProvider: { triggerCharacters: ['"'] },
            codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix] },
            documentLinkProvider: { resolveProvider: false },
            executeCommandProvider: { commands: [...PACKER_COMMANDS] },
            experimental: {
              packer: {
                protocolVersion: PACKER_PROTOCOL_VERSION,
                requests: Object.values(packerRequests).map((declaration) => declaration.method),
                notifications: Object.values(packerNotifications).map((declaration) => declaration.method),
                mutations: [...MUTATION_KINDS],
                doctorScopes: ['registered', 'workspace'],
                assetTypes: assetTypeCapabilities(),
                formats: formatCapabilities(),
              },
            },
          },
          projects,
        };
        // The packer's result is an LSP `InitializeResult` with one extra field.
        const asLsp: LspInitializeResult = result;
        return asLsp as InitializeResult;
      },
      shutdown: async () => {
        phase = 'shutDown';
        await Promise.all(host.list().map((project) => project.lane.whenIdle()));
        return null;
      },
      initialized: () => {
        // The client has the initialize result: the host's deferred start-up work (the crawl threads) runs now.
        host.startLoadThreads();
        language.start(publishesWholeWorkspace);
        // Start-up builds no schema (zod itself is evaluated at its first use): the schemas of the requests a
        // client sends first are built in the next turn, off the initialize path, so the first of them does
        // not pay for zod's evaluation and compilation.
        setImmediate(() => {
          if (phase === 'running') for (const declaration of FIRST_REQUESTS) declaration.params.safeParse(undefined);
        });
      },
      exit: () => exit(phase === 'shutDown' ? 0 : 1),
      setTrace: (params) => {
        const value = (params as { value?: unknown } | undefined)?.value;
        if (value === 'off' || value === 'messages' || value === 'verbose') trace = value;
        else
          logMessage(
            MessageType.Warning,
            `$/setTrace needs value off, messages or verbose; got ${JSON.stringify(value)}.`,
          );
      },
      cancelProgress: (params) => {
        // A token of a running request cancels it; server-started work is never cancellable, so its tokens
        // (and unknown ones) are ignored.
        const token = workDoneTokenOf({ workDoneToken: (params as { token?: unknown } | undefined)?.token });
        if (token !== undefined) progressCancels.get(token)?.();
      },
    },
    standardHandlers,
  );

  const contextOf = (signal: AbortSignal): DispatchContext => ({
    host,
    signal,
    cancelled: () => signal.aborted,
    defaults,
    runWrite,
    refuseSubmission,
  });
  /** The context of one request: its signal is made only when a handler reads it. */
  const requestContextOf = (request: RequestSignal): DispatchContext => ({
    host,
    get signal() {
      return request.signal;
    },
    cancelled: () => request.cancelled(),
    defaults,
    runWrite,
    refuseSubmission,
  });

  connection.onRequest(async (method, raw, token) => {
    const route = routes.get(method);
    if (phase === 'awaitingInitialize' && !(route?.kind === 'request' && route.beforeInitialize === true)) {
      throw new ResponseError(
        StandardErrorCodes.ServerNotInitialized,
        `The server is not initialized: send initialize before ${method}.`,
      );
    }
    if (phase === 'shutDown' || phase === 'exited') {
      throw new ResponseError(
        StandardErrorCodes.InvalidRequest,
        `The server is shut down: only the exit notification is accepted, not ${method}.`,
      );
    }
    // Traced only when tracing was on as the request arrived: the timing needs its start.
    const traced = trace !== 'off';
    const started = traced ? performance.now() : 0;
    const request = new RequestSignal(token);
    const { abort } = request;
    // `window/workDoneProgress/cancel` on the request's own progress token cancels it like `$/cancelRequest`.
    const progressToken = workDoneTokenOf(raw);
    if (progressToken !== undefined) progressCancels.set(progressToken, abort);
    try {
      if (route?.kind !== 'request')
        throw new ProtocolError(StandardErrorCodes.MethodNotFound, `Unknown method ${method}.`);
      return await route.serve(requestContextOf(request), raw);
    } catch (error) {
      if (isUnexpected(error))
        log(`Internal error in ${method}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      throw toResponseError(error, method);
    } finally {
      request.dispose();
      if (progressToken !== undefined && progressCancels.get(progressToken) === abort)
        progressCancels.delete(progressToken);
      if (traced)
        logTrace(
          `${method} answered in ${(performance.now() - started).toFixed(1)} ms`,
          trace === 'verbose' ? JSON.stringify(raw) : undefined,
        );
    }
  });

  /** A notification nobody asked for: never cancelled. */
  const notificationSignal = new AbortController().signal;

  connection.onNotification((method, params) => {
    const route = routes.get(method);
    if (route?.kind === 'notification' && route.inEveryPhase === true) {
      route.handle(contextOf(notificationSignal), params);
      return;
    }
    if (phase !== 'running') return;
    if (route?.kind === 'notification') route.handle(contextOf(notificationSignal), params);
    else if (!method.startsWith('$/')) logMessage(MessageType.Warning, `Unknown notification ${method} was ignored.`);
  });

  connection.onClose(() => exit(phase === 'shutDown' ? 0 : 1));

  function dispose(): void {
    unsubscribeEvents?.();
    unsubscribeWork?.();
    unsubscribeLanguage();
    clearOutputGate();
    language.dispose();
    if (processTimer) clearInterval(processTimer);
    connection.dispose();
  }

  connection.listen();
  return { connection, dispose };
}
