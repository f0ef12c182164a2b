/**
 * The environment-neutral entry of the client (`@prometeu/packer-client/connection`): the typed client over
 * any message connection and the WebSocket transport, with none of the Node-only parts (process spawning,
 * streams), so a browser bundle can import it.
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
