/**
 * A packer killed right after a commit (before its fingerprints were saved) must not report its own commit
 * as a change made while no packer ran: commits log their fingerprints as they happen.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { StreamMessageReader, StreamMessageWriter, createMessageConnection } from 'vscode-jsonrpc/node';
import { useTempDirs, writeProject } from '../support/workspace-builder.js';
import { useWatchedProjects, waitFor } from './support.js';

const tempDir = useTempDirs('packer-killed-');
const open = useWatchedProjects();
const serverScript = join(import.meta.dirname, '../../server/bin/packer-server.js');

describe('a packer killed right after a commit', () => {
  it('does not make the next run report its own commit as divergence', async () => {
    const dir = tempDir();
    writeProject(dir, { assets: [{ root: 'characters/hero' }, { root: 'props/crate' }] });
    const child = spawn(process.execPath, [serverScript, '--stdio'], { stdio: ['pipe', 'pipe', 'ignore'] });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const connection = createMessageConnection(
      new StreamMessageReader(child.stdout),
      new StreamMessageWriter(child.stdin),
    );
    const watching = new Promise<void>((resolve) =>
      connection.onNotification('packer/event', (event: { kind: string; body: { state?: string } }) => {
        if (event.kind === 'watch.stateChanged' && event.body.state === 'watching') resolve();
      }),
    );
    connection.listen();
    await connection.sendRequest('initialize', { processId: process.pid, capabilities: {} });
    const project = (await connection.sendRequest('packer/openProject', { rootUri: pathToFileURL(dir).href })) as {
      projectId: string;
    };
    await watching;
    // A first commit makes the server save a baseline of fingerprints a moment later.
    await connection.sendRequest('packer/applyMutation', {
      projectId: project.projectId,
      mutation: { kind: 'rename', asset: { assetId: 2 }, name: 'Crate' },
    });
    await waitFor(
      () => existsSync(join(dir, 'assets/.prometeu/fingerprint.json')),
      'the fingerprint baseline to be saved',
    );
    // The commit that matters, then an immediate kill: its fingerprints live only in the log.
    const renamed = (await connection.sendRequest('packer/applyMutation', {
      projectId: project.projectId,
      mutation: { kind: 'rename', asset: { assetId: 1 }, name: 'Hero' },
    })) as { outcome: string };
    expect(renamed.outcome).toBe('applied');
    child.kill('SIGKILL');
    await exited;
    connection.dispose();
    expect(readFileSync(join(dir, 'assets/characters/hero/asset.json'), 'utf8')).toContain('"Hero"');

    const next = await open(dir, { watcher: 'auto' });
    expect(next.changes()).toEqual([]);
    expect(next.status().state).toBe('ready');
  });
});
