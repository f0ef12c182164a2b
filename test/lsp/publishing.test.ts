// Publishing on disk files stays incremental: URIs spelt as pathToFileURL does, and nothing sent again that did not change.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PackerHost } from '../../server/src/index.js';
import { uriMaker } from '../../server/src/lsp/language-service.js';
import { connectInProcess, Notifier } from '../lane/support.js';
import { useTempDirs, writeProject } from '../support/workspace-builder.js';

const tempDir = useTempDirs('packer-publishing-');

describe('publishing diagnostics of files on disk', () => {
  it('names every file as pathToFileURL does, plain or not', () => {
    for (const assetsDir of ['/p/assets', '/with space/assets', '/ünï/100%/assets']) {
      const uriOf = uriMaker(assetsDir);
      for (const path of [
        'hero/asset.json',
        '.prometeu/index.json',
        'a-b_c.d/e.F9/asset.json',
        'with space/asset.json',
        'per%cent/asset.json',
        'hash#and?query/asset.json',
        'ünïcødé/asset.json',
        'back\\slash/asset.json',
        'dots/../asset.json',
        './asset.json',
        '..hidden/asset.json',
      ])
        expect(uriOf(path), `${assetsDir} + ${path}`).toBe(pathToFileURL(join(assetsDir, ...path.split('/'))).href);
    }
  });

  it('sends a file again only when its diagnostics changed, not at every new revision', async () => {
    const project = writeProject(tempDir(), {
      assets: [
        { root: 'hero' },
        { root: 'bad', declaration: { ...declaration('bad'), type: 'sprite' } },
        { root: 'worse', declaration: { ...declaration('worse'), type: 'sprite' } },
      ],
    });
    const notifier = new Notifier();
    const host = new PackerHost({ watcher: null });
    const client = connectInProcess(host, notifier);
    const published: { uri: string; diagnostics: { code: string }[] }[] = [];
    client.connection.onNotification('textDocument/publishDiagnostics', (params: (typeof published)[number]) => {
      published.push(params);
      notifier.notify();
    });
    await client.connection.sendRequest('initialize', {
      processId: null,
      capabilities: { textDocument: { publishDiagnostics: {} } },
      workspaceFolders: [{ uri: pathToFileURL(project.root).href, name: 'game' }],
    });
    await client.connection.sendNotification('initialized', {});
    const opened = host.list()[0]!;
    await opened.validationSettled();
    const uri = (root: string): string => pathToFileURL(join(project.assetsDir, root, 'asset.json')).href;
    const count = (root: string): number => published.filter((params) => params.uri === uri(root)).length;
    await notifier.until(() => count('bad') > 0 && count('worse') > 0, 'both broken files published');
    expect(count('bad')).toBe(1);

    // A rename of another asset makes a new revision (and a validation round): the broken files stay as sent.
    await client.connection.sendRequest('packer/applyMutation', {
      projectId: opened.id,
      operationId: 'rename-hero',
      mutation: { kind: 'rename', asset: { root: 'hero' }, name: 'heroine' },
    });
    // Another wrong type for `worse`, written behind the packer's back and reconciled: it alone is sent again.
    writeFileSync(
      join(project.assetsDir, 'worse', 'asset.json'),
      `${JSON.stringify({ ...declaration('worse'), type: 'tilemap' }, null, 2)}\n`,
    );
    await client.connection.sendRequest('packer/reconcile', { projectId: opened.id, operationId: 'reconcile-1' });
    await opened.validationSettled();
    await notifier.until(() => count('worse') === 2, 'the renamed broken file published again');
    expect(count('bad')).toBe(1);
    expect(count('hero')).toBe(0);
  });
});

function declaration(name: string) {
  return {
    schema_version: 1,
    asset_uuid: `00000000-0000-4000-8000-${(name === 'bad' ? 'b' : 'c').padStart(12, '0')}`,
    name,
    type: 'blob',
    inputs: { data: ['data.bin'] },
    output: { format: 'BLOB/raw_v1', codec: 'NONE' },
    preload: { enabled: false },
  };
}
