/**
 * A project whose write journal is pending on a read-only disk (a real read-only bind mount) against the
 * real server: it opens, reads are served with the `journal-pending` diagnostic, packing is blocked, writes
 * answer `WriteFailed` (EROFS) and change nothing; once the disk is writable, the next write or the next
 * open finishes the interrupted write.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { responseErrorOf, treeDifferences, treeOf, type ServerProcess } from '../lane/support.js';
import { useTempDirs, writeProject } from '../support/workspace-builder.js';
import { mountReadOnly, requireRoot, useAdversarialSuite } from './support.js';

const JOURNAL = 'assets/.prometeu/journal.json';

/**
 * A project stopped between the two halves of a relocate: `chars/hero` already moved to `moved/hero` on
 * disk, the registry still naming the old root, the journal saying both.
 */
function writeInterruptedRelocate(dir: string): void {
  writeProject(dir, { assets: [{ root: 'chars/hero' }, { root: 'props/crate' }] });
  const registry = readFileSync(join(dir, 'assets/.prometeu/index.json'), 'utf8');
  writeFileSync(
    join(dir, JOURNAL),
    JSON.stringify({
      version: 1,
      operationId: 'op-interrupted',
      actions: [{ kind: 'moveFolder', from: 'chars/hero', to: 'moved/hero' }],
      registryBefore: registry,
      registryAfter: registry.replace('"chars/hero"', '"moved/hero"'),
      createdFolders: ['moved'],
    }),
  );
  mkdirSync(join(dir, 'assets/moved'));
  renameSync(join(dir, 'assets/chars/hero'), join(dir, 'assets/moved/hero'));
}

