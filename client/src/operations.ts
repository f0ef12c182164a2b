/**
 * Operation handles: a write sent with an `operationId` the client chose, whose `packer/event`s the client
 * subscribed to before sending, so a caller gets both the final outcome and every event of the operation,
 * ending with its terminal event. Also the `packer/submitMutation` form, whose outcome is its terminal event.
 */
import {
  PackerErrorCodes,
  isTerminalKind,
  packerNotifications,
  type ApplyResult,
  type PackerEvent,
  type ParamsOf,
  type RequestDeclaration,
  type ResultOf,
} from '@prometeu/packer-protocol';
import {
  ConnectionClosedError,
  PackerRequestError,
  RequestCancelledError,
  ServerTimeoutError,
  SubmissionRefusedError,
  type PackerClientError,
} from './errors.js';
import { EventSink } from './event-sink.js';
import type { EventSource, NotificationParamsOf, NotificationSender, RequestOptions, RequestSender } from './ports.js';

/** A terminal event: `operation.succeeded`, `operation.failed` or `operation.cancelled`. */
export type TerminalEvent = Extract<
  PackerEvent,
  { kind: 'operation.succeeded' | 'operation.failed' | 'operation.cancelled' }
>;

/** Params of a write, with the `operationId` optional (the client picks one when it is absent). */
export type OperationParams<D> = Omit<ParamsOf<D>, 'operationId'> & { readonly operationId?: string };

/** Params of `PackerClient.submitMutationOperation`: those of `packer/submitMutation`, `operationId` optional. */
export type SubmitParams = Omit<NotificationParamsOf<(typeof packerNotifications)['submitMutation']>, 'operationId'> & {
  readonly operationId?: string;
};

/** Options of an operation. */
export interface OperationOptions extends RequestOptions {
  /** Merge buffered progress events of the operation for a slow reader of `events` (default true). */
  readonly coalesceProgress?: boolean;
}

/** Options of a submitted mutation: it has no request to cancel, so no signal. */
export interface SubmitOptions {
  /** Merge buffered progress events for a slow reader of `events` (default true). */
  readonly coalesceProgress?: boolean;
  /** Reject with a {@link ServerTimeoutError} when no terminal event arrives within this many ms. */
  readonly timeoutMs?: number;
}

/** A write in flight. */
export interface OperationHandle<R> {
  /** The operation's id: the caller's, or one the client made up (unique per client and process). */
  readonly operationId: string;
  /** The JSON-RPC method of the write. */
  readonly method: string;
  /**
   * The final outcome: the write's response. Rejects with the typed error when the server answered with an
   * error (a {@link RequestCancelledError} when it was cancelled). A rejected mutation or a blocked pack is
   * an outcome, not an error: see its `outcome` field.
   */
  readonly outcome: Promise<R>;
  /**
   * Every event of the operation, in order, ending after its terminal event (or, for a write refused
   * before it reached the writer lane, when the error response arrived, with no events at all). Buffered
   * progress is merged for a slow reader unless `coalesceProgress: false`. One reader.
   */
  readonly events: EventSink;
  /** The terminal event once it arrived; undefined when the write ended without one. */
  readonly terminal: Promise<TerminalEvent | undefined>;
  /**
   * Asks the server to cancel the write (`$/cancelRequest`, as does aborting the caller's `signal`). The
   * outcome then settles with the server's answer: a {@link RequestCancelledError} (`by: 'server'`) with an
   * `operation.cancelled` terminal event, or the result when the write had already finished.
   */
  cancel(): void;
}

/** What an operation needs of a connection: send the write, hear its events, and make up an id. */
export interface OperationHost extends RequestSender, NotificationSender, EventSource {
  /** A new operation id, unique to this connection. */
  newOperationId(): string;
}

/**
 * Invariant: per connection, the `projectId` and `operationId` pairs of the operations this process started
 * on it and has not seen end. The server refuses an id it already knows; the client refuses its own reuse
 * before sending, because the handle of a second operation with the same id would otherwise follow the
 * first one's events and take its terminal event.
 */
