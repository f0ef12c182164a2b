/**
 * Faults while writing: a full disk (a real small tmpfs filled at every step of a commit), errors injected
 * at every step of every multi-step commit, a name too long for the file system, a journal that cannot be
 * replayed, and a read-only project (a real read-only bind mount). Each asserts the workspace is exactly
 * before (never between), the answer is `WriteFailed` with the errno, and a sentinel outside is unchanged.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PackerErrorCodes, ProjectStatus, type MutationIntent } from '@prometeu/packer-protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PackerHost } from '../../server/src/index.js';
import { executeEffect, JOURNAL_PATH, type StepHook } from '../../server/src/mutations/execute.js';
import { readViewOf } from '../../server/src/dispatch/context.js';
import { toProjectStatus } from '../../server/src/wire/convert.js';
import { toWireError } from '../../server/src/wire/errors.js';
import { applyMutationOperation } from '../../server/src/writes/apply-mutation.js';
import { initWorkspaceOperation } from '../../server/src/writes/init-workspace.js';
import { reconcileOperation } from '../../server/src/writes/reconcile.js';
import type { Project } from '../../server/src/project/project.js';
import type { LaneOutcome } from '../../server/src/project/writer-lane.js';
import { treeDifferences, treeOf } from '../lane/support.js';
import { MIXED_ROOTS, useTempDirs, uuidFor, writeProject } from '../support/workspace-builder.js';
import {
  errnoError,
  fillDisk,
  makeSentinel,
  mountReadOnly,
  mountTmpfs,
  requireRoot,
  type Mount,
  type Sentinel,
} from './support.js';

/** The step hook of the project under test; the host's hook forwards to it. */
const stepHook: { current: StepHook | undefined } = { current: undefined };
const CREATED_UUID = '00000000-0000-4000-8000-00000000c0de';

/** Files that are not part of a write: the lock, the fingerprints, and the filler of a full disk. */
const skipControl = (path: string): boolean =>
  path === '.prometeu/writer.lock' || path === '.prometeu/fingerprint.json' || path.includes('.filler-');

function writeBase(dir: string): void {
  writeProject(dir, {
    assets: [...MIXED_ROOTS],
  });
}

/** Every mutation whose commit has several steps. */
const SCENARIOS: readonly { name: string; mutation: MutationIntent }[] = [
  { name: 'relocate', mutation: { kind: 'relocate', asset: { assetId: 1 }, to: 'moved/deep/hero' } },
  { name: 'quarantine', mutation: { kind: 'quarantine', asset: { assetId: 2 } } },
  { name: 'remove', mutation: { kind: 'remove', asset: { assetId: 3 } } },
  {
    name: 'createAsset',
    mutation: {
      kind: 'createAsset',
      root: 'made/new',
      register: true,
      declaration: {
        name: 'new',
        type: 'blob',
        inputs: { data: ['data.bin'] },
        output: { format: 'BLOB/raw_v1', codec: 'NONE' },
        preload: { enabled: false },
      },
    },
  },
  { name: 'rename', mutation: { kind: 'rename', asset: { assetId: 1 }, name: 'champion' } },
];

