/**
 * The one way a packer method is declared: its method string, its lane, its zod schemas and its typed
 * vscode-jsonrpc message type. Everything else (dispatch, docs, clients) is derived from these declarations.
 */
import { NotificationType, RequestType } from 'vscode-jsonrpc';
import type { z } from 'zod';

/**
 * Where a method runs on the server.
 * - `lifecycle`: handled by the connection itself (initialize, shutdown).
 * - `read`: answered from a pinned, immutable project snapshot; never waits for the writer.
 * - `write`: runs inside the project's single writer lane, in arrival order.
 * - `server`: manages the set of open projects (open, close); never touches a project's files.
 */
export type Lane = 'lifecycle' | 'read' | 'write' | 'server';

/** Who sends a notification. */
export type Direction = 'clientToServer' | 'serverToClient';

/**
 * A request declaration. `P` and `R` are inferred from the schemas; `M` and `L` keep the literal method
 * string and lane, so the server can check at compile time that each route runs in its declared lane.
 */
export interface RequestDeclaration<
  P extends z.ZodType = z.ZodType,
  R extends z.ZodType = z.ZodType,
  M extends string = string,
  L extends Lane = Lane,
> {
  /** The JSON-RPC method string; fixed once published. */
  readonly method: M;
  /** The lane the server runs the request in. */
  readonly lane: L;
  /** Schema of the single named params object. */
  readonly params: P;
  /** Schema of the result. */
  readonly result: R;
  /** One or two sentences for the protocol reference. */
  readonly summary: string;
  /**
   * Whether a read is answered while its project is `failed` (a failed project refuses every other read
   * with `ProjectFailed`). Only meaningful for the `read` lane.
   */
  readonly answeredWhileFailed: boolean;
  /**
   * Whether a read is answered at once while its project is `loading` (from the status it has before its
   * first snapshot, revision 0). Every other read of a loading project waits for the first snapshot and is
   * answered from it (or `-32800` when cancelled meanwhile). Only meaningful for the `read` lane.
   */
  readonly answeredWhileLoading: boolean;
  /** The typed vscode-jsonrpc request type for `sendRequest` and `onRequest`. */
  readonly type: RequestType<z.input<P>, z.output<R>, unknown>;
}

/** A notification declaration. */
export interface NotificationDeclaration<
  P extends z.ZodType = z.ZodType,
  M extends string = string,
  L extends Lane | 'none' = Lane | 'none',
> {
  /** The JSON-RPC method string; fixed once published. */
  readonly method: M;
  /** Who sends it. */
  readonly direction: Direction;
  /** The lane a client-to-server notification runs in. */
  readonly lane: L;
  /** Schema of the params object. */
  readonly params: P;
  /** One or two sentences for the protocol reference. */
  readonly summary: string;
  /** The typed vscode-jsonrpc notification type. */
  readonly type: NotificationType<z.input<P>>;
}

/**
 * Declares a request; the method string and the lane stay literal in the type. It has no effect besides its
 * result (the annotation tells bundlers, so that a bundle keeps only the declarations it uses).
 */
/* @__NO_SIDE_EFFECTS__ */
export function defineRequest<
  P extends z.ZodType,
  R extends z.ZodType,
  const M extends string,
  const L extends Lane,
>(declaration: {
  method: M;
  lane: L;
  params: P;
  result: R;
  summary: string;
  /** See {@link RequestDeclaration.answeredWhileFailed}; false when absent. */
  answeredWhileFailed?: boolean;
  /** See {@link RequestDeclaration.answeredWhileLoading}; false when absent. */
  answeredWhileLoading?: boolean;
}): RequestDeclaration<P, R, M, L> {
  return Object.freeze({
    ...declaration,
    answeredWhileFailed: declaration.answeredWhileFailed ?? false,
    answeredWhileLoading: declaration.answeredWhileLoading ?? false,
    type: new RequestType<z.input<P>, z.output<R>, unknown>(declaration.method),
  });
}

/** Declares a notification; the method string and the lane stay literal in the type. Like `defineRequest`, pure. */
/* @__NO_SIDE_EFFECTS__ */
export function defineNotification<
  P extends z.ZodType,
  const M extends string,
  const L extends Lane | 'none',
>(declaration: {
  method: M;
  direction: Direction;
  lane: L;
  params: P;
  summary: string;
}): NotificationDeclaration<P, M, L> {
  return Object.freeze({ ...declaration, type: new NotificationType<z.input<P>>(declaration.method) });
}

/** The params type of a request declaration, as a client sends it. */
export type ParamsOf<D> = D extends RequestDeclaration<infer P, z.ZodType, string, Lane> ? z.input<P> : never;
/** The result type of a request declaration, as a client receives it. */
export type ResultOf<D> = D extends RequestDeclaration<z.ZodType, infer R, string, Lane> ? z.output<R> : never;
