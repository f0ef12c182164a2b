/**
 * Broken framing against the real server over stdio: after every broken input a valid request is answered,
 * or the server has exited with code 1, within a bound. Covers each case of issue 9 explicitly, then a
 * seeded generator of broken frames.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createRandom, type Random } from '../../tools/src/prng.js';
import { ServerProcess, frame, request } from './server-process.js';

const servers: ServerProcess[] = [];
const folders: string[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.dispose();
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

function start(): ServerProcess {
  const server = new ServerProcess();
  servers.push(server);
  return server;
}

/** A project folder with an empty `assets/`. */
function tempProject(): string {
  const dir = mkdtempSync(join(tmpdir(), 'packer-framing-'));
  folders.push(dir);
  mkdirSync(join(dir, 'assets'));
  return dir;
}

/** An initialized server with no project open. */
async function initializedServer(): Promise<ServerProcess> {
  const server = start();
  const answer = await server.initialize();
  expect(answer.result).toBeDefined();
  return server;
}

let probeCounter = 0;

/**
 * Sends `count` valid requests and waits until one is answered by a handler (not by the transport) or the
 * server exited. Several are sent because a broken frame that claims too many bytes swallows the next one.
 */
async function probe(server: ServerProcess, count = 4): Promise<'answered' | 'exited'> {
  const ids = Array.from({ length: count }, () => `probe-${++probeCounter}`);
  for (const id of ids) await server.write(request(id, 'packer/projectStatus', { projectId: 'no-such-project' }));
  const settled = await server.waitFor(
    () => server.exitCode !== undefined || ids.some((id) => server.answerTo(id) !== undefined),
  );
  expect(settled, `neither an answer nor an exit; stderr:\n${server.stderr}`).toBe(true);
  if (server.exitCode !== undefined) return 'exited';
  const answer = ids.map((id) => server.answerTo(id)).find((candidate) => candidate !== undefined)!;
  // The handler answered (an unknown project), so the request went through framing and dispatch.
  expect(answer.error?.code).not.toBe(-32700);
  expect(answer.error?.code).not.toBe(-32600);
  return 'answered';
}

/** Errors the transport answered with id null, in order. */
function nullIdErrors(server: ServerProcess): Array<{ code: number; message: string }> {
  return server.received.filter((message) => message.id === null && message.error).map((message) => message.error!);
}

const VALID = JSON.stringify({ jsonrpc: '2.0', id: 'swallowed', method: 'packer/projectStatus', params: {} });

