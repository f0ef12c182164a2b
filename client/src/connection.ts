/**
 * The environment-neutral entry of the client (`@prometeu/packer-client/connection`): the typed client over
 * any message connection and the WebSocket transport, with none of the Node-only parts (process spawning,
 * streams), so a browser bundle can import it. An editor extension uses it over the connection it already has
 * (`PackerConnection.fromEndpoint(languageClient)`).
 */
export { PackerConnection, type ConnectionRequestMethods, type ConnectionStartOptions } from './connection-client.js';
export { WebSocketMessageReader, WebSocketMessageWriter, type WebSocketLike } from './websocket-transport.js';
export {
  ConnectionClosedError,
  PackerClientError,
  PackerRequestError,
  RequestCancelledError,
  isPackerError,
} from './errors.js';
export type { ResumeFrom, ResumeResult } from './event-feed.js';
export type { EndpointDisposable, JsonRpcEndpoint, RequestOptions, Unsubscribe } from './ports.js';
export type {
  OperationHandle,
  OperationOptions,
  OperationParams,
  SubmitOptions,
  SubmitParams,
  TerminalEvent,
} from './operations.js';
export { EventSink } from './event-sink.js';
export { ServerTimeoutError, ClientStateError } from './errors.js';
