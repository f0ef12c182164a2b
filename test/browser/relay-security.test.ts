/**
 * The `packer ui` relay's security, against a stand-in server that echoes frames: it listens on 127.0.0.1
 * only; every HTTP request and the WebSocket upgrade need this run's token; the upgrade needs the served
 * origin; no response carries CORS headers; a request without the token gets 401 and nothing else.
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startRelay, type Relay } from '../../cli/src/ui/relay.js';

const ECHO = fileURLToPath(new URL('./fixtures/echo-frames.mjs', import.meta.url));
const BUILT_PAGE = fileURLToPath(new URL('../../cli/dist/ui/static/', import.meta.url));
const relays: Relay[] = [];

afterEach(async () => {
  await Promise.all(relays.splice(0).map((relay) => relay.close()));
});

async function relay(): Promise<Relay> {
  const started = await startRelay({
    // The built page (`npm run build` writes it next to the compiled command).
    staticDir: BUILT_PAGE,
    projectUri: 'file:///nowhere/project',
    serverCommand: process.execPath,
    serverArgs: [ECHO],
    port: 0,
  });
  relays.push(started);
  return started;
}

interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

function get(relay: Relay, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const sent = httpRequest({ host: '127.0.0.1', port: relay.port, path, method, headers }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
    });
    sent.on('error', reject);
    sent.end();
  });
}

/** Opens a WebSocket to the relay; resolves with the socket once open, or the HTTP status that refused it. */
function openSocket(url: string, origin: string | undefined): Promise<WebSocket | number> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url, origin === undefined ? {} : { origin });
    socket.once('open', () => resolve(socket));
    socket.once('unexpected-response', (_request, response) => {
      resolve(response.statusCode ?? 0);
      socket.terminate();
    });
    socket.once('error', () => resolve(-1));
  });
}

const corsHeaders = (headers: IncomingHttpHeaders): string[] =>
  Object.keys(headers).filter((name) => name.toLowerCase().startsWith('access-control-'));

describe('the packer ui relay', () => {
  it('listens on 127.0.0.1 only, not on other local addresses', async () => {
    const started = await relay();
    expect(started.address).toBe('127.0.0.1');
    expect(started.url).toBe(`http://127.0.0.1:${started.port}/?token=${started.token}`);
    const refused = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '::1', port: started.port });
      socket.once('connect', () => (socket.destroy(), resolve(false)));
      socket.once('error', () => resolve(true));
    });
    expect(refused).toBe(true);
  });

  it('makes a new random token each run', async () => {
    const first = await relay();
    const second = await relay();
    expect(first.token).toMatch(/^[0-9a-f]{48}$/);
    expect(second.token).not.toBe(first.token);
  });

  it('answers a request without the token, or with a wrong one, with 401 and an empty body', async () => {
    const started = await relay();
    for (const path of [
      '/',
      '/app.js',
      '/app.css',
      '/?token=',
      `/?token=${'0'.repeat(48)}`,
      `/?token=${started.token}x`,
    ]) {
      const answer = await get(started, path);
      expect(answer.status, path).toBe(401);
      expect(answer.body, path).toBe('');
      expect(answer.headers['content-type'], path).toBeUndefined();
      expect(corsHeaders(answer.headers), path).toEqual([]);
    }
  });

  it('serves the page with the token, with the token and project filled in and no CORS headers', async () => {
    const started = await relay();
    const page = await get(started, `/?token=${started.token}`, { Origin: 'http://evil.example' });
    expect(page.status).toBe(200);
    expect(page.body).toContain(`app.js?token=${started.token}`);
    expect(page.body).toContain('content="file:///nowhere/project"');
    expect(page.body).not.toContain('__PACKER_');
    expect(corsHeaders(page.headers)).toEqual([]);
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    const script = await get(started, `/app.js?token=${started.token}`);
    expect(script.status).toBe(200);
    expect(script.headers['content-type']).toContain('javascript');
  });

  it('refuses a request whose Host is not the served address (DNS rebinding)', async () => {
    const started = await relay();
    const answer = await get(started, `/?token=${started.token}`, { Host: `evil.example:${started.port}` });
    expect(answer.status).toBe(401);
    expect(answer.body).toBe('');
  });

  it('refuses the WebSocket upgrade without the token (401) and from another origin (403)', async () => {
    const started = await relay();
    const base = `ws://127.0.0.1:${started.port}/rpc`;
    expect(await openSocket(base, started.origin)).toBe(401);
    expect(await openSocket(`${base}?token=wrong`, started.origin)).toBe(401);
    expect(await openSocket(`${base}?token=${started.token}`, 'http://evil.example')).toBe(403);
    expect(await openSocket(`${base}?token=${started.token}`, `http://localhost:${started.port}`)).toBe(403);
    expect(await openSocket(`${base}?token=${started.token}`, undefined)).toBe(403);
    expect(started.serverPids()).toEqual([]);
  });

  it('carries messages both ways for every tab with the token, each with a server of its own', async () => {
    const started = await relay();
    const url = `ws://127.0.0.1:${started.port}/rpc?token=${started.token}`;
    const tabs = [await openSocket(url, started.origin), await openSocket(url, started.origin)];
    for (const [index, tab] of tabs.entries()) {
      expect(tab).toBeInstanceOf(WebSocket);
      const socket = tab as WebSocket;
      const message = JSON.stringify({ jsonrpc: '2.0', method: 'ping', params: { tab: index, text: 'héllo' } });
      const echoed = new Promise<string>((resolve) =>
        socket.once('message', (data: Buffer) => resolve(data.toString('utf8'))),
      );
      socket.send(message);
      expect(await echoed).toBe(message);
    }
    expect(started.serverPids()).toHaveLength(2);
    for (const tab of tabs) (tab as WebSocket).close();
  });

  it('closes the page socket when its server exits, and ends the servers when it stops', async () => {
    const started = await relay();
    const socket = (await openSocket(
      `ws://127.0.0.1:${started.port}/rpc?token=${started.token}`,
      started.origin,
    )) as WebSocket;
    const [pid] = started.serverPids();
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    process.kill(pid!, 'SIGKILL');
    expect(await closed).toBe(1011);
    const second = (await openSocket(
      `ws://127.0.0.1:${started.port}/rpc?token=${started.token}`,
      started.origin,
    )) as WebSocket;
    const secondClosed = new Promise<number>((resolve) => second.once('close', (code) => resolve(code)));
    await started.close();
    relays.splice(relays.indexOf(started), 1);
    expect(await secondClosed).toBe(1001);
    expect(started.serverPids()).toEqual([]);
  });
});
