/**
 * A hostile repository and a buggy client against the real server over stdio: a deeply nested
 * `asset.json`, a destination with a 300-character component, an exhausted id space, and a read-only
 * project. The server answers every request (it never dies), writes nothing it would later reject, and a
 * sentinel folder outside the project is unchanged.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { responseErrorOf, treeDifferences, treeOf } from '../lane/support.js';
import { useTempDirs, writeProject } from '../support/workspace-builder.js';
import { mountReadOnly, requireRoot, useAdversarialSuite } from './support.js';

const skipControl = (path: string): boolean =>
  path === '.prometeu/writer.lock' || path === '.prometeu/fingerprint.json';

describe('hostile files and requests against the real server', () => {
  const tempDir = useTempDirs('packer-adv-hostile-');
  const { mounts, start, request } = useAdversarialSuite();

  it('an asset.json nested 5,000 levels deep is a diagnostic at getAssetDetails, and the server keeps answering (issue 9, item 5)', async () => {
    const dir = tempDir();
    writeProject(dir, {
      assets: [{ root: 'deep', declaration: `{"name":"deep","extra":${'['.repeat(5000)}${']'.repeat(5000)}}` }],
    });
    const { server, projectId } = await start(dir);
    const details = await request<{ asset: unknown; diagnostics?: { code: string }[] }>(
      server,
      'packer/getAssetDetails',
      { projectId, asset: { assetId: 1 } },
    );
    expect(JSON.stringify(details)).toContain('json-too-deep');
    const status = await request<{ state: string }>(server, 'packer/projectStatus', { projectId });
    expect(status.state).toBeDefined();
    expect(server.hasExited()).toBe(false);
  });

  it('a relocate to a 300-character component is blocked in the preview, leaves no journal, and the project still opens after a restart (issue 9, item 4)', async () => {
    const dir = tempDir();
    writeProject(dir, { assets: [{ root: 'chars/hero' }, { root: 'props/crate' }] });
    const before = treeOf(join(dir, 'assets'), skipControl);
    const first = await start(dir);
    const mutation = { kind: 'relocate', asset: { assetId: 1 }, to: `moved/${'n'.repeat(300)}` };
    const preview = await request<{ blockers: { code: string }[] }>(first.server, 'packer/previewMutation', {
      projectId: first.projectId,
      mutation,
    });
    expect(preview.blockers.map((blocker) => blocker.code)).toEqual(['nameTooLong']);
    const applied = await request<{ outcome: string }>(first.server, 'packer/applyMutation', {
      projectId: first.projectId,
      mutation,
      consent: true,
    });
    expect(applied.outcome).toBe('rejected');
    expect(existsSync(join(dir, 'assets/.prometeu/journal.json'))).toBe(false);
    expect(treeDifferences(before, treeOf(join(dir, 'assets'), skipControl))).toEqual([]);
    const renamed = await request<{ outcome: string }>(first.server, 'packer/applyMutation', {
      projectId: first.projectId,
      mutation: { kind: 'rename', asset: { assetId: 2 }, name: 'Crate' },
    });
    expect(renamed.outcome).toBe('applied');
    first.server.dispose();
    await first.server.kill();
    const second = await start(dir);
    const status = await request<{ state: string }>(second.server, 'packer/projectStatus', {
      projectId: second.projectId,
    });
    expect(status.state).toBe('ready');
  });

  it('from next_asset_id = 2^53 - 1 a register is rejected and the registry the next start reads is valid (issue 9, item 11)', async () => {
    const dir = tempDir();
    writeProject(dir, {
      assets: [{ root: 'chars/hero' }, { root: 'a', registered: false }, { root: 'b', registered: false }],
      nextAssetId: Number.MAX_SAFE_INTEGER,
    });
    const first = await start(dir);
    for (const root of ['a', 'b']) {
      const answer = await request<{ outcome: string }>(first.server, 'packer/applyMutation', {
        projectId: first.projectId,
        mutation: { kind: 'register', root },
      });
      expect(answer.outcome).toBe('rejected');
    }
    first.server.dispose();
    await first.server.kill();
    const second = await start(dir);
    const listed = JSON.stringify(
      await request<unknown>(second.server, 'packer/projectStatus', { projectId: second.projectId }),
    );
    expect(listed).not.toContain('registry-invalid');
    expect(JSON.parse(readFileSync(join(dir, 'assets/.prometeu/index.json'), 'utf8'))).toMatchObject({
      next_asset_id: Number.MAX_SAFE_INTEGER,
    });
  });

  it('on a read-only project a write answers WriteFailed (1010) with errno EROFS, and initWorkspace and reconcile answer (issue 9, item 10)', async () => {
    requireRoot('it makes a read-only bind mount');
    const dir = tempDir();
    writeProject(dir, { assets: [{ root: 'chars/hero' }] });
    const mount = mountReadOnly(dir);
    mounts.push(mount);
    const before = treeOf(dir);
    const { server, projectId } = await start(mount.dir);
    const init = await request<{ outcome: string }>(server, 'packer/initWorkspace', { projectId });
    expect(init.outcome).toBe('alreadyValid');
    const reconcile = await request<{ revision: number }>(server, 'packer/reconcile', { projectId });
    expect(reconcile.revision).toBeGreaterThan(0);
    const failure = await server.connection
      .sendRequest('packer/applyMutation', {
        projectId,
        mutation: { kind: 'relocate', asset: { assetId: 1 }, to: 'moved/hero' },
        consent: true,
      })
      .then(
        () => null,
        (error: unknown) => responseErrorOf(error),
      );
    expect(failure).toMatchObject({ code: 1010, data: { errno: 'EROFS' } });
    expect(treeDifferences(before, treeOf(dir))).toEqual([]);
  });
});
