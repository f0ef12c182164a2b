/**
 * Request mechanics over a vscode-jsonrpc connection: each request settles exactly once (its answer, an
 * error response, an abort that sends `$/cancelRequest`, a timeout, or the connection's failure), and a
 * request whose write fails or whose stream goes away waits, bounded, for the reason before choosing its
 * error. Lifecycle and state live in the client; this module only keeps the requests in flight.
 */
import { StandardErrorCodes } from '@prometeu/packer-protocol';
import { CancellationTokenSource, ConnectionError, ResponseError, type MessageConnection } from 'vscode-jsonrpc/node';
import {
  ConnectionClosedError,
  PackerRequestError,
  RequestCancelledError,
  ServerProtocolError,
  ServerTimeoutError,
  type PackerClientError,
  type TimeoutPhase,
} from './errors.js';
import type { RequestOptions } from './ports.js';

/** What the channel asks of its owner: the fatal error once there is one, and a bounded wait for it. */
export interface FailureSource {
  /** The error that ended the connection, if one did. */
  currentFailure(): PackerClientError | undefined;
  /** Resolves with the fatal error once it is known, or undefined after `graceMs`. */
  waitForFailure(graceMs: number): Promise<PackerClientError | undefined>;
}

/**
 * The requests in flight on one connection. `send` never leaves a promise unsettled: {@link rejectAll} ends
 * every pending request when the connection fails or ends.
 */
export class RequestChannel {
  private readonly connection: MessageConnection;
  private readonly failures: FailureSource;
  /** How long a request that lost its stream waits for the reason (usually the process exit), in ms. */
  private readonly reasonGraceMs: number;
  /** Invariant: the reject function of every request not yet settled, removed when it settles. */
  private readonly pending = new Set<(error: PackerClientError) => void>();

  /** Builds a channel over `connection`; `failures` says why it broke when a write fails or the stream ends. */
  constructor(connection: MessageConnection, failures: FailureSource, reasonGraceMs: number) {
    this.connection = connection;
    this.failures = failures;
    this.reasonGraceMs = reasonGraceMs;
  }

  /** Sends one request and settles exactly once: answer, error response, abort, timeout, or the connection's end. */
  send<R>(
    method: string,
    params: unknown,
    options: RequestOptions,
    phase: TimeoutPhase,
    timeoutMs: number | undefined,
  ): Promise<R> {
    const failure = this.failures.currentFailure();
    if (failure !== undefined) return Promise.reject(failure);
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
        // Cancelling the token makes vscode-jsonrpc send `$/cancelRequest` for this request's id.
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
        // The connection is already closed: wait for the reason like a failed write does.
        void this.reasonFor(method, error).then((reason) => settle(() => reject(reason)));
        return;
      }
      answer.then(
        (result) => settle(() => resolve(result)),
        (error: unknown) => {
          if (isLocalFailure(error)) {
            // The write failed or the connection went away: wait briefly for the reason (usually the exit).
            void this.reasonFor(method, error).then((reason) => settle(() => reject(reason)));
            return;
          }
          settle(() => reject(toClientError(method, error)));
        },
      );
    });
  }

  /** Sends a notification; a failed write rejects with the reason once known. */
  async notify(method: string, params: unknown): Promise<void> {
    try {
      await (params === undefined
        ? this.connection.sendNotification(method)
        : this.connection.sendNotification(method, params));
    } catch (error) {
      throw await this.reasonFor(method, error);
    }
  }

  /** Rejects every pending request with `error`. */
  rejectAll(error: PackerClientError): void {
    for (const reject of [...this.pending]) reject(error);
    this.pending.clear();
  }

  /** The fatal error that explains a failed send, once known, else a {@link ConnectionClosedError}. */
  private async reasonFor(method: string, error: unknown): Promise<PackerClientError> {
    const reason = await this.failures.waitForFailure(this.reasonGraceMs);
    return (
      reason ??
      new ConnectionClosedError(`Could not send ${method}: ${error instanceof Error ? error.message : String(error)}`)
    );
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