describe('broken framing against the real server', () => {
  const cases: Array<[string, string]> = [
    ['a Content-Length larger than its body', `Content-Length: ${VALID.length + 40}\r\n\r\n${VALID}`],
    ['a header without Content-Length followed by a body', `Content-Type: application/json\r\n\r\n${VALID}`],
    ['a negative Content-Length', `Content-Length: -12\r\n\r\n${VALID}`],
    ['a non-numeric Content-Length', `Content-Length: abc\r\n\r\n${VALID}`],
    ['unframed bytes', `${VALID}\r\n${VALID}\r\n`],
  ];
  for (const [name, input] of cases) {
    it(`answers -32700 after ${name} and then serves the next valid request`, async () => {
      const server = await initializedServer();
      await server.write(input);
      expect(await probe(server)).toBe('answered');
      expect(nullIdErrors(server).map((error) => error.code)).toContain(-32700);
      expect(server.exitCode).toBeUndefined();
    });
  }

  it('answers a request with "id": null with -32600 and id null, and keeps serving', async () => {
    const server = await initializedServer();
    await server.write(frame('{"jsonrpc":"2.0","id":null,"method":"packer/projectStatus","params":{}}'));
    expect(await server.waitFor(() => nullIdErrors(server).length > 0)).toBe(true);
    expect(nullIdErrors(server)[0]!.code).toBe(-32600);
    expect(nullIdErrors(server)[0]!.message).toMatch(/not null/);
    expect(await probe(server)).toBe('answered');
  });

  it('answers a body that is not JSON with -32700 and keeps serving', async () => {
    const server = await initializedServer();
    await server.write(frame('{"jsonrpc": "2.0", "id": 1, "method": '));
    expect(await probe(server)).toBe('answered');
    expect(nullIdErrors(server).map((error) => error.code)).toEqual([-32700]);
  });

  it('refuses a Content-Length of 10^12 naming the limit, skips what follows and stays up', async () => {
    const server = await initializedServer();
    await server.write('Content-Length: 1000000000000\r\n\r\n');
    expect(await server.waitFor(() => nullIdErrors(server).length > 0)).toBe(true);
    expect(nullIdErrors(server)[0]!.code).toBe(-32600);
    expect(nullIdErrors(server)[0]!.message).toMatch(/longer than the limit of 67108864 bytes/);
    // What follows is the refused frame's body: skipped, not buffered (the reader's counters pin that in
    // test/transport), and it does not bring the server down.
    const chunk = Buffer.alloc(1024 * 1024, 0x7b);
    for (let index = 0; index < 4; index++) await server.write(chunk);
    expect(server.exitCode).toBeUndefined();
    server.endInput();
    expect(await server.waitFor(() => server.exitCode !== undefined)).toBe(true);
    expect(server.exitCode).toBe(1);
  });

  it('skips a real frame one byte over 64 MiB and serves the request after it', async () => {
    const server = await initializedServer();
    await server.write(frame(Buffer.alloc(64 * 1024 * 1024 + 1, 0x20)));
    expect(await probe(server, 1)).toBe('answered');
    expect(nullIdErrors(server).map((error) => error.code)).toEqual([-32600]);
  });

  it('exits with code 1, saying why on stderr, after more than 1 MiB of input without a header', async () => {
    const server = await initializedServer();
    await server.write(Buffer.alloc(2 * 1024 * 1024, 'garbage '));
    expect(await server.waitFor(() => server.exitCode !== undefined)).toBe(true);
    expect(server.exitCode).toBe(1);
    expect(server.stderr).toMatch(/no valid frame header was found in 1048576 bytes of input/);
    expect(nullIdErrors(server).map((error) => error.code)).toEqual([-32700]);
  });

  it('refuses a createAsset preview nested 5,000 levels deep with an error naming the limit, and stays up', async () => {
    const project = tempProject();
    const server = start();
    const init = await server.initialize([{ uri: pathToFileURL(project).href, name: 'p' }]);
    const projectId = (init.result as { projects: Array<{ projectId: string }> }).projects[0]!.projectId;
    let value = '{}';
    const depth = 5000;
    const declaration = `${'{"x":'.repeat(depth)}${value}${'}'.repeat(depth)}`;
    value = `{"jsonrpc":"2.0","id":"deep","method":"packer/previewMutation","params":{"projectId":${JSON.stringify(projectId)},"mutation":{"kind":"createAsset","root":"deep","register":false,"declaration":${declaration}}}}`;
    await server.write(frame(value));
    expect(await server.waitFor(() => server.answerTo('deep') !== undefined)).toBe(true);
    const answer = server.answerTo('deep')!;
    expect(answer.error?.code).toBe(-32600);
    expect(answer.error?.message).toMatch(/deeper than the limit of 64 levels/);
    await server.write(request('status', 'packer/projectStatus', { projectId }));
    expect(await server.waitFor(() => server.answerTo('status') !== undefined)).toBe(true);
    expect(server.answerTo('status')!.result).toBeDefined();
    expect(server.exitCode).toBeUndefined();
  });

  it('lets a createAsset preview with a declaration of legitimate depth reach its handler', async () => {
    const project = tempProject();
    const server = start();
    const init = await server.initialize([{ uri: pathToFileURL(project).href, name: 'p' }]);
    const projectId = (init.result as { projects: Array<{ projectId: string }> }).projects[0]!.projectId;
    let options: unknown = 1;
    for (let level = 0; level < 40; level++) options = { nested: options };
    const declaration = {
      schema_version: 1,
      name: 'hero',
      type: 'blob',
      inputs: { data: ['hero.bin'] },
      output: { format: 'BLOB/raw_v1', codec: 'NONE', codec_options: options },
      preload: { enabled: false },
    };
    await server.write(
      request('legit', 'packer/previewMutation', {
        projectId,
        mutation: { kind: 'createAsset', root: 'hero', register: false, declaration },
      }),
    );
    expect(await server.waitFor(() => server.answerTo('legit') !== undefined)).toBe(true);
    const answer = server.answerTo('legit')!;
    expect(answer.error?.message ?? '').not.toMatch(/levels/);
    expect(answer.error?.code).not.toBe(-32600);
  });
});