describe('a write that fails leaves the disk as it was', () => {
  const tempDir = useTempDirs('packer-adv-write-');
  const hosts: PackerHost[] = [];
  const mounts: Mount[] = [];
  let sentinel: Sentinel;
  beforeAll(() => {
    sentinel = makeSentinel();
  });
  afterEach(() => {
    for (const host of hosts.splice(0)) host.dispose();
    for (const mount of mounts.splice(0)) mount.unmount();
  });
  afterAll(() => {
    sentinel.check();
    sentinel.remove();
  });

  async function open(dir: string): Promise<Project> {
    const host = new PackerHost({
      epoch: 'adversarial',
      newUuid: () => CREATED_UUID,
      watcher: null,
      stepHook: (step) => stepHook.current?.(step),
    });
    hosts.push(host);
    return host.open(pathToFileURL(dir).href);
  }

  async function apply(project: Project, mutation: MutationIntent, id = 'op-1'): Promise<LaneOutcome<unknown>> {
    return project.lane.enqueue(
      applyMutationOperation(project, id, { mutation, consent: true }, project.newUuid, 'workspace+registry'),
    );
  }

  /** The error an outcome carries, as the wire would show it. */
  function errorOf(outcome: LaneOutcome<unknown>): { code: number; message: string; data?: unknown } {
    if (outcome.status === 'error') return toWireError(outcome.error);
    if (outcome.status === 'failed' && 'error' in outcome) return outcome.error;
    throw new Error(`expected an error, got ${JSON.stringify(outcome)}`);
  }

  /** The steps a scenario's commit passes through, found by running it once on a copy. */
  async function stepsOf(mutation: MutationIntent): Promise<string[]> {
    const dir = tempDir();
    writeBase(dir);
    const project = await open(dir);
    const steps: string[] = [];
    stepHook.current = (step) => steps.push(step);
    const outcome = await apply(project, mutation);
    expect(outcome.status).toBe('succeeded');
    return steps.filter((step) => step !== 'registry-written' && step !== 'journal-removed');
  }

  for (const scenario of SCENARIOS) {
    it(`${scenario.name}: a fault at every step before the registry is written is rolled back and answers WriteFailed`, async () => {
      const steps = await stepsOf(scenario.mutation);
      // A rename replaces one file: no journal, so no step before its one atomic rename (a fault there is
      // the write's own failure, which leaves the old file in place).
      if (scenario.name === 'rename') {
        expect(steps).toEqual([]);
        return;
      }
      expect(steps.length).toBeGreaterThan(0);
      for (const [index, step] of steps.entries()) {
        for (const code of ['ENOSPC', 'EROFS', 'EACCES', 'ENAMETOOLONG', 'ENOENT']) {
          const dir = tempDir();
          writeBase(dir);
          const before = treeOf(join(dir, 'assets'), skipControl);
          const project = await open(dir);
          stepHook.current = (current) => {
            if (current === step) throw errnoError(code, join(dir, 'assets', `step-${index}`));
          };
          const error = errorOf(await apply(project, scenario.mutation));
          expect(error.code, `${step} ${code}`).toBe(PackerErrorCodes.WriteFailed);
          expect(error.data).toMatchObject({ errno: code, restored: true });
          expect(treeDifferences(before, treeOf(join(dir, 'assets'), skipControl)), `${step} ${code}`).toEqual([]);
          expect(existsSync(join(dir, 'assets', JOURNAL_PATH))).toBe(false);
          // The project is not bricked: the next write works.
          stepHook.current = undefined;
          expect(
            (await apply(project, { kind: 'setBuildInclusion', asset: { assetId: 2 }, included: true }, 'op-2')).status,
          ).toBe('succeeded');
        }
      }
    });
  }

  it('a relocate on a real full disk is rolled back and answers WriteFailed ENOSPC, and one that fills after the journal completes (issue 9, item 8)', async () => {
    requireRoot('it mounts a small tmpfs to fill it');
    for (const fillAt of ['before', 'journal-written', 'action-0']) {
      const mount = mountTmpfs('4m');
      mounts.push(mount);
      const dir = join(mount.dir, 'game');
      mkdirSync(dir);
      writeBase(dir);
      const before = treeOf(join(dir, 'assets'), skipControl);
      const registryBefore = readFileSync(join(dir, 'assets/.prometeu/index.json'), 'utf8');
      const project = await open(dir);
      let filler: string | undefined;
      if (fillAt === 'before') filler = fillDisk(mount.dir);
      stepHook.current = (step) => {
        if (step === fillAt) filler = fillDisk(mount.dir);
      };
      const outcome = await apply(project, SCENARIOS[0]!.mutation);
      if (fillAt !== 'before') {
        // The registry's temporary file is written and flushed beside the journal: once the journal is
        // written, nothing left of the commit needs space, so a disk that fills then no longer stops it.
        expect(outcome.status, fillAt).toBe('succeeded');
        expect(treeDifferences(before, treeOf(join(dir, 'assets'), skipControl)), fillAt).not.toEqual([]);
        expect(existsSync(join(dir, 'assets', JOURNAL_PATH))).toBe(false);
        rmSync(filler!);
        stepHook.current = undefined;
        hosts.splice(0).forEach((host) => host.dispose());
        mounts.splice(0).forEach((each) => each.unmount());
        continue;
      }
      const error = errorOf(outcome);
      expect(error.code, fillAt).toBe(PackerErrorCodes.WriteFailed);
      expect(error.data, fillAt).toMatchObject({ errno: 'ENOSPC', restored: true });
      expect(treeDifferences(before, treeOf(join(dir, 'assets'), skipControl)), fillAt).toEqual([]);
      expect(readFileSync(join(dir, 'assets/.prometeu/index.json'), 'utf8')).toBe(registryBefore);
      expect(existsSync(join(dir, 'assets', JOURNAL_PATH))).toBe(false);
      rmSync(filler!);
      stepHook.current = undefined;
      expect((await apply(project, SCENARIOS[0]!.mutation, 'op-2')).status, fillAt).toBe('succeeded');
      hosts.splice(0).forEach((host) => host.dispose());
      mounts.splice(0).forEach((each) => each.unmount());
    }
  });

  it('a move that fails with ENAMETOOLONG at apply is rolled back inside the same call and leaves no journal (issue 9, item 4)', async () => {
    const dir = tempDir();
    writeBase(dir);
    const assetsDir = join(dir, 'assets');
    const before = treeOf(assetsDir);
    const registry = readFileSync(join(assetsDir, '.prometeu/index.json'), 'utf8');
    const long = `x/${'n'.repeat(300)}/hero`;
    const failure = executeEffect(
      assetsDir,
      'op-long',
      [{ kind: 'moveFolder', from: 'chars/hero', to: long }],
      registry,
      registry.replace('chars/hero', long),
    );
    await expect(failure).rejects.toMatchObject({
      code: PackerErrorCodes.WriteFailed,
      data: { errno: 'ENAMETOOLONG', restored: true, step: 'action-0' },
    });
    expect(treeDifferences(before, treeOf(assetsDir))).toEqual([]);
  });

  it('a journal that can be neither replayed nor rolled back is moved aside with a diagnostic; the project opens and writes work (issue 9, item 4)', async () => {
    const dir = tempDir();
    writeBase(dir);
    const assetsDir = join(dir, 'assets');
    const registry = readFileSync(join(assetsDir, '.prometeu/index.json'), 'utf8');
    const long = `x/${'n'.repeat(300)}/hero`;
    writeFileSync(
      join(assetsDir, JOURNAL_PATH),
      JSON.stringify({
        version: 1,
        operationId: 'op-bricked',
        actions: [{ kind: 'moveFolder', from: 'chars/hero', to: long }],
        registryBefore: registry,
        registryAfter: registry.replace('chars/hero', long),
        createdFolders: ['x', `x/${'n'.repeat(300)}`],
      }),
    );
    const project = await open(dir);
    expect(project.lastRecovery).toMatchObject({ operationId: 'op-bricked', outcome: 'failed' });
    const setAside = project.lastRecovery!.setAside!;
    expect(setAside).toMatch(/^\.prometeu\/journal-unrecoverable-.*\.json$/);
    expect(existsSync(join(assetsDir, JOURNAL_PATH))).toBe(false);
    expect(existsSync(join(assetsDir, setAside))).toBe(true);
    expect(
      project.snapshot().projectDiagnostics.map((diagnostic) => [diagnostic.code, diagnostic.path]),
    ).toContainEqual(['journal-unrecoverable', setAside]);
    // The status a client reads says where the journal went, in a shape the protocol's schema accepts.
    const status = ProjectStatus.parse(toProjectStatus(readViewOf(project), project.snapshot()));
    expect(status.lastRecovery).toMatchObject({ outcome: 'failed', setAside });
    expect((await apply(project, { kind: 'rename', asset: { assetId: 1 }, name: 'champion' })).status).toBe(
      'succeeded',
    );
    expect((await apply(project, { kind: 'rename', asset: { assetId: 3 }, name: 'box' }, 'op-2')).status).toBe(
      'succeeded',
    );
    // Commits re-crawl only what they touched; the set-aside journal is still named after two of them.
    expect(
      project.snapshot().projectDiagnostics.map((diagnostic) => [diagnostic.code, diagnostic.path]),
    ).toContainEqual(['journal-unrecoverable', setAside]);
  });

  it('on a read-only project, initWorkspace on a valid workspace and reconcile answer, and a write answers WriteFailed EROFS (issue 9, item 10)', async () => {
    requireRoot('it makes a read-only bind mount');
    const dir = tempDir();
    writeBase(dir);
    const before = treeOf(dir);
    const mount = mountReadOnly(dir);
    mounts.push(mount);
    const project = await open(mount.dir);
    const init = await project.lane.enqueue(initWorkspaceOperation(project, 'op-init'));
    expect(init).toMatchObject({ status: 'succeeded', response: { outcome: 'alreadyValid' } });
    const reconcile = await project.lane.enqueue(reconcileOperation(project, 'op-reconcile'));
    expect(reconcile.status).toBe('succeeded');
    const error = errorOf(await apply(project, SCENARIOS[0]!.mutation));
    expect(error.code).toBe(PackerErrorCodes.WriteFailed);
    expect(error.data).toMatchObject({ errno: 'EROFS' });
    expect(treeDifferences(before, treeOf(dir))).toEqual([]);
    expect(uuidFor('chars/hero')).toBeTruthy();
  });
});
