/**
 * The `packer-server` entry point: the only file that touches the process's stdin and stdout. In stdio mode
 * stdout carries JSON-RPC frames and nothing else; every log goes to stderr.
 */
import { format } from 'node:util';
import { PACKER_PROTOCOL_VERSION } from '@prometeu/packer-protocol';
import { PackerHost } from './host.js';
import { startIdleCollection } from './io/idle-collection.js';
import { serveConnection } from './transport/connection.js';
import { serialiseAhead } from './transport/outbound-writer.js';

const USAGE = `Usage: packer-server --stdio

Serves the Prometeu packer protocol (JSON-RPC 2.0 with LSP framing) over stdin and stdout.
Options:
  --stdio      talk over stdin/stdout (the only transport)
  --version    print the protocol version to stderr and exit
  --help       print this text to stderr and exit
`;

function redirectConsoleToStderr(): void {
  const toStderr = (...args: unknown[]): void => {
    process.stderr.write(`${format(...args)}\n`);
  };
  console.log = toStderr;
  console.info = toStderr;
  console.debug = toStderr;
  console.warn = toStderr;
  console.error = toStderr;
}

function main(argv: readonly string[]): void {
  redirectConsoleToStderr();
  if (argv.includes('--help')) {
    process.stderr.write(USAGE);
    process.exit(0);
  }
  if (argv.includes('--version')) {
    process.stderr.write(`packer-server protocol ${PACKER_PROTOCOL_VERSION}\n`);
    process.exit(0);
  }
  const unknown = argv.filter((arg) => arg !== '--stdio' && !arg.startsWith('--clientProcessId'));
  if (!argv.includes('--stdio') || unknown.length > 0) {
    process.stderr.write(
      `packer-server: ${unknown.length > 0 ? `unknown argument ${unknown[0]}` : '--stdio is required'}\n\n${USAGE}`,
    );
    process.exit(2);
  }
  // The crawl threads start once initialize is answered (the connection's `initialized`), not before it.
  const host = new PackerHost({ deferLoadThreads: true, prepareAnswer: serialiseAhead });
  serveConnection({
    input: process.stdin,
    output: process.stdout,
    host,
    onExit: (code) => {
      host.dispose();
      // One more turn lets the outbound queue write what it holds (its flush is already scheduled).
      setImmediate(() => process.exit(code));
    },
  });
  // The garbage of an open or a pack is collected once the server is idle (see io/idle-collection.ts).
  startIdleCollection(process.stdin);
}

main(process.argv.slice(2));
