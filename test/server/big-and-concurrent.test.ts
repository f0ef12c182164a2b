/**
 * Inputs that are large or arrive at awkward moments: an 8 MB bogus parameter is refused precisely and
 * cheaply, reads keep being answered while a pack runs, and a pack cancelled mid-way leaves build/ as it was.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { CancellationTokenSource } from 'vscode-jsonrpc/node';
import { connectInProcess, type InProcessServer } from '../support/in-process-server.js';
import { useTempDirs, writeProject } from '../support/workspace-builder.js';

const tempDir = useTempDirs('packer-big-');
const disposers: (() => void)[] = [];
afterEach(() => {
  for (const dispose of disposers.splice(0)) dispose();
});

async function connect(): Promise<InProcessServer> {
  const server = await connectInProcess();
  disposers.push(() => server.dispose());
  return server;
}

/** A project with `count` blob assets of `size` bytes each, all registered. */
function bigProject(count: number, size: number): string {
  const dir = tempDir();
  const assets = [];
  for (let index = 0; index < count; index++)
    assets.push({
      root: `blobs/b${String(index).padStart(3, '0')}`,
      files: { 'data.bin': new Uint8Array(size).fill(index % 251) },
    });
  writeProject(dir, { assets });
  return dir;
}

describe('big and concurrent inputs', () => {
  it('an 8 MB bogus parameter is refused with -32602 naming the field, without echoing it, and the server keeps serving', async () => {
    const { connection } = await connect();
    const huge = 'x'.repeat(8 * 1024 * 1024);
    const error = await connection.sendRequest('packer/listAssets', { projectId: huge }).then(
      () => undefined,
      (failure: { code: number; message: string; data: { issues: { path: string[] }[] } }) => failure,
    );
    expect(error?.code).toBe(-32602);
    expect(error?.data.issues[0]!.path).toEqual(['projectId']);
    expect(JSON.stringify(error).length).toBeLessThan(2000);
    const second = await connection.sendRequest('packer/listAssets', { projectId: 'p', junk: huge }).then(
      () => undefined,
      (failure: { code: number }) => failure,
    );
    expect(second?.code).toBe(-32602);
    const dir = tempDir();
    mkdirSync(join(dir, 'assets'));
    const opened = await connection.sendRequest('packer/openProject', { rootUri: pathToFileURL(dir).href });
    expect(opened).toMatchObject({ revision: 1, state: 'ready' });
  });

  it('reads are answered while a pack runs, and a pack cancelled mid-way leaves build/ exactly as it was', async () => {
    const dir = bigProject(40, 256 * 1024);
    mkdirSync(join(dir, 'build'));
    writeFileSync(join(dir, 'build', 'assets.pa'), 'previous build');
    const { connection } = await connect();
    const project = (await connection.sendRequest('packer/openProject', { rootUri: pathToFileURL(dir).href })) as {
      projectId: string;
    };
    const progressSeen: number[] = [];
    const source = new CancellationTokenSource();
    const order: string[] = [];
    connection.onNotification('packer/event', (event: { kind: string; body: { done?: number } }) => {
      if (event.kind !== 'operation.progress') return;
      progressSeen.push(event.body.done!);
      if (progressSeen.length === 1) {
        // A read while the pack runs is answered from the snapshot, not after the pack.
        void connection
          .sendRequest('packer/projectStatus', { projectId: project.projectId })
          .then(() => order.push('read answered'));
      }
      if (progressSeen.length === 5) source.cancel();
    });
    const outcome = await connection
      .sendRequest('packer/pack', { projectId: project.projectId, incremental: false }, source.token)
      .then(
        () => 'finished',
        (error: { code: number }) => error.code,
      );
    order.push('pack answered');
    expect(outcome).toBe(-32800);
    expect(progressSeen.length).toBeLessThan(40);
    expect(readdirSync(join(dir, 'build'))).toEqual(['assets.pa']);
    expect(order).toEqual(['read answered', 'pack answered']);
  });
});