describe('a pending journal on a read-only disk', () => {
  const tempDir = useTempDirs('packer-adv-ro-journal-');
  const { mounts, start, request } = useAdversarialSuite();

  async function failureOf(server: ServerProcess, method: string, params: unknown): Promise<unknown> {
    return server.connection.sendRequest(method, params).then(
      () => null,
      (error: unknown) => responseErrorOf(error),
    );
  }

  async function projectCodes(server: ServerProcess, projectId: string): Promise<string[]> {
    const doctor = await request<{ diagnostics: { code: string }[] }>(server, 'packer/doctor', { projectId });
    return doctor.diagnostics.map((diagnostic) => diagnostic.code);
  }

  it('opens with the journal pending, serves reads, blocks the pack and answers writes WriteFailed (EROFS) without changing the disk', async () => {
    requireRoot('it makes a read-only bind mount');
    const dir = tempDir();
    writeInterruptedRelocate(dir);
    const mount = mountReadOnly(dir);
    mounts.push(mount);
    const before = treeOf(dir);
    const { server, projectId } = await start(mount.dir);
    const status = await request<{ state: string; lastRecovery: { outcome: string; operationId: string } | null }>(
      server,
      'packer/projectStatus',
      { projectId },
    );
    expect(status.state).not.toBe('failed');
    expect(status.lastRecovery).toMatchObject({ outcome: 'pending', operationId: 'op-interrupted' });
    expect(await projectCodes(server, projectId)).toContain('journal-pending');
    const listed = await request<{ assets: { root: string }[] }>(server, 'packer/listAssets', { projectId });
    expect(listed.assets.map((asset) => asset.root)).toContain('props/crate');
    const summary = await request<{ canPack: boolean }>(server, 'packer/packSummary', { projectId });
    expect(summary.canPack).toBe(false);
    const write = await failureOf(server, 'packer/applyMutation', {
      projectId,
      mutation: { kind: 'rename', asset: { assetId: 2 }, name: 'Crate' },
    });
    expect(write).toMatchObject({ code: 1010, data: { errno: 'EROFS', restored: true } });
    const reconcile = await failureOf(server, 'packer/reconcile', { projectId });
    expect(reconcile).toMatchObject({ code: 1010, data: { errno: 'EROFS' } });
    expect(await request<{ state: string }>(server, 'packer/projectStatus', { projectId })).toMatchObject({
      lastRecovery: { outcome: 'pending' },
    });
    expect(server.hasExited()).toBe(false);
    expect(treeDifferences(before, treeOf(dir))).toEqual([]);
  });

  it('once the disk is writable the next write finishes the interrupted write first, and the one after it is applied', async () => {
    requireRoot('it makes a read-only bind mount');
    const dir = tempDir();
    writeInterruptedRelocate(dir);
    const mount = mountReadOnly(dir);
    mounts.push(mount);
    const { server, projectId } = await start(mount.dir);
    expect(await projectCodes(server, projectId)).toContain('journal-pending');
    mount.makeWritable();
    const rename = { kind: 'rename', asset: { assetId: 2 }, name: 'Crate' };
    // The first write finishes the journal and is rejected as planned against the disk before it.
    const first = await request<{ outcome: string }>(server, 'packer/applyMutation', { projectId, mutation: rename });
    expect(first.outcome).toBe('rejected');
    expect(existsSync(join(dir, JOURNAL))).toBe(false);
    expect(readFileSync(join(dir, 'assets/.prometeu/index.json'), 'utf8')).toContain('"moved/hero"');
    expect(await projectCodes(server, projectId)).not.toContain('journal-pending');
    const second = await request<{ outcome: string }>(server, 'packer/applyMutation', { projectId, mutation: rename });
    expect(second.outcome).toBe('applied');
  });

  it('when only the folders the journal names are read-only, the project opens with the journal pending and a write answers WriteFailed at step recovery', async () => {
    requireRoot('it makes a read-only bind mount');
    const dir = tempDir();
    writeProject(dir, { assets: [{ root: 'chars/hero' }, { root: 'props/crate' }] });
    const registry = readFileSync(join(dir, 'assets/.prometeu/index.json'), 'utf8');
    // Nothing of this rename was done yet; replaying it needs a write in chars/, which is read-only.
    writeFileSync(
      join(dir, JOURNAL),
      JSON.stringify({
        version: 1,
        operationId: 'op-interrupted',
        actions: [{ kind: 'moveFolder', from: 'chars/hero', to: 'chars/champion' }],
        registryBefore: registry,
        registryAfter: registry.replace('"chars/hero"', '"chars/champion"'),
        createdFolders: [],
      }),
    );
    const chars = join(dir, 'assets/chars');
    execFileSync('mount', ['--bind', chars, chars]);
    mounts.push({ dir: chars, unmount: () => execFileSync('umount', ['-l', chars]) });
    execFileSync('mount', ['-o', 'remount,ro,bind', chars]);
    const before = treeOf(join(dir, 'assets'), (path) => path === '.prometeu/writer.lock');
    const { server, projectId } = await start(dir);
    const status = await request<{ lastRecovery: { outcome: string } | null }>(server, 'packer/projectStatus', {
      projectId,
    });
    expect(status.lastRecovery).toMatchObject({ outcome: 'pending' });
    expect(existsSync(join(dir, JOURNAL))).toBe(true);
    expect(await projectCodes(server, projectId)).toContain('journal-pending');
    const write = await failureOf(server, 'packer/applyMutation', {
      projectId,
      mutation: { kind: 'rename', asset: { assetId: 2 }, name: 'Crate' },
    });
    expect(write).toMatchObject({
      code: 1010,
      data: { errno: 'EROFS', step: 'recovery', restored: true, path: JOURNAL },
    });
    expect(
      treeDifferences(
        before,
        treeOf(join(dir, 'assets'), (path) => path === '.prometeu/writer.lock'),
      ),
    ).toEqual([]);
  });

  it('once the disk is writable, reopening the project finishes the interrupted write', async () => {
    requireRoot('it makes a read-only bind mount');
    const dir = tempDir();
    writeInterruptedRelocate(dir);
    const mount = mountReadOnly(dir);
    mounts.push(mount);
    const first = await start(mount.dir);
    expect(await projectCodes(first.server, first.projectId)).toContain('journal-pending');
    first.server.dispose();
    await first.server.kill();
    mount.unmount();
    const second = await start(dir);
    const status = await request<{ lastRecovery: { outcome: string } | null }>(second.server, 'packer/projectStatus', {
      projectId: second.projectId,
    });
    expect(status.lastRecovery).toMatchObject({ outcome: 'completed' });
    expect(existsSync(join(dir, JOURNAL))).toBe(false);
    expect(await projectCodes(second.server, second.projectId)).not.toContain('journal-pending');
    const roots = await request<{ assets: { root: string }[] }>(second.server, 'packer/listAssets', {
      projectId: second.projectId,
    });
    expect(roots.assets.map((asset) => asset.root)).toContain('moved/hero');
  });
});
