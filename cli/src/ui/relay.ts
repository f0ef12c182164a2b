/**
 * The `packer ui` relay: an HTTP server on 127.0.0.1 that serves the panel's static files and, for each
 * WebSocket, spawns a `packer-server --stdio` and carries JSON-RPC messages between the two (LSP framing on
 * the server's side, one message per text frame on the page's side), adding no semantics of its own. Every
 * request and the upgrade need the per-run token; the upgrade also needs the served origin.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { FrameReader, frame } from './framing.js';

/** How the relay starts and what it serves. */
export interface RelayOptions {
  /** The folder holding `index.html`, `app.js` and `app.css`. */
  readonly staticDir: string;
  /** The project the page opens, as a `file:` URI. */
  readonly projectUri: string;
  /** The server command and its arguments (`node <server script> --stdio`). */
  readonly serverCommand: string;
  readonly serverArgs: readonly string[];
  /** 0 picks a free port. */
  readonly port: number;
  /** The token; a new random one by default. */
  readonly token?: string;
  /** Where the relay reports what it does (stderr). */
  readonly log?: (line: string) => void;
}

/** A running relay. */
export interface Relay {
  /** The address the listener is bound to: always `127.0.0.1`. */
  readonly address: string;
  readonly port: number;
  readonly token: string;
  /** `http://127.0.0.1:PORT`: the only origin the upgrade accepts. */
  readonly origin: string;
  /** The page's address, with the token. */
  readonly url: string;
  /** The pids of the servers spawned for the open WebSockets. */
  serverPids(): number[];
  /** Closes every WebSocket, ends every server (stdin closed, then SIGKILL after a grace period) and the listener. */
  close(): Promise<void>;
}

const STATIC_TYPES: Readonly<Record<string, string>> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
};
/** How long a server may take to exit after its stdin closed, in ms. */
const SERVER_EXIT_GRACE_MS = 3_000;

/** Starts the relay on 127.0.0.1. */
export async function startRelay(options: RelayOptions): Promise<Relay> {
  const token = options.token ?? randomBytes(24).toString('hex');
  const log = options.log ?? (() => undefined);
  const servers = new Set<ChildProcess>();
  const sockets = new Set<WebSocket>();
  let origin = '';
  let host = '';

  const files = new Map<string, Buffer>();
  for (const name of Object.keys(STATIC_TYPES)) files.set(name, readFileSync(join(options.staticDir, name)));

  const authorised = (request: IncomingMessage): URL | undefined => {
    if (request.headers.host !== host) return undefined;
    const url = new URL(request.url ?? '/', origin);
    const given = Buffer.from(url.searchParams.get('token') ?? '');
    const expected = Buffer.from(token);
    return given.length === expected.length && timingSafeEqual(given, expected) ? url : undefined;
  };

  const http: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const url = authorised(request);
    if (url === undefined) {
      response.writeHead(401, { 'Content-Length': '0' }).end();
      return;
    }
    const name = url.pathname === '/' ? 'index.html' : url.pathname.slice(1);
    const body = files.get(name);
    if (request.method !== 'GET' || body === undefined) {
      response.writeHead(request.method !== 'GET' ? 405 : 404, { 'Content-Length': '0' }).end();
      return;
    }
    const content =
      name === 'index.html'
        ? Buffer.from(
            body
              .toString('utf8')
              .replaceAll('__PACKER_TOKEN__', token)
              .replaceAll('__PACKER_PROJECT__', escapeAttribute(options.projectUri)),
          )
        : body;
    response.writeHead(200, {
      'Content-Type': STATIC_TYPES[name]!,
      'Content-Length': String(content.length),
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'X-Frame-Options': 'DENY',
      'Content-Security-Policy': `default-src 'self'; connect-src ws://${host}; img-src 'self' data:; frame-ancestors 'none'`,
    });
    response.end(content);
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 * 1024 });
  http.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = authorised(request);
    if (url === undefined || url.pathname !== '/rpc') {
      socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    if (request.headers.origin !== origin) {
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(request, socket, head, (webSocket) => carry(webSocket));
  });

  /** Connects one WebSocket to a server of its own, until either ends. */
  const carry = (webSocket: WebSocket): void => {
    sockets.add(webSocket);
    const child = spawn(options.serverCommand, [...options.serverArgs], { stdio: ['pipe', 'pipe', 'pipe'] });
    servers.add(child);
    log(`server ${child.pid ?? '?'} started for a page`);
    child.stderr?.on('data', () => undefined);
    const reader = new FrameReader((body) => {
      if (webSocket.readyState === webSocket.OPEN) webSocket.send(body);
    });
    child.stdout?.on('data', (chunk: Buffer) => reader.push(chunk));
    child.stdin?.on('error', () => undefined);
    child.on('exit', (code, signal) => {
      servers.delete(child);
      log(`server ${child.pid ?? '?'} exited (${signal ?? code})`);
      // The page learns that its server is gone by its socket closing; it reconnects to a new one.
      if (webSocket.readyState === webSocket.OPEN || webSocket.readyState === webSocket.CONNECTING)
        webSocket.close(1011, 'packer server exited');
    });
    child.on('error', (error) => {
      log(`server could not start: ${error.message}`);
      webSocket.close(1011, 'packer server could not start');
    });
    webSocket.on('message', (data, isBinary) => {
      if (isBinary || child.stdin === null || child.stdin.destroyed) return;
      child.stdin.write(frame(Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer)));
    });
    webSocket.on('close', () => {
      sockets.delete(webSocket);
      void endServer(child);
    });
  };

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port, '127.0.0.1', () => resolve());
  });
  const { address, port } = http.address() as AddressInfo;
  host = `127.0.0.1:${port}`;
  origin = `http://${host}`;

  return {
    address,
    port,
    token,
    origin,
    url: `${origin}/?token=${token}`,
    serverPids: () => [...servers].flatMap((child) => (child.pid === undefined ? [] : [child.pid])),
    close: async () => {
      for (const webSocket of sockets) webSocket.close(1001, 'packer ui stopped');
      await Promise.all([...servers].map((child) => endServer(child)));
      wss.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

/** Ends a server: its stdin closes (the connection is over), then SIGKILL if it has not exited in time. */
function endServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), SERVER_EXIT_GRACE_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.stdin?.end();
  });
}

function escapeAttribute(value: string): string {
  return value.replaceAll('&', '&amp;').replaceAll('"', '&quot;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}
