/**
 * A folder that had no assets/ when it was opened is watched once initWorkspace has created it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { PackerHost } from '../../server/src/host.js';
import { initWorkspaceOperation } from '../../server/src/writes/init-workspace.js';
import { startParcelWatcher } from '../../server/src/watch/watcher.js';
import { useTempDirs } from '../support/workspace-builder.js';
import { waitFor } from './support.js';

const tempDir = useTempDirs('packer-init-watch-');
const hosts: PackerHost[] = [];
afterEach(() => {
  for (const host of hosts.splice(0)) host.dispose();
});

describe('a project created by initWorkspace', () => {
  it('is watched from then on: a file added afterwards becomes divergence', async () => {
    const dir = tempDir();
    const host = new PackerHost({ watcher: startParcelWatcher, settleMs: 50 });
    hosts.push(host);
    const project = await host.open(pathToFileURL(dir).href, { allowMissingAssets: true });
    expect(project.watch.state).toBe('off');
    const outcome = await project.lane.enqueue(initWorkspaceOperation(project, 'init-1'));
    expect(outcome.status).toBe('succeeded');
    await waitFor(() => project.watch.state === 'watching', 'watching to start after initWorkspace');
    mkdirSync(join(dir, 'assets', 'props'), { recursive: true });
    writeFileSync(join(dir, 'assets', 'props', 'note.txt'), 'hello\n');
    await waitFor(
      () =>
        project.watch
          .divergence()
          .changes.some((change) => change.path === 'props/note.txt' && change.change === 'added'),
      'the new file to show as divergence',
    );
  });
});
