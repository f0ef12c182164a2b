/**
 * The packer client library: a typed, cancellable connection to a packer server, for Studio (Electron),
 * editor extensions, the CLI and tests. Protocol types are re-exported so callers need one import.
 */
export {
  PackerClient,
  type ClientState,
  type InvalidEvent,
  type LogMessage,
  type LogTrace,
  type ProtocolRequestMethods,
  type ServerExitInfo,
  type StopResult,
} from './packer-client.js';
export {
  type EndpointDisposable,
  type EventSource,
  type JsonRpcEndpoint,
  type NotificationParamsOf,
  type NotificationSender,
  type RequestOptions,
  type RequestSender,
  type Unsubscribe,
} from './ports.js';
export { EventSink, type EventSinkOptions } from './event-sink.js';
export { PackerConnection, type ConnectionRequestMethods, type ConnectionStartOptions } from './connection-client.js';
export { WebSocketMessageReader, WebSocketMessageWriter, type WebSocketLike } from './websocket-transport.js';
export {
  ProjectEventFeed,
  type EventCursor,
  type FeedSource,
  type FeedStart,
  type ProjectEventFeedOptions,
  type ResumeFrom,
  type ResumeOptions,
  type ResumeResult,
  type ResyncReason,
} from './event-feed.js';
export {
  type OperationHandle,
  type OperationHost,
  type OperationOptions,
  type OperationParams,
  type SubmitOptions,
  type SubmitParams,
  type TerminalEvent,
} from './operations.js';
export {
  DEFAULT_INITIALIZE_TIMEOUT_MS,
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
  DEFAULT_STDERR_TAIL_BYTES,
  type PackerClientOptions,
  type SpawnOptions,
  type TraceValue,
  type WorkspaceFolder,
} from './options.js';
export {
  ClientStateError,
  ConnectionClosedError,
  PackerClientError,
  PackerRequestError,
  RequestCancelledError,
  ServerCrashedError,
  ServerProtocolError,
  ServerSpawnError,
  ServerTimeoutError,
  SubmissionRefusedError,
  errorCodeName,
  isCancellation,
  isPackerClientError,
  isPackerError,
  type PackerClientErrorKind,
  type PackerRequestErrorOf,
  type TimeoutPhase,
} from './errors.js';
export {
  PackerErrorCodes,
  StandardErrorCodes,
  packerNotifications,
  packerRequests,
  type ApplyResult,
  type InitializeResult,
  type MutationIntent,
  type MutationPreview,
  type NotificationDeclaration,
  type PackerErrorCode,
  type PackerEvent,
  type PackerRequestName,
  type ParamsOf,
  type RequestDeclaration,
  type ResultOf,
} from '@prometeu/packer-protocol';
