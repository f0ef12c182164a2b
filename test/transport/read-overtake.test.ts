/**
 * Reads ahead of held writes, over the wire: messages are written to the server's input as one chunk, so every write
 * is waiting in the input when the read arrives. A read goes ahead of the writes not yet dispatched; the writes keep
 * their order, a cancellation still cancels a held write, and a read never goes ahead of a lifecycle or server-lane
 * message before it.
 */
import { PassThrough } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { PackerHost } from '../../server/src/host.js';
import { serveConnection } from '../../server/src/transport/connection.js';
import { useTempDirs, writeProject } from '../support/workspace-builder.js';

const tempDir = useTempDirs('packer-overtake-');
const disposers: (() => void)[] = [];
afterEach(() => {
  for (const dispose of disposers.splice(0)) dispose();
});

interface Frame {
  readonly id?: number | string;
  readonly method?: string;
  readonly params?: { kind?: string; operationId?: string };
  readonly result?: unknown;
  readonly error?: { code: number; message: string };
}

function frame(message: object): Buffer {
  const body = Buffer.from(JSON.stringify({ jsonrpc: '2.0', ...message }), 'utf8');
  return Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`, 'latin1'), body]);
}

/** A server over two in-memory streams, driven by raw frames; `frames` is every message it wrote, in order. */
function serve() {
  const input = new PassThrough();
  const output = new PassThrough();
  const frames: Frame[] = [];
  let pending = Buffer.alloc(0);
  const waiters: (() => void)[] = [];
  output.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    for (;;) {
      const headerEnd = pending.indexOf('\r\n\r\n');
      if (headerEnd < 0) break;
      const length = Number(/Content-Length: (\d+)/.exec(pending.subarray(0, headerEnd).toString('ascii'))![1]);
      if (pending.length < headerEnd + 4 + length) break;
      frames.push(JSON.parse(pending.subarray(headerEnd + 4, headerEnd + 4 + length).toString('utf8')) as Frame);
      pending = pending.subarray(headerEnd + 4 + length);
    }
    for (const wake of waiters.splice(0)) wake();
  });
  const host = new PackerHost({ watcher: null });
  const served = serveConnection({
    input,
    output,
    host,
    onExit: () => undefined,
    log: () => undefined,
    isProcessAlive: () => true,
  });
  disposers.push(() => {
    served.dispose();
    host.dispose();
  });
  /** Resolves once `done` holds for the frames written so far (checked after each chunk of output). */
  const until = async (done: () => boolean): Promise<void> => {
    const deadline = Date.now() + 30_000;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`Timed out; frames so far: ${JSON.stringify(frames.slice(-5))}`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  };
  const answerOf = (id: number | string): Frame | undefined =>
    frames.find((f) => f.id === id && f.method === undefined);
  /** Sends the messages as one chunk of input. */
  const send = (...messages: object[]): void => {
    input.write(Buffer.concat(messages.map(frame)));
  };
  const request = async (id: number, method: string, params: unknown): Promise<Frame> => {
    send({ id, method, params });
    await until(() => answerOf(id) !== undefined);
    return answerOf(id)!;
  };
  return { frames, send, until, answerOf, request };
}

/** A served, initialized connection with one project of `count` registered assets open. */
async function openedProject(count: number) {
  const dir = tempDir();
  writeProject(dir, { assets: Array.from({ length: count }, (_, i) => ({ root: `a/r${i}` })) });
  const server = serve();
  await server.request(1, 'initialize', { processId: null, capabilities: {} });
  server.send({ method: 'initialized', params: {} });
  const opened = await server.request(2, 'packer/openProject', { rootUri: pathToFileURL(dir).href });
  const projectId = (opened.result as { projectId: string }).projectId;
  // The open's own follow-up work (format checks) is done before the measured messages.
  await server.request(3, 'packer/projectStatus', { projectId });
  return { ...server, projectId, dir };
}

const apply = (id: number, projectId: string, assetId: number, included: boolean) => ({
  id,
  method: 'packer/applyMutation',
  params: { projectId, mutation: { kind: 'setBuildInclusion', asset: { assetId }, included } },
});

/** The index in `frames` of the answer to `id`. */
function answerIndex(frames: readonly Frame[], id: number): number {
  return frames.findIndex((f) => f.id === id && f.method === undefined);
}

/** Whether a `getAssetDetails` answer says its asset is in the build. */
function includedOf(answer: Frame): boolean {
  return (answer.result as { asset: { includedInBuild: boolean } }).asset.includedInBuild;
}

/** The operation ids of the `operation.queued` events among `frames`, in order. */
function queuedEvents(frames: readonly Frame[]): string[] {
  return frames
    .filter((f) => f.method === 'packer/event' && f.params?.kind === 'operation.queued')
    .map((f) => f.params!.operationId!);
}

describe('reads ahead of held writes', () => {
  it('answers a read sent after 40 write requests before the lane has even queued the second of them', async () => {
    const server = await openedProject(40);
    const before = server.frames.length;
    const writes = Array.from({ length: 40 }, (_, i) => apply(100 + i, server.projectId, i + 1, false));
    server.send(...writes, {
      id: 99,
      method: 'packer/getAssetDetails',
      params: { projectId: server.projectId, asset: { assetId: 40 } },
    });
    await server.until(() => writes.every((w) => server.answerOf(w.id) !== undefined));
    const after = server.frames.slice(before);
    const read = answerIndex(after, 99);
    expect(server.answerOf(99)?.error).toBeUndefined();
    // At most the first write was dispatched ahead of the read: the other 39 were still held when it was answered.
    expect(queuedEvents(after.slice(0, read)).length).toBeLessThanOrEqual(1);
    for (const write of writes) expect(answerIndex(after, write.id)).toBeGreaterThan(read);
    // What the read saw is a published revision from before the burst: asset 40 still included.
    expect(includedOf(server.answerOf(99)!)).toBe(true);
  });

  it('keeps the writes in their arrival order, with reads between them, and applies every one', async () => {
    const server = await openedProject(3);
    const before = server.frames.length;
    const messages: object[] = [];
    const writeIds: number[] = [];
    for (let i = 0; i < 30; i++) {
      const id = 200 + i;
      writeIds.push(id);
      // The same asset flipped back and forth: only the arrival order gives the final state.
      messages.push(apply(id, server.projectId, 1, i % 2 === 1));
      messages.push({ id: 500 + i, method: 'packer/projectStatus', params: { projectId: server.projectId } });
    }
    server.send(...messages);
    await server.until(() => writeIds.every((id) => server.answerOf(id) !== undefined));
    for (const id of writeIds) expect(server.answerOf(id)?.error).toBeUndefined();
    const after = server.frames.slice(before);
    const answered = writeIds.map((id) => answerIndex(after, id));
    expect([...answered].sort((a, b) => a - b)).toEqual(answered);
    // The operations were queued in the order the requests arrived (each answer names its operation).
    const operations = writeIds.map((id) => (server.answerOf(id)!.result as { operationId: string }).operationId);
    expect(queuedEvents(after)).toEqual(operations);
    const details = await server.request(900, 'packer/getAssetDetails', {
      projectId: server.projectId,
      asset: { assetId: 1 },
    });
    // The last write (i = 29) set it included.
    expect(includedOf(details)).toBe(true);
  });

  it('keeps serving when a buggy client reuses a held write request id for a read', async () => {
    const server = await openedProject(5);
    const writes = Array.from({ length: 5 }, (_, i) => apply(600 + i, server.projectId, i + 1, false));
    // The read reuses the id of the first write (handed on, not yet dispatched) and of the third (held).
    server.send(
      ...writes,
      { id: 600, method: 'packer/projectStatus', params: { projectId: server.projectId } },
      { id: 602, method: 'packer/projectStatus', params: { projectId: server.projectId } },
    );
    await server.until(() => server.answerOf(604) !== undefined);
    // Whatever the duplicates got, every later message is still served: the hold did not wait for good.
    const status = await server.request(902, 'packer/projectStatus', { projectId: server.projectId });
    expect(status.error).toBeUndefined();
    const details = await server.request(903, 'packer/getAssetDetails', {
      projectId: server.projectId,
      asset: { assetId: 5 },
    });
    expect(includedOf(details)).toBe(false);
  });

  it('cancels a held write named by a $/cancelRequest behind it, and runs the writes around it', async () => {
    const server = await openedProject(10);
    const writes = Array.from({ length: 10 }, (_, i) => apply(300 + i, server.projectId, i + 1, false));
    server.send(...writes, { method: '$/cancelRequest', params: { id: 307 } });
    await server.until(() => writes.every((w) => server.answerOf(w.id) !== undefined));
    expect(server.answerOf(307)?.error?.code).toBe(-32800);
    for (const write of writes.filter((w) => w.id !== 307)) expect(server.answerOf(write.id)?.error).toBeUndefined();
    const details = await server.request(901, 'packer/getAssetDetails', {
      projectId: server.projectId,
      asset: { assetId: 8 },
    });
    expect(includedOf(details)).toBe(true);
  });

  it('never answers a read ahead of an openProject or a closeProject sent before it, even behind held writes', async () => {
    const server = await openedProject(10);
    const other = tempDir();
    writeProject(other, { assets: [{ root: 'b/only' }] });
    const writes = Array.from({ length: 10 }, (_, i) => apply(400 + i, server.projectId, i + 1, false));
    server.send(...writes, { id: 450, method: 'packer/openProject', params: { rootUri: pathToFileURL(other).href } });
    await server.until(() => server.answerOf(450) !== undefined);
    const otherId = (server.answerOf(450)!.result as { projectId: string }).projectId;
    // The read on the project opened behind the writes is sent with more writes in front of it, then one read more.
    const more = Array.from({ length: 10 }, (_, i) => apply(460 + i, server.projectId, i + 1, true));
    server.send(
      ...more,
      { id: 470, method: 'packer/closeProject', params: { projectId: otherId } },
      {
        id: 471,
        method: 'packer/projectStatus',
        params: { projectId: otherId },
      },
    );
    await server.until(() => [...writes, ...more].every((w) => server.answerOf(w.id) !== undefined));
    await server.until(() => server.answerOf(471) !== undefined);
    // closeProject was before the read: the read sees the project closed (had it gone ahead of the held writes and
    // closeProject, it would have found the project open).
    expect(server.answerOf(470)?.error).toBeUndefined();
    expect(server.answerOf(471)?.error).toBeDefined();
    expect(answerIndex(server.frames, 471)).toBeGreaterThan(answerIndex(server.frames, 470));
  });

  it('answers a read sent before initialize with -32002, as without the hold', async () => {
    const server = serve();
    server.send({ id: 1, method: 'packer/projectStatus', params: { projectId: 'p' } });
    await server.until(() => server.answerOf(1) !== undefined);
    expect(server.answerOf(1)?.error?.code).toBe(-32002);
  });
});