const inFlightByHost = new WeakMap<OperationHost, Set<string>>();

/** Claims `operationId` on `host` for `projectId`; returns the release function, or undefined when it is in flight. */
function claimOperationId(
  host: OperationHost,
  projectId: string | undefined,
  operationId: string,
): (() => void) | undefined {
  let inFlight = inFlightByHost.get(host);
  if (inFlight === undefined) inFlightByHost.set(host, (inFlight = new Set()));
  const key = JSON.stringify([projectId ?? null, operationId]);
  if (inFlight.has(key)) return undefined;
  inFlight.add(key);
  return () => inFlight.delete(key);
}

/** The message of a local refusal of a reused operation id, worded like the server's `OperationIdInUse`. */
function reusedIdMessage(operationId: string, projectId: string | undefined): string {
  return `The operation id ${JSON.stringify(operationId)} is already used by an operation of this client that has not ended${projectId !== undefined ? ` in project ${projectId}` : ''}; nothing was sent. Use a new operationId.`;
}

/** A handle that ended before anything was sent: its outcome rejects with `error`, and it has no events. */
function refusedHandle<R>(operationId: string, method: string, error: PackerClientError): OperationHandle<R> {
  const events = new EventSink();
  events.close();
  const outcome = Promise.reject(error);
  outcome.catch(() => undefined);
  return { operationId, method, outcome, events, terminal: Promise.resolve(undefined), cancel: () => undefined };
}

/** Sends a write with an operation id, subscribed to its events first. */
export function startOperation<D extends RequestDeclaration>(
  host: OperationHost,
  declaration: D,
  params: OperationParams<D>,
  options: OperationOptions = {},
): OperationHandle<ResultOf<D>> {
  const client = host;
  const operationId = params.operationId ?? host.newOperationId();
  const named = (params as { projectId?: unknown }).projectId;
  const projectId = typeof named === 'string' ? named : undefined;
  const release = claimOperationId(host, projectId, operationId);
  if (release === undefined) {
    return refusedHandle(
      operationId,
      declaration.method,
      new PackerRequestError(
        declaration.method,
        PackerErrorCodes.OperationIdInUse,
        reusedIdMessage(operationId, projectId),
        {
          projectId: projectId ?? '',
          operationId,
          usedBy: 'inFlight',
        },
      ),
    );
  }
  const events = new EventSink(
    options.coalesceProgress === undefined ? {} : { coalesceProgress: options.coalesceProgress },
  );
  let terminalEvent: TerminalEvent | undefined;
  let resolveTerminal: (event: TerminalEvent | undefined) => void = () => undefined;
  const terminal = new Promise<TerminalEvent | undefined>((resolve) => (resolveTerminal = resolve));
  const controller = new AbortController();
  const onCallerAbort = (): void => controller.abort();
  let finished = false;
  const finish = (): void => {
    if (finished) return;
    finished = true;
    release();
    unsubscribe();
    options.signal?.removeEventListener('abort', onCallerAbort);
    events.close();
    resolveTerminal(terminalEvent);
  };
  const unsubscribe = client.onEvent((event) => {
    if (finished || event.operationId !== operationId) return;
    if (projectId !== undefined && event.projectId !== projectId) return;
    events.push(event);
    if (isTerminalKind(event.kind)) {
      terminalEvent = event as TerminalEvent;
      finish();
    }
  });
  if (options.signal?.aborted) controller.abort();
  else options.signal?.addEventListener('abort', onCallerAbort, { once: true });
  const sent = { ...params, operationId } as unknown as ParamsOf<D>;
  // Cancelling waits for the server's answer, so the outcome and the terminal event tell the same story.
  const outcome = client.request(declaration, sent, {
    signal: controller.signal,
    awaitCancellation: true,
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
  });
  // The terminal event precedes the response on the wire, so once the response is in, nothing more comes.
  outcome.then(finish, finish);
  return { operationId, method: declaration.method, outcome, events, terminal, cancel: () => controller.abort() };
}

