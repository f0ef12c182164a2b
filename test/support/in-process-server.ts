/** A packer server served in this process over two in-memory streams, with a client connection to it, for tests that drive the wire without spawning a process. */
import { PassThrough } from 'node:stream';
import {
  StreamMessageReader,
  StreamMessageWriter,
  createMessageConnection,
  type MessageConnection,
} from 'vscode-jsonrpc/node';
import { PackerHost } from '../../server/src/host.js';
import { serveConnection } from '../../server/src/transport/connection.js';

/** An initialized client connection to a server in this process, and what the server wrote to it. */
export interface InProcessServer {
  readonly connection: MessageConnection;
  readonly host: PackerHost;
  /** Every byte the server wrote, in order, since the connection was made. */
  written(): Buffer;
  /** Ends the connection, the server side and the host. */
  dispose(): void;
}

/** Serves a fresh host (no watcher) in this process and connects a client that has sent `initialize`. */
export async function connectInProcess(): Promise<InProcessServer> {
  const toServer = new PassThrough();
  const toClient = new PassThrough();
  const chunks: Buffer[] = [];
  toClient.on('data', (chunk: Buffer) => chunks.push(chunk));
  const host = new PackerHost({ watcher: null });
  const served = serveConnection({
    input: toServer,
    output: toClient,
    host,
    onExit: () => undefined,
    log: () => undefined,
    isProcessAlive: () => true,
  });
  const connection = createMessageConnection(new StreamMessageReader(toClient), new StreamMessageWriter(toServer));
  connection.listen();
  await connection.sendRequest('initialize', { processId: null, capabilities: {} });
  return {
    connection,
    host,
    written: () => Buffer.concat(chunks),
    dispose: () => {
      connection.dispose();
      served.dispose();
      host.dispose();
    },
  };
}
