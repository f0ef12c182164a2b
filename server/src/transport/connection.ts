/**
 * One client connection: the LSP lifecycle (initialize gate, shutdown, exit), request dispatch by lane,
 * cancellation, error mapping, event forwarding and the `$/progress` mirror. This is the only module
 * (with the guarded reader) that knows JSON-RPC.
 */
import {
  InitializeParams,
  PACKER_PROTOCOL_VERSION,
  PackerErrorCodes,
  StandardErrorCodes,
  isTerminalKind,
  MutationKind,
  packerNotifications,
  packerRequests,
  type InitializeResult,
  type PackerEvent,
} from '@prometeu/packer-protocol';
import type { z } from 'zod';
import { CancellationToken, ResponseError, createMessageConnection, type MessageConnection } from 'vscode-jsonrpc/node';
import { CancelledError, PackerError, describeError } from '../errors.js';
import { readViewOf, type PreparedWrite, type ServerContext } from '../handlers/context.js';
import { prepareApplyMutation } from '../handlers/projects.js';
import type { PackerHost } from '../host.js';
import type { LaneOutcome } from '../project/writer-lane.js';
import { routeByMethod, routes } from './dispatch.js';
import { FramedMessageReader } from './framed-reader.js';
import { isProcessAlive } from '../io/process.js';
import { OutboundWriter } from './outbound-writer.js';

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

function signalOf(token: CancellationToken): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  if (token.isCancellationRequested) controller.abort();
  const subscription = token.onCancellationRequested(() => controller.abort());
  return { signal: controller.signal, dispose: () => subscription.dispose() };
}