/** Sends `packer/submitMutation` and follows it to its terminal event. */
export function submitMutationOperation(
  host: OperationHost,
  params: SubmitParams,
  options: SubmitOptions = {},
): OperationHandle<ApplyResult> {
  const client = host;
  const method = packerNotifications.submitMutation.method;
  const operationId = params.operationId ?? host.newOperationId();
  const projectId = params.projectId;
  const release = claimOperationId(host, projectId, operationId);
  if (release === undefined) {
    return refusedHandle(
      operationId,
      method,
      new SubmissionRefusedError(
        operationId,
        PackerErrorCodes.OperationIdInUse,
        reusedIdMessage(operationId, projectId),
      ),
    );
  }
  const events = new EventSink(
    options.coalesceProgress === undefined ? {} : { coalesceProgress: options.coalesceProgress },
  );
  let terminalEvent: TerminalEvent | undefined;
  let resolveTerminal: (event: TerminalEvent | undefined) => void = () => undefined;
  const terminal = new Promise<TerminalEvent | undefined>((resolve) => (resolveTerminal = resolve));
  let stopFollowing: () => void = () => undefined;
  const outcome = new Promise<ApplyResult>((resolve, reject) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const stops: (() => void)[] = [];
    const settleOutcome = (settle: () => void): void => {
      if (settled) return;
      settled = true;
      release();
      if (timer !== undefined) clearTimeout(timer);
      for (const stop of stops) stop();
      events.close();
      resolveTerminal(terminalEvent);
      settle();
    };
    const fail = (error: PackerClientError): void => settleOutcome(() => reject(error));
    stopFollowing = () =>
      fail(
        new RequestCancelledError(
          method,
          'aborted',
          `Stopped following submitted mutation ${operationId}; a notification cannot be cancelled, so the server may still apply it.`,
        ),
      );
    stops.push(
      client.onEvent((event) => {
        if (settled || event.operationId !== operationId || event.projectId !== projectId) return;
        events.push(event);
        if (!isTerminalKind(event.kind)) return;
        terminalEvent = event as TerminalEvent;
        settleOutcome(() => {
          const end = event as TerminalEvent;
          if (end.kind === 'operation.cancelled') reject(new RequestCancelledError(method, 'server'));
          else if (end.kind === 'operation.failed' && end.body.error !== undefined)
            reject(new PackerRequestError(method, end.body.error.code, end.body.error.message, end.body.error.data));
          else resolve(end.body.outcome as unknown as ApplyResult);
        });
      }),
    );
    // A submission the server cannot attribute to a project gets `packer/submissionRefused`, not a terminal event.
    stops.push(
      client.onNotification(packerNotifications.submissionRefused.method, (params) => {
        const refusal = refusalOf(params);
        if (refusal !== undefined && refusal.operationId === operationId)
          fail(new SubmissionRefusedError(operationId, refusal.code, refusal.message));
      }),
    );
    stops.push(
      client.onExit(() =>
        fail(
          client.error ??
            new ConnectionClosedError(
              'The connection to the packer server ended before the submitted mutation finished.',
            ),
        ),
      ),
    );
    if (options.timeoutMs !== undefined) {
      const timeoutMs = options.timeoutMs;
      timer = setTimeout(() => fail(new ServerTimeoutError('request', method, timeoutMs)), timeoutMs);
    }
    client
      .sendNotification(packerNotifications.submitMutation, { ...params, operationId })
      .catch((error: PackerClientError) => fail(error));
  });
  outcome.catch(() => undefined);
  return {
    operationId,
    method,
    outcome,
    events,
    terminal,
    // A notification has no request id to cancel: this only stops following it.
    cancel: () => stopFollowing(),
  };
}

/** The params of a `packer/submissionRefused`, when they have its shape. */
function refusalOf(params: unknown): Refusal | undefined {
  const parsed = packerNotifications.submissionRefused.params.safeParse(params);
  return parsed.success ? parsed.data : undefined;
}

/** The params of `packer/submissionRefused`. */
type Refusal = NotificationParamsOf<(typeof packerNotifications)['submissionRefused']>;
