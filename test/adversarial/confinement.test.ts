/**
 * A hostile repository against the real server over stdio: symbolic links in every position (build/, the
 * control folder, assets/ itself, an asset folder, an input, the quarantine), a declared input's parent
 * swapped for a link after the snapshot, FIFOs and device nodes where control files and inputs belong,
 * huge control files, and file names of every odd kind. Each test bounds every wait, requires the server
 * to keep answering, and a sentinel folder outside the project (the target of the links) must stay
 * byte-for-byte unchanged.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  answerOf,
  initialize,
  Notifier,
  responseErrorOf,
  spawnServer,
  treeDifferences,
  treeOf,
  type ServerProcess,
} from '../lane/support.js';
import { uuidFor, useTempDirs, writeProject } from '../support/workspace-builder.js';
import { requireRoot, useAdversarialSuite } from './support.js';

/** A failing request as `{ code, message, data }`, or null when it succeeded. */
type Failure = { code: number; message: string; data?: unknown } | null;

describe('a hostile repository cannot make the server read or write outside the project, block or exhaust it', () => {
  const tempDir = useTempDirs('packer-adv-confine-');
  const suite = useAdversarialSuite({ checkEachTest: true });
  const { servers, start, request } = suite;

  async function failure(server: ServerProcess, method: string, params: unknown): Promise<Failure> {
    return answerOf(
      server,
      server.connection.sendRequest(method, params).then(
        () => null,
        (error: unknown) => responseErrorOf(error),
      ),
      method,
    );
  }

  /** The server answers reads: status, the asset list and a workspace doctor. */
  async function stillAnswers(server: ServerProcess, projectId: string): Promise<string> {
    const status = await request<{ state: string }>(server, 'packer/projectStatus', { projectId });
    await request(server, 'packer/listAssets', { projectId });
    const doctor = await request<unknown>(server, 'packer/doctor', { projectId, scope: 'workspace' });
    expect(server.hasExited()).toBe(false);
    return `${status.state} ${JSON.stringify(doctor)}`;
  }

  /** Whether a restore of `uuid` is blocked in its preview or refused outright. */
  async function restoreRefused(server: ServerProcess, projectId: string, uuid: string): Promise<boolean> {
    return request<{ blockers: unknown[] }>(server, 'packer/previewMutation', {
      projectId,
      mutation: { kind: 'restore', asset: { assetUuid: uuid } },
    }).then(
      (preview) => preview.blockers.length > 0,
      (error: unknown) => responseErrorOf(error) !== null,
    );
  }

  function mkfifo(path: string): void {
    execFileSync('mkfifo', [path]);
  }

  it('a build folder that is a link to a folder outside makes pack answer WriteFailed and writes nothing there (issue 9, found-item 1)', async () => {
    const dir = tempDir();
    writeProject(dir, { assets: [{ root: 'hero' }] });
    symlinkSync(suite.sentinel.dir, join(dir, 'build'));
    const { server, projectId } = await start(dir);
    const refused = await failure(server, 'packer/pack', { projectId });
    expect(refused).toMatchObject({ code: 1010, data: { errno: 'ENOTDIR', path: 'build', restored: true } });
    expect(existsSync(join(suite.sentinel.dir, 'assets.pa'))).toBe(false);
    await stillAnswers(server, projectId);
  });

  it('a control folder that is a link outside is never read or written: initWorkspace, writes, the lock and fingerprints are refused (issue 9, found-item 1)', async () => {
    const dir = tempDir();
    writeProject(dir, { assets: [{ root: 'hero', registered: false }], registry: false });
    symlinkSync(suite.sentinel.dir, join(dir, 'assets', '.prometeu'));
    const { server, projectId } = await start(dir);
    const init = await failure(server, 'packer/initWorkspace', { projectId });
    expect(init).toMatchObject({ code: 1006 });
    expect(init?.message).toContain('ELOOP');
    const register = await request<{ outcome: string }>(server, 'packer/applyMutation', {
      projectId,
      mutation: { kind: 'register', root: 'hero' },
    }).then(
      (answer) => answer.outcome,
      (error: unknown) => String(responseErrorOf(error)?.code),
    );
    expect(['rejected', '1010']).toContain(register);
    const created = await failure(server, 'packer/applyMutation', {
      projectId,
      mutation: {
        kind: 'createAsset',
        root: 'props/crate',
        register: false,
        declaration: {
          schema_version: 1,
          name: 'crate',
          type: 'blob',
          inputs: { data: ['data.bin'] },
          output: { format: 'BLOB/raw_v1', codec: 'NONE' },
          preload: { enabled: false },
        },
      },
    });
    // Creating an asset needs the writer lock, which lives in the control folder: refused as WriteFailed.
    expect(created).toMatchObject({ code: 1010, data: { errno: 'ELOOP', path: 'assets/.prometeu' } });
    await request(server, 'packer/reconcile', { projectId }).catch(() => undefined);
    const seen = await stillAnswers(server, projectId);
    expect(seen).toContain('registry-unreadable');
    expect(existsSync(join(dir, 'assets', 'props'))).toBe(false);
  });

  it('assets/ itself a link is not opened, and initWorkspace does not write through it (issue 9, links in every position)', async () => {
    const dir = tempDir();
    mkdirSync(dir, { recursive: true });
    symlinkSync(suite.sentinel.dir, join(dir, 'assets'));
    const server = spawnServer(new Notifier());
    servers.push(server);
    await answerOf(
      server,
      server.connection.sendRequest('initialize', { processId: null, capabilities: {}, workspaceFolders: [] }),
      'initialize',
    );
    await server.connection.sendNotification('initialized', {});
    const rootUri = pathToFileURL(dir).href;
    const opened = await failure(server, 'packer/openProject', { rootUri });
    expect(opened).toMatchObject({ code: 1003 });
    expect(opened?.message).toContain('symbolic link');
    const init = await failure(server, 'packer/initWorkspace', { rootUri });
    expect(init).toMatchObject({ code: 1003 });
  });

  it('a declared input whose parent folder is swapped for a link outside after the snapshot never puts the outside bytes into assets.pa (issue 9, found-item 2)', async () => {
    const dir = tempDir();
    const outside = tempDir();
    writeFileSync(join(outside, 'data.bin'), 'OUTSIDE-SECRET-BYTES');
    writeProject(dir, {
      assets: [{ root: 'hero', inputs: { data: ['parts/data.bin'] }, files: { 'parts/data.bin': 'inside bytes' } }],
    });
    const { server, projectId } = await start(dir);
    rmSync(join(dir, 'assets', 'hero', 'parts'), { recursive: true });
    symlinkSync(outside, join(dir, 'assets', 'hero', 'parts'));
    const packed = await request<{ outcome: string; divergedPaths?: string[] }>(server, 'packer/pack', { projectId });
    expect(packed.outcome).toBe('failed');
    expect(packed.divergedPaths).toContain('hero/parts/data.bin');
    expect(existsSync(join(dir, 'build'))).toBe(false);
    // After a reconcile the input is simply missing (the link is listed, not followed): blocked, never read.
    await request(server, 'packer/reconcile', { projectId });
    const again = await request<{ outcome: string }>(server, 'packer/pack', { projectId });
    expect(again.outcome).toBe('blocked');
    expect(existsSync(join(dir, 'build'))).toBe(false);
    expect(readFileSync(join(outside, 'data.bin'), 'utf8')).toBe('OUTSIDE-SECRET-BYTES');
  });

  it('an asset folder, an input, a quarantine entry and the quarantine folder that are links are listed, never followed (issue 9, links in every position)', async () => {
    const dir = tempDir();
    const outside = tempDir();
    const uuid = uuidFor('quarantined');
    writeProject(outside, { assets: [{ root: 'foreign' }] });
    mkdirSync(join(outside, 'q', uuid), { recursive: true });
    writeFileSync(
      join(outside, 'q', uuid, 'manifest.json'),
      JSON.stringify({ asset_uuid: uuid, root: 'stolen', asset_id: null, included_in_build: false, name: 'x' }),
    );
    writeProject(dir, {
      assets: [{ root: 'hero', inputs: { data: ['data.bin'] }, files: {} }],
      symlinks: {
        linked: join(outside, 'assets', 'foreign'),
        'hero/data.bin': join(suite.sentinel.dir, 'keep.txt'),
      },
    });
    mkdirSync(join(dir, 'assets', '.prometeu', 'quarantine'), { recursive: true });
    symlinkSync(join(outside, 'q', uuid), join(dir, 'assets', '.prometeu', 'quarantine', uuid));
    const { server, projectId } = await start(dir);
    const listed = await request<{ assets: { root: string }[] }>(server, 'packer/listAssets', { projectId });
    expect(listed.assets.map((asset) => asset.root)).toEqual(['hero']);
    // The linked quarantine entry is not an entry at all: a restore of it is blocked (or refused outright).
    expect(await restoreRefused(server, projectId, uuid)).toBe(true);
    const packed = await request<{ outcome: string }>(server, 'packer/pack', { projectId });
    expect(packed.outcome).toBe('blocked');
    const doctor = await stillAnswers(server, projectId);
    expect(doctor).toContain('symlink-not-followed');
    // The whole quarantine folder as a link: still nothing read through it.
    server.dispose();
    await server.kill();
    rmSync(join(dir, 'assets', '.prometeu', 'quarantine'), { recursive: true });
    symlinkSync(join(outside, 'q'), join(dir, 'assets', '.prometeu', 'quarantine'));
    const second = await start(dir);
    expect(await restoreRefused(second.server, second.projectId, uuid)).toBe(true);
    expect(existsSync(join(dir, 'assets', 'stolen'))).toBe(false);
  });

  it('FIFOs at index.json, writer.lock, a quarantine manifest, an asset.json and an input never block the server (issue 9, found-item 6)', async () => {
    const dir = tempDir();
    const uuid = uuidFor('held');
    writeProject(dir, { assets: [{ root: 'hero' }, { root: 'props/crate' }] });
    mkdirSync(join(dir, 'assets', '.prometeu', 'quarantine', uuid), { recursive: true });
    mkfifo(join(dir, 'assets', '.prometeu', 'quarantine', uuid, 'manifest.json'));
    mkfifo(join(dir, 'assets', '.prometeu', 'writer.lock'));
    const first = await start(dir);
    // The lock is a FIFO: a write is refused (never blocked) while it is young, or it is replaced.
    const renamed = await request<{ outcome: string }>(first.server, 'packer/applyMutation', {
      projectId: first.projectId,
      mutation: { kind: 'rename', asset: { assetId: 1 }, name: 'Hero' },
    }).then(
      (answer) => answer.outcome,
      (error: unknown) => String(responseErrorOf(error)?.code),
    );
    expect(['applied', '1008']).toContain(renamed);
    // A young unreadable lock is respected for a while (it may be an older packer writing it); go on without it.
    rmSync(join(dir, 'assets', '.prometeu', 'writer.lock'), { force: true });
    // An asset.json and an input swapped for FIFOs after the snapshot: the pack reads neither.
    rmSync(join(dir, 'assets', 'props', 'crate', 'data.bin'));
    mkfifo(join(dir, 'assets', 'props', 'crate', 'data.bin'));
    rmSync(join(dir, 'assets', 'hero', 'asset.json'));
    mkfifo(join(dir, 'assets', 'hero', 'asset.json'));
    const packed = await request<{ outcome: string; divergedPaths?: string[] }>(first.server, 'packer/pack', {
      projectId: first.projectId,
    });
    expect(packed.outcome).toBe('failed');
    // The pack names what had changed when it started: what the watcher had classified by then (it classifies
    // only while the lane is idle, so it may know one swap and not yet the other), or, when the watcher knew
    // nothing yet, what the pack found itself. Never a path that did not change, never none.
    const swapped = ['hero/asset.json', 'props/crate/data.bin'];
    expect(packed.divergedPaths?.length).toBeGreaterThan(0);
    expect(swapped).toEqual(expect.arrayContaining(packed.divergedPaths ?? []));
    // Both swaps are reported once classified, and a pack then names both.
    const deadline = Date.now() + 20_000;
    for (;;) {
      const status = await request<{ divergence: { changes: { path: string }[] } }>(
        first.server,
        'packer/projectStatus',
        { projectId: first.projectId },
      );
      const reported = status.divergence.changes.map((change) => change.path);
      if (swapped.every((path) => reported.includes(path))) break;
      if (Date.now() > deadline) throw new Error(`The divergence never named both swaps: ${JSON.stringify(reported)}`);
    }
    const again = await request<{ outcome: string; divergedPaths?: string[] }>(first.server, 'packer/pack', {
      projectId: first.projectId,
    });
    expect(again.outcome).toBe('failed');
    expect(again.divergedPaths).toEqual(expect.arrayContaining(swapped));
    await request(first.server, 'packer/reconcile', { projectId: first.projectId });
    await stillAnswers(first.server, first.projectId);
    first.server.dispose();
    await first.server.kill();
    // index.json itself a FIFO: the project opens with a diagnostic naming the file and the reason.
    rmSync(join(dir, 'assets', '.prometeu', 'index.json'));
    mkfifo(join(dir, 'assets', '.prometeu', 'index.json'));
    const second = await start(dir);
    const seen = await stillAnswers(second.server, second.projectId);
    expect(seen).toContain('registry-unreadable');
    expect(seen).toContain('EFTYPE');
  });

  it('index.json as a link to /dev/zero and as a 100 MB file is refused without being read, in bounded memory (issue 9, found-item 6)', async () => {
    const dir = tempDir();
    writeProject(dir, { assets: [{ root: 'hero' }], registry: false });
    mkdirSync(join(dir, 'assets', '.prometeu'), { recursive: true });
    symlinkSync('/dev/zero', join(dir, 'assets', '.prometeu', 'index.json'));
    const first = await start(dir);
    expect(await stillAnswers(first.server, first.projectId)).toContain('ELOOP');
    first.server.dispose();
    await first.server.kill();
    rmSync(join(dir, 'assets', '.prometeu', 'index.json'));
    writeFileSync(join(dir, 'assets', '.prometeu', 'index.json'), '');
    truncateSync(join(dir, 'assets', '.prometeu', 'index.json'), 100 * 1024 * 1024);
    const second = await start(dir);
    expect(await stillAnswers(second.server, second.projectId)).toContain('EFBIG');
    // Reading it whole would take at least 100 MB for the bytes and as much again for the text.
    const peak = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${second.server.child.pid}/status`, 'utf8'));
    expect(Number(peak?.[1]) * 1024).toBeLessThan(190 * 1024 * 1024);
  });

  it('character device nodes at index.json and at an input are refused, never read (issue 9, devices)', async () => {
    requireRoot('mknod needs it');
    const dir = tempDir();
    writeProject(dir, { assets: [{ root: 'hero' }] });
    const { server, projectId } = await start(dir);
    rmSync(join(dir, 'assets', 'hero', 'data.bin'));
    execFileSync('mknod', [join(dir, 'assets', 'hero', 'data.bin'), 'c', '1', '5']);
    const packed = await request<{ outcome: string; divergedPaths?: string[] }>(server, 'packer/pack', { projectId });
    expect(packed).toMatchObject({ outcome: 'failed', divergedPaths: ['hero/data.bin'] });
    server.dispose();
    await server.kill();
    rmSync(join(dir, 'assets', '.prometeu', 'index.json'));
    execFileSync('mknod', [join(dir, 'assets', '.prometeu', 'index.json'), 'c', '1', '5']);
    const second = await start(dir);
    expect(await stillAnswers(second.server, second.projectId)).toContain('EFTYPE');
  });

  it('file names with newlines, of 255 bytes and with bytes that are not UTF-8 are crawled, watched and packed without a crash or a false divergence (issue 9, odd names)', async () => {
    const dir = tempDir();
    writeProject(dir, {
      assets: [{ root: 'hero' }],
      files: { 'hero/line\nbreak.txt': 'a', [`hero/${'n'.repeat(251)}.txt`]: 'b', 'stray\n.bin': 'c' },
    });
    writeFileSync(
      Buffer.concat([Buffer.from(join(dir, 'assets', 'hero') + '/'), Buffer.from([0xff, 0xfe, 0x41])]),
      'd',
    );
    const notifier = new Notifier();
    const server = spawnServer(notifier);
    servers.push(server);
    const projectId = await answerOf(server, initialize(server, dir), 'initialize');
    await notifier.until(
      () =>
        server.events.some(
          (event) => event.kind === 'watch.stateChanged' && (event.body as { state?: string }).state !== 'starting',
        ),
      'the verification pass',
    );
    const status = await request<{ divergence: { diverged: boolean; changes: unknown[] } }>(
      server,
      'packer/projectStatus',
      { projectId },
    );
    expect(status.divergence, JSON.stringify(status.divergence)).toMatchObject({ diverged: false, changes: [] });
    await request(server, 'packer/reconcile', { projectId });
    const packed = await request<{ outcome: string }>(server, 'packer/pack', { projectId });
    expect(packed.outcome).toBe('succeeded');
    await stillAnswers(server, projectId);
  });

  it('links that loop, climb to the parent and point at / are listed, not followed, and reads change nothing in the project', async () => {
    const dir = tempDir();
    writeProject(dir, { assets: [{ root: 'hero' }], symlinks: { loop: 'loop', up: '..', root: '/' } });
    const before = treeOf(join(dir, 'assets'), (path) => path.startsWith('.prometeu/'));
    const { server, projectId } = await start(dir);
    await stillAnswers(server, projectId);
    await request(server, 'packer/reconcile', { projectId });
    expect(
      treeDifferences(
        before,
        treeOf(join(dir, 'assets'), (path) => path.startsWith('.prometeu/')),
      ),
    ).toEqual([]);
  });
});