/** One broken input of a kind the generator picks. */
function brokenInput(random: Random): { kind: string; bytes: Buffer } {
  const body = JSON.stringify({ jsonrpc: '2.0', id: random.integer(1, 1e6), method: 'packer/projectStatus' });
  const kinds: Array<[string, () => Buffer | string]> = [
    ['too long a Content-Length', () => `Content-Length: ${body.length + random.integer(1, 200)}\r\n\r\n${body}`],
    ['too short a Content-Length', () => `Content-Length: ${random.integer(0, body.length - 1)}\r\n\r\n${body}`],
    ['no Content-Length', () => `Content-Type: application/vscode-jsonrpc\r\n\r\n${body}`],
    ['negative Content-Length', () => `Content-Length: -${random.integer(1, 99)}\r\n\r\n${body}`],
    [
      'non-numeric Content-Length',
      () => `Content-Length: ${random.pick(['x', '1e3', '0x10', '', ' 5 5'])}\r\n\r\n${body}`,
    ],
    ['unframed JSON', () => `${body}\n`.repeat(random.integer(1, 20))],
    ['random bytes', () => Buffer.from(Array.from({ length: random.integer(1, 4000) }, () => random.integer(0, 255)))],
    ['truncated header', () => 'Content-Length: 12\r\n'.slice(0, random.integer(1, 19))],
    ['bare line feeds', () => `Content-Length: ${body.length}\n\n${body}`],
    ['two Content-Length lines', () => `Content-Length: ${body.length}\r\nContent-Length: 3\r\n\r\n${body}`],
    ['a body that is not JSON', () => frame(body.slice(0, random.integer(1, body.length - 1)))],
    ['id null', () => frame(body.replace(/"id":\d+/, '"id":null'))],
    ['a non-integer id', () => frame(body.replace(/"id":\d+/, `"id":${random.pick(['1.5', '{}', '[]', 'true'])}`))],
    ['the wrong jsonrpc', () => frame(body.replace('"2.0"', random.pick(['"1.0"', '2', 'null'])))],
    [
      'a nested request',
      () => {
        const depth = random.integer(65, 20_000);
        return frame(`{"jsonrpc":"2.0","id":1,"method":"m","params":${'['.repeat(depth)}${']'.repeat(depth)}}`);
      },
    ],
    ['an oversized header', () => `X-Padding: ${'p'.repeat(random.integer(8200, 20_000))}\r\n\r\n`],
    [
      'endless garbage',
      () => Buffer.alloc(random.integer(1024 * 1024 + 1, 2 * 1024 * 1024), random.pick(['{', 'x', ' '])),
    ],
  ];
  const [kind, make] = random.pick(kinds);
  const made = make();
  return { kind, bytes: typeof made === 'string' ? Buffer.from(made, 'latin1') : made };
}

describe('seeded framing fuzz against the real server', () => {
  it('after each of 40 seeded broken inputs, a valid request is answered or the server exited with 1', async () => {
    const random = createRandom(0x9f4a_2026);
    let server = start();
    await server.initialize();
    const outcomes: string[] = [];
    for (let index = 0; index < 40; index++) {
      const { kind, bytes } = brokenInput(random);
      await server.write(bytes);
      const outcome = await probe(server);
      if (outcome === 'exited') {
        expect(server.exitCode, `case ${index} (${kind}) ended the server with an undocumented code`).toBe(1);
        expect(server.stderr).toMatch(/Unrecoverable framing: no valid frame header was found in 1048576 bytes/);
        server = start();
        await server.initialize();
      }
      outcomes.push(`${kind}: ${outcome}`);
    }
    // Every kind but endless garbage recovers; the run exercised both recovery and the exit.
    expect(outcomes.filter((line) => line.endsWith('answered')).length).toBeGreaterThan(30);
    expect(outcomes).toContain('endless garbage: exited');
    expect(outcomes.filter((line) => line.endsWith('exited')).every((line) => line.startsWith('endless'))).toBe(true);
  });
});