/** Turns an exception into the error response the client gets. Bugs are logged; cancellation is not. */
function toResponseError(error: unknown, method: string, log: (message: string) => void): ResponseError<unknown> {
  if (error instanceof ResponseError) return error;
  if (error instanceof PackerError) return new ResponseError(error.code, error.message, error.data);
  if (error instanceof CancelledError) return new ResponseError(StandardErrorCodes.RequestCancelled, error.message);
  log(`Internal error in ${method}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  const described = describeError(error);
  return new ResponseError(StandardErrorCodes.InternalError, `${method} failed: ${described.message}`);
}

function invalidParams(method: string, error: z.ZodError): ResponseError<unknown> {
  const issues = error.issues.slice(0, 50).map((issue) => ({
    code: issue.code,
    path: issue.path.map((key) => (typeof key === 'number' ? key : String(key))),
    message: issue.message,
  }));
  const first = issues[0];
  const where = first && first.path.length > 0 ? `${first.path.join('.')}: ` : '';
  return new ResponseError(
    StandardErrorCodes.InvalidParams,
    `Invalid params for ${method}: ${where}${first?.message ?? 'invalid'}${issues.length > 1 ? ` (and ${issues.length - 1} more)` : ''}.`,
    {
      method,
      issues,
    },
  );
}

/** Serves one client over a pair of streams. */
export function serveConnection(options: ConnectionOptions): ServedConnection {
  const log = options.log ?? ((message: string) => process.stderr.write(`[packer-server] ${message}\n`));
  const writer = new OutboundWriter(options.output, log);
  // Input that cannot be resynchronised ends the connection with 1, whatever the phase.
  const reader = new FramedMessageReader(options.input, writer, log, { onUnrecoverable: () => exit(1) });
  const connection = createMessageConnection(reader, writer, {
    error: (message) => log(message),
    warn: (message) => log(message),
    info: () => undefined,
    log: () => undefined,
  });
  const { host } = options;

  /** Invariant: moves forward only: awaitingInitialize, running, shutDown, exited. */
  let phase: Phase = 'awaitingInitialize';
  /** What `initialize` asked for the projects this connection opens. */
  let defaults: { autoReconcile?: boolean } = {};
  let trace: TraceLevel = 'off';
  let unsubscribeEvents: (() => void) | undefined;
  let processTimer: NodeJS.Timeout | undefined;

  const exit = (code: number): void => {
    if (phase === 'exited') return;
    phase = 'exited';
    dispose();
    options.onExit(code);
  };

  const logMessage = (type: 1 | 2 | 3 | 4, message: string): void => {
    if (phase === 'awaitingInitialize' || phase === 'exited') return;
    void connection.sendNotification('window/logMessage', { type, message }).catch(() => undefined);
  };

  const logTrace = (message: string, verbose?: string): void => {
    if (trace === 'off' || phase === 'exited') return;
    void connection
      .sendNotification('$/logTrace', { message, ...(trace === 'verbose' && verbose !== undefined ? { verbose } : {}) })
      .catch(() => undefined);
  };

  const forwardEvent = (event: PackerEvent): void => {
    if (phase !== 'running' && phase !== 'shutDown') return;
    void connection.sendNotification(packerNotifications.event.type, event).catch(() => undefined);
  };

  const initialize = async (raw: unknown): Promise<InitializeResult> => {
    const parsed = InitializeParams.safeParse(raw);
    if (!parsed.success) throw invalidParams('initialize', parsed.error);
    const params = parsed.data;
    phase = 'running';
    trace = params.trace ?? 'off';
    const autoReconcile = params.initializationOptions?.['autoReconcile'];
    if (typeof autoReconcile === 'boolean') defaults = { autoReconcile };
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
        projects.push({
          rootUri: folder.uri,
          projectId: project.id,
          revision: project.snapshot().revision,
          state: project.failed() ? 'failed' : 'ready',
        });
      } catch (error) {
        const described = describeError(error);
        projects.push({ rootUri: folder.uri, error: { code: described.code, message: described.message } });
        log(`Workspace folder ${folder.uri} was not opened: ${described.message}`);
      }
    }
    // Events flow only after the folders are open, so nothing precedes the initialize response; the open
    // events stay replayable through packer/events.
    unsubscribeEvents = host.subscribe(forwardEvent);
    return {
      serverInfo: { name: 'prometeu-packer', version: options.serverVersion ?? PACKER_PROTOCOL_VERSION },
      capabilities: {
        experimental: {
          packer: {
            protocolVersion: PACKER_PROTOCOL_VERSION,
            requests: Object.values(packerRequests).map((declaration) => declaration.method),
            notifications: Object.values(packerNotifications).map((declaration) => declaration.method),
            mutations: [...MutationKind.options],
            doctorScopes: ['registered', 'workspace'],
          },
        },
      },
      projects,
    };
  };

  const runWrite = async (prepared: PreparedWrite<unknown>): Promise<unknown> => {
    const { project } = prepared;
    const { operation, workDoneToken } = prepared;
    let stopMirror: (() => void) | undefined;
    if (workDoneToken !== undefined) {
      stopMirror = project.events.subscribe((event) => {
        if (event.operationId !== operation.operationId) return;
        const send = (value: Record<string, unknown>): void =>
          void connection.sendNotification('$/progress', { token: workDoneToken, value }).catch(() => undefined);
        if (event.kind === 'operation.started') send({ kind: 'begin', title: operation.operation, cancellable: true });
        else if (event.kind === 'operation.progress') {
          const { done, total, message } = event.body;
          send({
            kind: 'report',
            ...(total ? { percentage: Math.min(100, Math.floor((done / total) * 100)) } : {}),
            ...(message !== undefined ? { message } : {}),
          });
        } else if (isTerminalKind(event.kind)) send({ kind: 'end', message: event.kind.slice('operation.'.length) });
      });
    }
    let outcome: LaneOutcome<unknown>;
    try {
      outcome = await project.lane.enqueue(operation);
    } finally {
      stopMirror?.();
    }
    switch (outcome.status) {
      case 'succeeded':
        return outcome.response;
      case 'failed':
        if ('error' in outcome) throw new ResponseError(outcome.error.code, outcome.error.message, outcome.error.data);
        return outcome.response;
      case 'cancelled':
      case 'cancelledBeforeStart':
        throw new CancelledError(
          `Operation ${operation.operationId} was cancelled${outcome.status === 'cancelledBeforeStart' ? ' before it started' : ''}; nothing was changed.`,
        );
      case 'error':
        throw outcome.error;
    }
  };

  const dispatch = async (method: string, raw: unknown, token: CancellationToken): Promise<unknown> => {
    const name = routeByMethod.get(method);
    if (name === undefined) throw new ResponseError(StandardErrorCodes.MethodNotFound, `Unknown method ${method}.`);
    const declaration = packerRequests[name];
    const parsed = declaration.params.safeParse(raw);
    if (!parsed.success) throw invalidParams(method, parsed.error);
    const params = parsed.data as never;
    const { signal, dispose: disposeSignal } = signalOf(token);
    try {
      const route = routes[name];
      switch (route.lane) {
        case 'server':
          return await (route.handle as (context: unknown, params: unknown) => unknown)(
            { host, signal, defaults },
            params,
          );
        case 'read': {
          const project = host.get((params as { projectId: string }).projectId);
          const failure = project.failed();
          if (failure !== undefined && name !== 'projectStatus' && name !== 'events') {
            throw new PackerError(PackerErrorCodes.ProjectFailed, `Project ${project.id} failed: ${failure}`, {
              projectId: project.id,
              reason: failure,
            });
          }
          // Pin the snapshot once: the whole answer comes from this one revision.
          const context = { snapshot: project.snapshot(), project: readViewOf(project), signal };
          const result = await (route.handle as (context: unknown, params: unknown) => unknown)(context, params);
          if (signal.aborted) throw new CancelledError();
          return result;
        }
        case 'write': {
          const prepared = await (
            route.prepare as (context: ServerContext, params: unknown) => Promise<PreparedWrite<unknown>>
          )({ host, signal, defaults }, params);
          return await runWrite(prepared);
        }
      }
    } finally {
      disposeSignal();
    }
  };

  connection.onRequest(async (method, raw, token) => {
    if (phase === 'awaitingInitialize' && method !== 'initialize') {
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
    const started = performance.now();
    try {
      if (method === 'initialize') {
        if (phase !== 'awaitingInitialize')
          throw new ResponseError(StandardErrorCodes.InvalidRequest, 'initialize may be sent only once.');
        return await initialize(raw);
      }
      if (method === 'shutdown') {
        phase = 'shutDown';
        await Promise.all(host.list().map((project) => project.lane.whenIdle()));
        return null;
      }
      return await dispatch(method, raw, token);
    } catch (error) {
      throw toResponseError(error, method, log);
    } finally {
      logTrace(
        `${method} answered in ${(performance.now() - started).toFixed(1)} ms`,
        trace === 'verbose' ? JSON.stringify(raw) : undefined,
      );
    }
  });

  connection.onNotification((method, params) => {
    if (method === 'exit') {
      exit(phase === 'shutDown' ? 0 : 1);
      return;
    }
    if (phase !== 'running') return;
    switch (method) {
      case 'initialized':
        return;
      case '$/setTrace': {
        const value = (params as { value?: unknown } | undefined)?.value;
        if (value === 'off' || value === 'messages' || value === 'verbose') trace = value;
        else logMessage(2, `$/setTrace needs value off, messages or verbose; got ${JSON.stringify(value)}.`);
        return;
      }
      case packerNotifications.submitMutation.method:
        submit(params);
        return;
      default:
        if (!method.startsWith('$/')) logMessage(2, `Unknown notification ${method} was ignored.`);
    }
  });

  /** `packer/submitMutation`: joins the lane like an apply; its outcome is its terminal event. */
  const submit = (raw: unknown): void => {
    const operationId =
      typeof raw === 'object' && raw !== null && typeof (raw as { operationId?: unknown }).operationId === 'string'
        ? (raw as { operationId: string }).operationId
        : undefined;
    const named = operationId !== undefined ? `operation ${operationId}` : 'a submission without operationId';
    const parsed = packerNotifications.submitMutation.params.safeParse(raw);
    if (!parsed.success) {
      const issues = parsed.error.issues
        .map((issue) => `${issue.path.join('.') || '(params)'}: ${issue.message}`)
        .join('; ');
      logMessage(1, `packer/submitMutation refused ${named}: its params do not parse (${issues}).`);
      return;
    }
    let prepared: PreparedWrite<unknown>;
    try {
      prepared = prepareApplyMutation({ host, signal: new AbortController().signal }, parsed.data);
    } catch (error) {
      logMessage(1, `packer/submitMutation refused ${named}: ${describeError(error).message}`);
      return;
    }
    // The outcome reaches the client as the operation's terminal event.
    void runWrite(prepared).catch(() => undefined);
  };

  connection.onClose(() => exit(phase === 'shutDown' ? 0 : 1));

  function dispose(): void {
    unsubscribeEvents?.();
    if (processTimer) clearInterval(processTimer);
    connection.dispose();
  }

  connection.listen();
  return { connection, dispose };
}
