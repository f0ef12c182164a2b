/** The read benchmarks' no-op floor: a tiny stdio JSON-RPC server, spawned like the packer server, that answers stored payloads. */
import { StreamMessageReader, StreamMessageWriter, createMessageConnection } from 'vscode-jsonrpc/node';

const payloads = new Map<string, unknown>();
const connection = createMessageConnection(
  new StreamMessageReader(process.stdin),
  new StreamMessageWriter(process.stdout),
);
let shutDown = false;

connection.onRequest('initialize', () => ({
  serverInfo: { name: 'prometeu-bench-noop', version: '1' },
  capabilities: {},
}));
connection.onRequest('shutdown', () => {
  shutDown = true;
  return null;
});
// Stores payloads once, untimed: `entries` is a list of [key, payload] pairs.
connection.onRequest('bench/load', (params: { entries: [string, unknown][] }) => {
  for (const [key, payload] of params.entries) payloads.set(key, payload);
  return { stored: payloads.size };
});
// The no-op request: answers the stored payload as is.
connection.onRequest('bench/echo', (params: { key: string }) => payloads.get(params.key) ?? null);
connection.onNotification('exit', () => process.exit(shutDown ? 0 : 1));
connection.onNotification(() => undefined);
connection.onClose(() => process.exit(shutDown ? 0 : 1));
connection.listen();
