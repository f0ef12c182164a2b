/**
 * The errors a packer client reports: one class per way a request or the connection can fail, with a `kind`
 * discriminant so callers can `switch` without `instanceof`. Cancellation is its own type and is never a failure.
 */
import {
  PackerErrorData,
  StandardErrorCodes,
  packerErrorName,
  type PackerErrorCode,
  type PackerErrorDataOf,
} from '@prometeu/packer-protocol';

/** The `kind` of every error the client throws. */
export type PackerClientErrorKind =
  'request' | 'refused' | 'cancelled' | 'crashed' | 'timeout' | 'closed' | 'protocol' | 'spawn' | 'state';

/** Names of the standard JSON-RPC and LSP error codes, for messages and `codeName`. */
const STANDARD_CODE_NAMES: ReadonlyMap<number, string> = new Map<number, string>([
  ...Object.entries(StandardErrorCodes).map(([name, code]) => [code, name] as [number, string]),
  [-32001, 'UnknownErrorCode'],
  [-32801, 'ContentModified'],
  [-32802, 'ServerCancelled'],
  [-32803, 'RequestFailed'],
]);

/**
 * The name of a JSON-RPC error code: a packer code's name from the protocol (`UnknownProject`), a standard
 * code's name (`InvalidParams`), `ServerError` for the implementation-defined range, else `UnknownError`.
 */
export function errorCodeName(code: number): string {
  const packerName = packerErrorName(code);
  if (packerName !== undefined) return packerName;
  const standardName = STANDARD_CODE_NAMES.get(code);
  if (standardName !== undefined) return standardName;
  if (code >= -32099 && code <= -32000) return 'ServerError';
  return 'UnknownError';
}

/** The base class of every error a {@link PackerClient} rejects with. */
export abstract class PackerClientError extends Error {
  /** Which failure this is; each kind has its own subclass. */
  abstract readonly kind: PackerClientErrorKind;
}

/**
 * The server answered a request with an error response. `code` is a packer code (1000-1999, see
 * `PackerErrorCodes`) or a standard JSON-RPC/LSP code; `data` is whatever the server attached.
 */
export class PackerRequestError extends PackerClientError {
  override readonly kind = 'request' as const;
  /** The JSON-RPC error code. */
  readonly code: number;
  /** The code's name, for example `UnknownProject` or `InvalidParams`. */
  readonly codeName: string;
  /** The method of the request that failed. */
  readonly method: string;
  /** The error's `data` as the server sent it (typed per code by {@link isPackerError}). */
  readonly data: unknown;

  /** Builds the error from the parts of a JSON-RPC error response. */
  constructor(method: string, code: number, message: string, data?: unknown) {
    super(message);
    this.name = 'PackerRequestError';
    this.method = method;
    this.code = code;
    this.codeName = errorCodeName(code);
    this.data = data;
  }
}

/**
 * A `packer/submitMutation` the server could not attribute to a project (unknown project, params that do
 * not parse): it has no response and no terminal event, so the server sent `packer/submissionRefused`.
 */
export class SubmissionRefusedError extends PackerClientError {
  override readonly kind = 'refused' as const;
  /** The operation id of the refused submission. */
  readonly operationId: string;
  /** The documented error code the server gave: `-32602` for params that do not parse, else a packer code. */
  readonly code: number;

  /** Builds the error from the server's `packer/submissionRefused` notification. */
  constructor(operationId: string, code: number, message: string) {
    super(message);
    this.name = 'SubmissionRefusedError';
    this.operationId = operationId;
    this.code = code;
  }
}

/** A {@link PackerRequestError} whose `code` is packer code `C`, with `data` typed accordingly. */
export type PackerRequestErrorOf<C extends PackerErrorCode> = PackerRequestError & {
  readonly code: C;
  readonly data: PackerErrorDataOf<C>;
};

/**
 * Whether `error` is a packer error response with code `code` whose `data` matches that code's documented
 * schema; narrows `data` to its type. Without `code`, whether it is an error response at all.
 */
export function isPackerError<C extends PackerErrorCode>(error: unknown, code: C): error is PackerRequestErrorOf<C>;
export function isPackerError(error: unknown): error is PackerRequestError;
export function isPackerError(error: unknown, code?: PackerErrorCode): boolean {
  if (!(error instanceof PackerRequestError)) return false;
  if (code === undefined) return true;
  return error.code === code && PackerErrorData[code].safeParse(error.data).success;
}

/**
 * A request ended by cancellation: the caller aborted its `AbortSignal` (the client then sent
 * `$/cancelRequest`), or the server answered `-32800`. Not a failure; do not report it as one.
 */
export class RequestCancelledError extends PackerClientError {
  override readonly kind = 'cancelled' as const;
  /** The method of the cancelled request. */
  readonly method: string;
  /** `aborted`: the caller's signal; `server`: the server answered `RequestCancelled`. */
  readonly by: 'aborted' | 'server';

