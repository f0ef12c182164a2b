// The messages the Studio reducer consumes: packer requests sent, their responses and errors, events, connection changes.
import type { PackerEvent, ParamsOf, ResultOf, packerRequests } from '@prometeu/packer-protocol';

/** The requests of the protocol, by short name. */
type Requests = typeof packerRequests;

/** The short name of a packer request (`listAssets`, `pack`...). */
export type RequestName = keyof Requests;

/** A request the client sent. Writes carry the client-chosen `operationId` so their events can be followed. */
export type RequestMessage = {
  readonly [K in RequestName]: {
    readonly type: 'request';
    readonly method: K;
    readonly params: ParamsOf<Requests[K]>;
  };
}[RequestName];

/** A request's result, exactly as the server answered it, with the params it answered. */
export type ResponseMessage = {
  readonly [K in RequestName]: {
    readonly type: 'response';
    readonly method: K;
    readonly params: ParamsOf<Requests[K]>;
    readonly result: ResultOf<Requests[K]>;
  };
}[RequestName];

/** The response of one request method. */
export type ResponseOf<K extends RequestName> = Extract<ResponseMessage, { readonly method: K }>;

/** A JSON-RPC error response to a request. */
export interface ErrorMessage {
  readonly type: 'error';
  readonly method: RequestName;
  readonly params: unknown;
  /** The error object as the server sent it. */
  readonly error: { readonly code: number; readonly message: string; readonly data?: unknown };
}

/** One `packer/event` notification (live, or replayed by `packer/events`). */
export interface EventMessage {
  readonly type: 'event';
  readonly event: PackerEvent;
}

/**
 * What the connection to the packer did. `disconnected` says the transport is gone (nothing about any
 * operation's outcome); `connected` carries the epoch once the page knows it.
 */
export interface ConnectionMessage {
  readonly type: 'connection';
  readonly state: 'connecting' | 'connected' | 'disconnected';
  /** Why the connection ended, as the transport reported it. */
  readonly reason?: string;
}

/**
 * The packer could not replay the missed events (a new `epoch`: the server restarted, or they were
 * dropped from retention): everything derived from events is forgotten, and the page reads again.
 */
export interface ResyncMessage {
  readonly type: 'resync';
  /** The epoch of the server the page is now connected to. */
  readonly epoch: string;
  /** Why: `epochChanged` or `dropped`, as the packer reported it. */
  readonly reason: 'epochChanged' | 'dropped';
}

/** Selects the asset whose details the page shows (a view choice, not packer state). */
export interface SelectMessage {
  readonly type: 'select';
  /** The root of the asset, relative to `assets/`, or null for none. */
  readonly root: string | null;
}

/** Closes a preview card without applying it (a view choice; nothing is sent). */
export interface DismissPreviewMessage {
  readonly type: 'dismissPreview';
  readonly previewId: string;
}

/** Every message the reducer understands. */
export type StudioMessage =
  | RequestMessage
  | ResponseMessage
  | ErrorMessage
  | EventMessage
  | ConnectionMessage
  | ResyncMessage
  | SelectMessage
  | DismissPreviewMessage;

/** Builds a {@link ResponseMessage} with its types checked against the protocol. */
export function responseMessage<K extends RequestName>(
  method: K,
  params: ParamsOf<Requests[K]>,
  result: ResultOf<Requests[K]>,
): ResponseOf<K> {
  return { type: 'response', method, params, result } as unknown as ResponseOf<K>;
}

/** Builds a {@link RequestMessage} with its types checked against the protocol. */
export function requestMessage<K extends RequestName>(method: K, params: ParamsOf<Requests[K]>): RequestMessage {
  return { type: 'request', method, params } as unknown as RequestMessage;
}

/** Wraps one event. */
export function eventMessage(event: PackerEvent): EventMessage {
  return { type: 'event', event };
}
