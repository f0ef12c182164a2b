/** The event-throughput consumer: a child process that parses frames from stdin and counts `operation.progress` events. */
import { StreamMessageReader } from 'vscode-jsonrpc/node';

/** What the consumer reports once it has seen every event. */
export interface ConsumerReport {
  /** Events counted: one per frame plus what each merged frame says it replaced. */
  readonly events: number;
  /** `packer/event` progress frames received. */
  readonly frames: number;
  /** Events that arrived merged into a later one (`body.merged`). */
  readonly merged: number;
}

interface IncomingMessage {
  readonly id?: unknown;
  readonly method?: string;
  readonly result?: unknown;
  readonly error?: unknown;
  readonly params?: { readonly kind?: string; readonly body?: { readonly merged?: number } };
}

/**
 * Parses JSON-RPC frames from stdin with vscode-jsonrpc, as a client does, and counts progress events, merged
 * ones included. Prints one line each on stdout: `ready` at start, `answered` for the first response it
 * sees, `done {json}` (a {@link ConsumerReport}) once it counted `expected` events.
 */
function main(expected: number): void {
  let events = 0;
  let frames = 0;
  let merged = 0;
  let answered = false;
  let done = false;
  const reader = new StreamMessageReader(process.stdin);
  reader.listen((message) => {
    const incoming = message as IncomingMessage;
    if (incoming.method === undefined) {
      if (!answered && ('result' in incoming || 'error' in incoming)) {
        answered = true;
        process.stdout.write('answered\n');
      }
      return;
    }
    if (incoming.method !== 'packer/event' || incoming.params?.kind !== 'operation.progress') return;
    frames++;
    const replaced = incoming.params.body?.merged ?? 0;
    merged += replaced;
    events += 1 + replaced;
    if (!done && events >= expected) {
      done = true;
      const report: ConsumerReport = { events, frames, merged };
      process.stdout.write(`done ${JSON.stringify(report)}\n`);
    }
  });
  reader.onClose(() => process.exit(0));
  process.stdout.write('ready\n');
}

main(Number(process.argv[2] ?? '0'));