  /** Builds the error for `method`. */
  constructor(method: string, by: 'aborted' | 'server', message?: string) {
    super(message ?? `${method} was cancelled${by === 'aborted' ? ' by the caller' : ' by the server'}.`);
    this.name = 'RequestCancelledError';
    this.method = method;
    this.by = by;
  }
}

/** The server process ended without being asked to (or before the client finished stopping it). */
export class ServerCrashedError extends PackerClientError {
  override readonly kind = 'crashed' as const;
  /** The process exit code, or null when a signal ended it. */
  readonly exitCode: number | null;
  /** The signal that ended the process, or null. */
  readonly signal: NodeJS.Signals | null;
  /** The last few kilobytes the server wrote to stderr (its own log), possibly empty. */
  readonly stderrTail: string;

  /** Builds the error from how the process ended. */
  constructor(exitCode: number | null, signal: NodeJS.Signals | null, stderrTail: string) {
    const how = signal !== null ? `was killed by ${signal}` : `exited with code ${exitCode ?? 'unknown'}`;
    const tail = stderrTail.trimEnd();
    super(
      `The packer server ${how}.${tail.length > 0 ? `\nLast output on its stderr:\n${tail}` : ' It wrote nothing to stderr.'}`,
    );
    this.name = 'ServerCrashedError';
    this.exitCode = exitCode;
    this.signal = signal;
    this.stderrTail = stderrTail;
  }
}

/** What the client was waiting for when a {@link ServerTimeoutError} struck. */
export type TimeoutPhase = 'initialize' | 'request' | 'shutdown';

/** The server did not answer in time: it looks hung. */
export class ServerTimeoutError extends PackerClientError {
  override readonly kind = 'timeout' as const;
  /** `initialize`, an ordinary `request`, or `shutdown`. */
  readonly phase: TimeoutPhase;
  /** The method that got no answer. */
  readonly method: string;
  /** How long the client waited, in milliseconds. */
  readonly timeoutMs: number;

  /** Builds the error for `method`, which got no answer within `timeoutMs`. */
  constructor(phase: TimeoutPhase, method: string, timeoutMs: number) {
    super(`The packer server did not answer ${method} within ${timeoutMs} ms; it looks hung.`);
    this.name = 'ServerTimeoutError';
    this.phase = phase;
    this.method = method;
    this.timeoutMs = timeoutMs;
  }
}

/** The connection closed: the client was stopped, or the transport the caller owns ended. */
export class ConnectionClosedError extends PackerClientError {
  override readonly kind = 'closed' as const;

  /** Builds the error; `message` says why the connection closed. */
  constructor(message: string) {
    super(message);
    this.name = 'ConnectionClosedError';
  }
}

/** The server broke the wire protocol (bytes on stdout that are not an LSP frame, a body that is not JSON). */
export class ServerProtocolError extends PackerClientError {
  override readonly kind = 'protocol' as const;
  /** A printable excerpt of the offending bytes, when there are any. */
  readonly excerpt: string;

  /** Builds the error; `problem` says what was wrong, `excerpt` shows it. */
  constructor(problem: string, excerpt = '') {
    super(
      `The packer server broke the protocol: ${problem}${excerpt.length > 0 ? `: ${JSON.stringify(excerpt)}` : ''}.`,
    );
    this.name = 'ServerProtocolError';
    this.excerpt = excerpt;
  }
}

/** The server process could not be started at all (missing executable, no permission). */
export class ServerSpawnError extends PackerClientError {
  override readonly kind = 'spawn' as const;
  /** The command the client tried to run. */
  readonly command: string;
  /** The system error code, for example `ENOENT`, when there is one. */
  readonly errorCode: string | undefined;

  /** Builds the error from the spawn failure. */
  constructor(command: string, cause: Error) {
    const errorCode = (cause as NodeJS.ErrnoException).code;
    super(`The packer server could not be started with ${JSON.stringify(command)}: ${cause.message}`, { cause });
    this.name = 'ServerSpawnError';
    this.command = command;
    this.errorCode = errorCode;
  }
}

/** The client was used in a way its state does not allow (a request before `start()`, `start()` twice). A bug in the caller. */
export class ClientStateError extends PackerClientError {
  override readonly kind = 'state' as const;

  /** Builds the error; `message` says what was wrong and what to do. */
  constructor(message: string) {
    super(message);
    this.name = 'ClientStateError';
  }
}

/** Whether `error` is one of the client's errors. */
export function isPackerClientError(error: unknown): error is PackerClientError {
  return error instanceof PackerClientError;
}

/** Whether `error` is a cancellation (never a failure). */
export function isCancellation(error: unknown): error is RequestCancelledError {
  return error instanceof RequestCancelledError;
}
