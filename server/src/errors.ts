/**
 * Expected failures that end a request with a packer error code. Bugs stay ordinary exceptions; cancellation
 * is its own type. The transport turns these into JSON-RPC errors; nothing else knows JSON-RPC.
 */
import { PackerErrorCodes, type PackerErrorCode, type PackerErrorDataOf } from '@prometeu/packer-protocol';

/** A request that cannot be served, for a reason the caller can act on. */
export class PackerError<C extends PackerErrorCode = PackerErrorCode> extends Error {
  constructor(
    readonly code: C,
    message: string,
    readonly data: PackerErrorDataOf<C>,
  ) {
    super(message);
    this.name = 'PackerError';
  }
}

/**
 * A request the JSON-RPC or LSP rules refuse (unknown method, invalid params, not initialized, shut down),
 * with its standard code. Thrown by the dispatcher and the connection; mapped to the wire like every error.
 */
export class ProtocolError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}

/** The caller cancelled; never logged as a failure. */
export class CancelledError extends Error {
  constructor(message = 'The request was cancelled.') {
    super(message);
    this.name = 'CancelledError';
  }
}

/** Throws {@link CancelledError} when `signal` is aborted. */
export function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CancelledError();
}

/** Shorthand for the unknown-project error. */
export function unknownProject(
  projectId: string,
  openProjects: string[],
): PackerError<typeof PackerErrorCodes.UnknownProject> {
  return new PackerError(
    PackerErrorCodes.UnknownProject,
    `No open project has id ${JSON.stringify(projectId)}. Open it with packer/openProject first.`,
    { projectId, openProjects },
  );
}
