/**
 * The one mapping from an error to its wire shape `{ code, message, data }`: for error responses, for
 * the `error` of a failed operation's event, for refusals and for folders `initialize` could not open.
 */
import { StandardErrorCodes } from '@prometeu/packer-protocol';
import { CancelledError, PackerError, ProtocolError } from '../errors.js';

/** An error as the wire carries it. */
export interface WireError {
  readonly code: number;
  readonly message: string;
  readonly data?: unknown;
}

/**
 * The wire shape of `error`. Expected failures keep their code and typed data; cancellation is
 * `-32800`; anything else is a bug or an I/O failure, `-32603`, its message prefixed with what failed when
 * `failedWhile` names it (a method, for responses).
 */
export function toWireError(error: unknown, failedWhile?: string): WireError {
  if (error instanceof PackerError) {
    // Each packer code's data is typed by its code; an error of any code is seen here, where the mapped
    // type widens to `any`. On the wire it is a JSON value either way.
    // eslint-disable-next-line @typescript-eslint/no-unsafe-assignment
    return { code: error.code, message: error.message, data: error.data };
  }
  if (error instanceof ProtocolError)
    return error.data !== undefined
      ? { code: error.code, message: error.message, data: error.data }
      : { code: error.code, message: error.message };
  if (error instanceof CancelledError) return { code: StandardErrorCodes.RequestCancelled, message: error.message };
  const message = error instanceof Error ? error.message : String(error);
  return {
    code: StandardErrorCodes.InternalError,
    message: failedWhile !== undefined ? `${failedWhile} failed: ${message}` : message,
  };
}

/** Whether `error` is a bug or an I/O failure (logged with its stack), rather than an expected outcome. */
export function isUnexpected(error: unknown): boolean {
  return !(error instanceof PackerError || error instanceof ProtocolError || error instanceof CancelledError);
}
