/**
 * Deterministic crash points, in-process: for every mutation that touches files and for every durable
 * step of its commit, a crash right after that step (simulated by throwing from the host's `stepHook`)
 * leaves a disk that recovery turns into exactly the state after the write; the next open reports what it
 * recovered, and a commit that finds another writer's journal recovers it before writing anything. When
 * the disk changed between the crash and the recovery, recovery rolls back to exactly the state before.
 */
import { cpSync, existsSync, mkdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { MutationIntent } from '@prometeu/packer-protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { PackerHost } from '../../server/src/index.js';
import { toAssetSummary } from '../../server/src/wire/convert.js';
import { JOURNAL_PATH, recoverJournal, TRASH_FOLDER } from '../../server/src/mutations/execute.js';
import { applyMutationOperation } from '../../server/src/writes/apply-mutation.js';
import { reconcileOperation } from '../../server/src/writes/reconcile.js';
import type { Project } from '../../server/src/project/project.js';
import type { LaneOutcome } from '../../server/src/project/writer-lane.js';
import { MIXED_ROOTS, useTempDirs, uuidFor, writeProject } from '../support/workspace-builder.js';
import { treeDifferences, treeOf } from './support.js';

/** Thrown from the step hook: the process "dies" right after a durable step. */
class SimulatedCrash extends Error {
  constructor(readonly step: string) {
    super(`simulated crash after ${step}`);
  }
}

const CREATED_UUID = '00000000-0000-4000-8000-00000000c0de';

/** The starting project: three registered roots, one unregistered one, and one whose uuid collides (for adopt). */
function writeBase(dir: string): void {
  writeProject(dir, {
    assets: [...MIXED_ROOTS, { root: 'props/copy', uuid: uuidFor('props/crate'), registered: false }],
  });
}

/** One scenario: optional mutations that set the stage, then the mutation whose commit crashes. */
interface Scenario {
  readonly name: string;
  readonly setup?: readonly MutationIntent[];
  readonly mutation: MutationIntent;
}

const SCENARIOS: readonly Scenario[] = [
  { name: 'relocate', mutation: { kind: 'relocate', asset: { assetId: 1 }, to: 'moved/deep/hero' } },
  { name: 'quarantine', mutation: { kind: 'quarantine', asset: { assetId: 2 } } },
  {
    name: 'restore',
    setup: [{ kind: 'quarantine', asset: { assetId: 2 } }],
    mutation: { kind: 'restore', asset: { assetUuid: uuidFor('chars/slime') } },
  },
  {
    name: 'restore elsewhere',
    setup: [{ kind: 'quarantine', asset: { assetId: 1 } }],
    mutation: { kind: 'restore', asset: { assetUuid: uuidFor('chars/hero') }, to: 'back/hero' },
  },
  { name: 'remove', mutation: { kind: 'remove', asset: { assetId: 3 } } },
  { name: 'remove unregistered', mutation: { kind: 'remove', asset: { root: 'props/barrel' } } },
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
  { name: 'adopt with a new identity', mutation: { kind: 'adopt', root: 'props/copy' } },
  { name: 'register', mutation: { kind: 'register', root: 'props/barrel' } },
  { name: 'setBuildInclusion', mutation: { kind: 'setBuildInclusion', asset: { assetId: 2 }, included: true } },
  { name: 'forget', mutation: { kind: 'forget', asset: { assetId: 1 } } },
];

/** Control files that are not part of a write: the lock and the watcher's fingerprints. */
const skipControl = (path: string): boolean =>
  path === '.prometeu/writer.lock' || path === '.prometeu/fingerprint.json';

describe('crash at every durable step of a commit', () => {
  const tempDir = useTempDirs('packer-lane-crash-points-');
  const hosts: PackerHost[] = [];
  afterEach(() => {
    for (const host of hosts.splice(0)) host.dispose();
  });

  /** The step hook of each opened project, which a test sets to crash it (the host calls it after each durable step). */
  const stepHooks = new WeakMap<Project, { current?: (step: string) => void }>();
  const stepHookOf = (project: Project): { current?: (step: string) => void } => stepHooks.get(project)!;

  /** Opens `dir` in a new host with a pinned uuid and no watcher (nothing here changes files behind its back). */
  async function open(dir: string): Promise<Project> {
    const hook: { current?: (step: string) => void } = {};
    const options = {
      epoch: 'crash-points',
      newUuid: () => CREATED_UUID,
      // Pinned: a quarantine records its time in the manifest, which the runs compare byte for byte.
      now: () => new Date('2026-01-01T00:00:00.000Z'),
      watcher: null,
      stepHook: (step: string) => hook.current?.(step),
    };
    const host = new PackerHost(options);
    hosts.push(host);
    const project = await host.open(pathToFileURL(dir).href);
    stepHooks.set(project, hook);
    return project;
  }

  function close(project: Project): void {
    const index = hosts.findIndex((host) => host.list().includes(project));
    hosts.splice(index, 1)[0]!.dispose();
  }

  async function apply(project: Project, mutation: MutationIntent, operationId: string): Promise<LaneOutcome<unknown>> {
    return project.lane.enqueue(
      applyMutationOperation(project, operationId, { mutation, consent: true }, project.newUuid, 'workspace+registry'),
    );
  }

  /** A copy of the base project with the scenario's stage set (if any), closed again. */
  async function staged(base: string, scenario: Pick<Scenario, 'setup'>): Promise<string> {
    const dir = realpathSync(tempDir());
    cpSync(base, dir, { recursive: true });
    if (scenario.setup !== undefined && scenario.setup.length > 0) {
      const project = await open(dir);
      for (const [index, mutation] of scenario.setup.entries())
        expect(await apply(project, mutation, `setup-${index}`)).toMatchObject({ status: 'succeeded' });
      close(project);
    }
    return dir;
  }

  const summariesOf = (project: Project): unknown =>
    JSON.parse(JSON.stringify(project.snapshot().assets.map(toAssetSummary)));

  for (const scenario of SCENARIOS) {
    it(`${scenario.name}: a crash after any step is recovered to exactly the state after the write`, async () => {
      const base = realpathSync(tempDir());
      writeBase(base);

      // The reference run: no crash; it records the steps and the trees before and after.
      const reference = await staged(base, scenario);
      const assetsOf = (dir: string): string => join(dir, 'assets');
      const before = treeOf(assetsOf(reference), skipControl);
      const referenceProject = await open(reference);
      const steps: string[] = [];
      stepHookOf(referenceProject).current = (step) => steps.push(step);
      const outcome = await apply(referenceProject, scenario.mutation, 'op-crash');
      expect(outcome, JSON.stringify(outcome)).toMatchObject({ status: 'succeeded', response: { outcome: 'applied' } });
      const after = treeOf(assetsOf(reference), skipControl);
      close(referenceProject);
      // What a fresh open shows of the state after (incremental snapshots are the property test's concern).
      const referenceReopened = await open(reference);
      const afterSummaries = summariesOf(referenceReopened);
      close(referenceReopened);
      expect(treeDifferences(before, after)).not.toEqual([]);
      expect(steps.at(-1)).toBe(steps.includes('journal-written') ? 'journal-removed' : 'registry-written');

      for (const step of steps) {
        for (const recovery of ['recoverJournal', 'next open'] as const) {
          const dir = await staged(base, scenario);
          const where = `${scenario.name}, crash after ${step}, recovered by ${recovery}`;
          expect(treeDifferences(before, treeOf(assetsOf(dir), skipControl)), where).toEqual([]);
          const project = await open(dir);
          stepHookOf(project).current = (reached) => {
            if (reached === step) throw new SimulatedCrash(step);
          };
          const crashed = await apply(project, scenario.mutation, 'op-crash');
          expect(
            crashed.status === 'error' && (crashed as { error: unknown }).error instanceof SimulatedCrash,
            where,
          ).toBe(true);
          // The process is gone: nothing of it runs any more (the lock stays released, as for a dead pid).
          close(project);
          // A journaled commit leaves its journal until its very last step; a registry-only one has none.
          const journalLeft = existsSync(join(assetsOf(dir), JOURNAL_PATH));
          expect(journalLeft, where).toBe(steps.includes('journal-written') && step !== 'journal-removed');

          let reopened: Project;
          if (recovery === 'recoverJournal') {
            const report = await recoverJournal(assetsOf(dir));
            expect(report, where).toEqual(
              journalLeft
                ? { operationId: 'op-crash', outcome: 'completed', message: expect.any(String) as string }
                : null,
            );
            reopened = await open(dir);
            expect(reopened.lastRecovery, where).toBeNull();
          } else {
            reopened = await open(dir);
            expect(reopened.lastRecovery, where).toEqual(
              journalLeft
                ? { operationId: 'op-crash', outcome: 'completed', message: expect.any(String) as string }
                : null,
            );
          }
          expect(treeDifferences(after, treeOf(assetsOf(dir), skipControl)), where).toEqual([]);
          expect(existsSync(join(assetsOf(dir), TRASH_FOLDER)), where).toBe(false);
          expect(summariesOf(reopened), where).toEqual(afterSummaries);
          close(reopened);
          rmSync(dir, { recursive: true, force: true });
        }
      }
    });
  }

  it('a process that takes over from a crashed writer recovers its journal before writing, so no acknowledged write is lost', async () => {
    const base = realpathSync(tempDir());
    writeBase(base);
    const dir = await staged(base, {});
    const assetsDir = join(dir, 'assets');
    // The survivor opened the project while the other writer was alive, so it recovered nothing on open.
    const survivor = await open(dir);
    const crashing = await open(`${dir}/`);
    expect(crashing).not.toBe(survivor);
    stepHookOf(crashing).current = (step) => {
      if (step === 'action-0') throw new SimulatedCrash(step);
    };
    expect(
      (await apply(crashing, { kind: 'relocate', asset: { assetId: 1 }, to: 'moved/hero' }, 'op-crash')).status,
    ).toBe('error');
    close(crashing);
    expect(existsSync(join(assetsDir, JOURNAL_PATH))).toBe(true);

    // The survivor's next write finds the journal: it finishes the crashed write first and refuses its own
    // (planned against a snapshot the recovery made stale), telling what it recovered.
    const first = await apply(
      survivor,
      { kind: 'setBuildInclusion', asset: { assetId: 2 }, included: true },
      'op-survivor-1',
    );
    expect(first).toMatchObject({
      status: 'failed',
      response: { outcome: 'rejected', reasons: [{ code: 'diskChanged' }] },
    });
    expect(existsSync(join(assetsDir, JOURNAL_PATH))).toBe(false);
    expect(survivor.lastRecovery).toMatchObject({ operationId: 'op-crash', outcome: 'completed' });
    expect(survivor.snapshot().byId.get(1)?.root).toBe('moved/hero');
    const second = await apply(
      survivor,
      { kind: 'setBuildInclusion', asset: { assetId: 2 }, included: true },
      'op-survivor-2',
    );
    expect(second).toMatchObject({ status: 'succeeded', response: { outcome: 'applied' } });
    close(survivor);

    // Both writes are on disk, and a later open has nothing left to recover.
    const reopened = await open(dir);
    expect(reopened.lastRecovery).toBeNull();
    expect(reopened.snapshot().byId.get(1)?.root).toBe('moved/hero');
    expect(reopened.snapshot().byId.get(2)?.entry?.included_in_build).toBe(true);
  });

  it("a reconcile that finds a crashed writer's journal publishes the recovered state, never the half-done write", async () => {
    const base = realpathSync(tempDir());
    writeBase(base);
    const dir = await staged(base, {});
    const survivor = await open(dir);
    const crashing = await open(`${dir}/`);
    stepHookOf(crashing).current = (step) => {
      if (step === 'action-0') throw new SimulatedCrash(step);
    };
    expect(
      (await apply(crashing, { kind: 'relocate', asset: { assetId: 1 }, to: 'moved/hero' }, 'op-crash')).status,
    ).toBe('error');
    close(crashing);

    // Every snapshot the survivor publishes shows asset 1 wholly before or wholly after the relocation.
    const seen: string[] = [];
    survivor.events.subscribe((event) => {
      if (event.kind !== 'snapshot.published') return;
      const record = survivor.snapshot().byId.get(1);
      seen.push(`${record?.root} ${record?.state}`);
    });
    const reconciled = await survivor.lane.enqueue(reconcileOperation(survivor, 'op-reconcile'));
    expect(reconciled.status).toBe('succeeded');
    expect(seen.length).toBeGreaterThan(0);
    for (const state of seen)
      expect(['chars/hero ok', 'moved/hero ok'], `published: ${seen.join(', ')}`).toContain(state);
    expect(existsSync(join(dir, 'assets', JOURNAL_PATH))).toBe(false);
    expect(survivor.lastRecovery).toMatchObject({ operationId: 'op-crash', outcome: 'completed' });
  });

  it('a crash whose roll-forward the disk no longer allows is rolled back to exactly the state before', async () => {
    const base = realpathSync(tempDir());
    writeBase(base);
    const dir = await staged(base, {});
    const assetsDir = join(dir, 'assets');
    const before = treeOf(assetsDir, skipControl);
    const project = await open(dir);
    stepHookOf(project).current = (step) => {
      if (step === 'journal-written') throw new SimulatedCrash(step);
    };
    const crashed = await apply(project, { kind: 'relocate', asset: { assetId: 1 }, to: 'moved/hero' }, 'op-crash');
    expect(crashed.status).toBe('error');
    close(project);
    // Before anyone recovers, a person creates the destination: the move can no longer be finished.
    mkdirSync(join(assetsDir, 'moved', 'hero'), { recursive: true });
    writeFileSync(join(assetsDir, 'moved', 'hero', 'mine.txt'), 'mine\n');
    const expected = new Map(before);
    expected.set('moved', 'dir/');
    expected.set('moved/hero', 'dir/');
    expected.set('moved/hero/mine.txt', treeOf(assetsDir).get('moved/hero/mine.txt')!);

    const reopened = await open(dir);
    expect(reopened.lastRecovery).toEqual({
      operationId: 'op-crash',
      outcome: 'rolledBack',
      message: expect.any(String) as string,
    });
    expect(treeDifferences(expected, treeOf(assetsDir, skipControl))).toEqual([]);
    expect(reopened.snapshot().byId.get(1)?.root).toBe('chars/hero');
  });

  it('a quarantine interrupted after its manifest, whose root then vanished, is rolled back without leaving quarantine debris', async () => {
    const base = realpathSync(tempDir());
    writeBase(base);
    const dir = await staged(base, {});
    const assetsDir = join(dir, 'assets');
    const project = await open(dir);
    stepHookOf(project).current = (step) => {
      if (step === 'action-0') throw new SimulatedCrash(step);
    };
    expect((await apply(project, { kind: 'quarantine', asset: { assetId: 3 } }, 'op-crash')).status).toBe('error');
    close(project);
    rmSync(join(assetsDir, 'props', 'crate'), { recursive: true });
    const expected = treeOf(assetsDir, skipControl);
    for (const path of [...expected.keys()])
      if (path.startsWith('.prometeu/quarantine') || path === JOURNAL_PATH) expected.delete(path);
    expected.delete('.prometeu/quarantine');

    const report = await recoverJournal(assetsDir);
    expect(report).toMatchObject({ operationId: 'op-crash', outcome: 'rolledBack' });
    expect(treeDifferences(expected, treeOf(assetsDir, skipControl))).toEqual([]);
  });
});
