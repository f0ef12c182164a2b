/**
 * A packer killed after any durable step of a commit, before the commit's fingerprints were logged, must not
 * make the next run report its own commit as a change made while no packer ran; and what a person changed
 * meanwhile must still be reported. In-process: the crash is the host's step hook throwing, the next run a
 * new host on the same folder (no fingerprint save runs in between, as after SIGKILL).
 */
import { appendFileSync, existsSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { MutationIntent } from '@prometeu/packer-protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PackerHost } from '../../server/src/host.js';
import type { Project } from '../../server/src/project/project.js';
import { applyMutationOperation } from '../../server/src/writes/apply-mutation.js';
import { reconcileOperation } from '../../server/src/writes/reconcile.js';
import { MIXED_ROOTS, useTempDirs, uuidFor, writeProject } from '../support/workspace-builder.js';
import { describeChanges, fakeWatcher } from './support.js';

/** Thrown from the step hook: the process "dies" right after a durable step. */
class SimulatedCrash extends Error {}

const SCENARIOS: readonly { name: string; setup?: MutationIntent[]; mutation: MutationIntent }[] = [
  { name: 'rename', mutation: { kind: 'rename', asset: { assetId: 1 }, name: 'Hero' } },
  { name: 'relocate', mutation: { kind: 'relocate', asset: { assetId: 1 }, to: 'moved/deep/hero' } },
  { name: 'quarantine', mutation: { kind: 'quarantine', asset: { assetId: 2 } } },
  {
    name: 'restore',
    setup: [{ kind: 'quarantine', asset: { assetId: 2 } }],
    mutation: { kind: 'restore', asset: { assetUuid: uuidFor('chars/slime') } },
  },
  { name: 'remove', mutation: { kind: 'remove', asset: { assetId: 3 } } },
  { name: 'register', mutation: { kind: 'register', root: 'props/barrel' } },
  { name: 'build inclusion', mutation: { kind: 'setBuildInclusion', asset: { assetId: 1 }, included: false } },
];

describe('a packer killed during a commit, before its fingerprints were logged', () => {
  const tempDir = useTempDirs('packer-killed-mid-commit-');
  const hosts: PackerHost[] = [];
  afterEach(() => {
    for (const host of hosts.splice(0)) host.dispose();
  });

  /** Opens `dir` watched (by a watcher that reports nothing by itself), with a step hook a test can set. */
  async function open(dir: string): Promise<{ project: Project; hook: { current?: (step: string) => void } }> {
    const hook: { current?: (step: string) => void } = {};
    const host = new PackerHost({
      watcher: fakeWatcher().factory,
      settleMs: 20,
      stepHook: (step) => hook.current?.(step),
    });
    hosts.push(host);
    const project = await host.open(pathToFileURL(dir).href);
    await project.watch.ready;
    return { project, hook };
  }

  /** Disposes the host of `project` the way a killed process leaves it: nothing saved on the way out. */
  function kill(project: Project): void {
    const index = hosts.findIndex((host) => host.list().includes(project));
    hosts.splice(index, 1)[0]!.dispose();
  }

  /**
   * Kills `project` the way SIGKILL does after its commits but before its fingerprints were saved: the host is
   * disposed (which saves them on the way out) and the fingerprint files are put back as they were. `tornLog`
   * cuts the log's last line short instead, as a kill during its append leaves it.
   */
  function killUnsaved(dir: string, project: Project, options: { tornLog?: boolean } = {}): void {
    const files = ['fingerprint.json', 'fingerprint.log'].map((name) => join(dir, 'assets/.prometeu', name));
    const kept = files.map((file) => (existsSync(file) ? readFileSync(file, 'utf8') : null));
    kill(project);
    for (const [index, file] of files.entries()) {
      let text = kept[index]!;
      if (text !== null && options.tornLog === true && file.endsWith('.log')) text = text.slice(0, -12);
      if (text === null) rmSync(file, { force: true });
      else writeFileSync(file, text);
    }
  }

  async function apply(project: Project, mutation: MutationIntent, operationId: string) {
    return project.lane.enqueue(
      applyMutationOperation(project, operationId, { mutation, consent: true }, project.newUuid, 'workspace+registry'),
    );
  }

  /** A fresh project with the scenario's stage set and the fingerprints saved, open and ready to commit. */
  async function staged(setup: readonly MutationIntent[] = []) {
    const dir = realpathSync(tempDir());
    writeProject(dir, {
      // `props/copy` shares the crate's uuid, so adopting it rewrites its asset.json.
      assets: [...MIXED_ROOTS, { root: 'props/copy', uuid: uuidFor('props/crate'), registered: false }],
    });
    const opened = await open(dir);
    // A first commit takes the writer lock, without which no fingerprint is saved or logged.
    for (const [index, mutation] of [
      { kind: 'rename', asset: { assetId: 3 }, name: 'Crate' } as const,
      ...setup,
    ].entries())
      expect(await apply(opened.project, mutation, `setup-${index}`)).toMatchObject({ status: 'succeeded' });
    // A baseline saved, as a running packer saves one a moment after its commits: the log starts empty.
    await opened.project.watch.save();
    expect(existsSync(join(dir, 'assets/.prometeu/fingerprint.json')), 'the baseline saved').toBe(true);
    return { dir, ...opened };
  }

  for (const scenario of SCENARIOS) {
    it(`${scenario.name}: the next run reports nothing, whichever durable step the kill followed`, async () => {
      const reference = await staged(scenario.setup);
      const steps: string[] = [];
      reference.hook.current = (step) => steps.push(step);
      expect(await apply(reference.project, scenario.mutation, 'op-reference')).toMatchObject({ status: 'succeeded' });
      kill(reference.project);
      expect(steps.length).toBeGreaterThan(0);

      for (const step of steps) {
        const { dir, project, hook } = await staged(scenario.setup);
        hook.current = (reached) => {
          if (reached === step) throw new SimulatedCrash(`killed after ${reached}`);
        };
        const crashed = await apply(project, scenario.mutation, 'op-killed');
        expect(crashed.status, `${scenario.name}, killed after ${step}`).toBe('error');
        kill(project);

        const next = await open(dir);
        expect(
          describeChanges(next.project.watch.divergence().changes),
          `${scenario.name}, killed after ${step}: the next run's divergence`,
        ).toBe('[]');
        kill(next.project);
      }
    });
  }

  it('a commit killed after its write, then the next run killed after a commit of its own, is not reported by the run after', async () => {
    const { dir, project, hook } = await staged();
    hook.current = (step) => {
      if (step === 'registry-written') throw new SimulatedCrash(step);
    };
    expect((await apply(project, SCENARIOS[0]!.mutation, 'op-killed')).status).toBe('error');
    kill(project);
    // The next run settles the killed commit's intent, commits, and is killed before it saves: its lines follow
    // the unsettled intent in the log.
    const second = await open(dir);
    expect(describeChanges(second.project.watch.divergence().changes)).toBe('[]');
    expect(
      await apply(second.project, { kind: 'rename', asset: { assetId: 2 }, name: 'Slimy' }, 'op-second'),
    ).toMatchObject({ status: 'succeeded' });
    killUnsaved(dir, second.project);

    const third = await open(dir);
    expect(describeChanges(third.project.watch.divergence().changes)).toBe('[]');
  });

  it('a log line cut short by a kill does not hide the commits the next run logs after it', async () => {
    const { dir, project } = await staged();
    expect(await apply(project, SCENARIOS[0]!.mutation, 'op-first')).toMatchObject({ status: 'succeeded' });
    // Killed while it appended the fingerprints of its commit: the commit's intent is left without them.
    killUnsaved(dir, project, { tornLog: true });
    const second = await open(dir);
    expect(describeChanges(second.project.watch.divergence().changes)).toBe('[]');
    expect(
      await apply(second.project, { kind: 'rename', asset: { assetId: 2 }, name: 'Slimy' }, 'op-second'),
    ).toMatchObject({ status: 'succeeded' });
    killUnsaved(dir, second.project);

    const third = await open(dir);
    expect(describeChanges(third.project.watch.divergence().changes)).toBe('[]');
  });

  it('a save of the fingerprints made while a commit runs keeps that commit in the log', async () => {
    const { dir, project, hook } = await staged();
    let saving: Promise<void> | undefined;
    hook.current = (step) => {
      // The save copies the fingerprints now, before the commit moved anything, and writes them while it goes on.
      if (step === 'journal-written') saving = project.watch.save();
      if (step === 'registry-written') throw new SimulatedCrash(step);
    };
    expect((await apply(project, SCENARIOS[1]!.mutation, 'op-killed')).status).toBe('error');
    expect(saving, 'the save started during the commit').toBeDefined();
    await saving;
    killUnsaved(dir, project);

    const next = await open(dir);
    expect(describeChanges(next.project.watch.divergence().changes)).toBe('[]');
  });

  for (const after of ['a commit of the same run', 'a kill'] as const) {
    it(`a commit an I/O failure undid, rewriting the file it had written, is not reported after ${after}`, async () => {
      const { dir, project, hook } = await staged();
      hook.current = (step) => {
        if (step === 'action-0') throw Object.assign(new Error('ENOSPC: injected'), { code: 'ENOSPC' });
      };
      const failed = await apply(project, { kind: 'adopt', root: 'props/copy' }, 'op-failed');
      expect(JSON.stringify(failed)).toMatch(/ENOSPC/);
      delete hook.current;
      if (after === 'a kill') killUnsaved(dir, project);
      else {
        // The next commit's intent follows the failed one's; the fingerprints it saves must hold the undo.
        expect(await apply(project, { kind: 'rename', asset: { assetId: 2 }, name: 'Slimy' }, 'op-next')).toMatchObject(
          {
            status: 'succeeded',
          },
        );
        await project.watch.save();
        kill(project);
      }

      const next = await open(dir);
      expect(describeChanges(next.project.watch.divergence().changes)).toBe('[]');
    });
  }

  it('a save killed after its file was in place, before it trimmed the log, does not bring back what a reconcile cleared', async () => {
    const { dir, project } = await staged();
    expect(await apply(project, SCENARIOS[0]!.mutation, 'op-rename')).toMatchObject({ status: 'succeeded' });
    // A person edits the renamed declaration; the reconcile takes the disk as the truth and saves it.
    appendFileSync(join(dir, 'assets/chars/hero/asset.json'), '\n');
    // The kill lands between the saved file's rename and the log's removal: the log stays whole.
    const assetsFs = project.watch.assetsFs;
    const removeFile = assetsFs.removeFileSync.bind(assetsFs);
    vi.spyOn(assetsFs, 'removeFileSync').mockImplementation((path) => {
      if (!path.endsWith('fingerprint.log')) removeFile(path);
    });
    expect(await project.lane.enqueue(reconcileOperation(project, 'op-reconcile'))).toMatchObject({
      status: 'succeeded',
    });
    expect(existsSync(join(dir, 'assets/.prometeu/fingerprint.log')), 'the log left whole').toBe(true);
    killUnsaved(dir, project);

    const next = await open(dir);
    expect(describeChanges(next.project.watch.divergence().changes)).toBe('[]');
  });

  it('still reports a file a person changed after the commit wrote it', async () => {
    const { dir, project, hook } = await staged();
    hook.current = (step) => {
      if (step === 'registry-written') throw new SimulatedCrash(step);
    };
    expect((await apply(project, SCENARIOS[0]!.mutation, 'op-killed')).status).toBe('error');
    kill(project);
    // Same size would not do: the fingerprint is size and time. A person adds a line to the renamed declaration.
    appendFileSync(join(dir, 'assets/chars/hero/asset.json'), '\n');

    const next = await open(dir);
    expect(describeChanges(next.project.watch.divergence().changes)).toContain('chars/hero/asset.json');
  });

  it('still reports a file a person changed inside a folder the commit moved', async () => {
    const { dir, project, hook } = await staged();
    hook.current = (step) => {
      if (step === 'journal-removed') throw new SimulatedCrash(step);
    };
    expect((await apply(project, SCENARIOS[1]!.mutation, 'op-killed')).status).toBe('error');
    kill(project);
    const moved = join(dir, 'assets/moved/deep/hero');
    const input = join(moved, 'data.bin');
    appendFileSync(input, 'more');
    // And a file the commit never knew of, moved in beside it.
    renameSync(join(dir, 'assets/props/crate/data.bin'), join(moved, 'extra.bin'));

    const next = await open(dir);
    const changes = describeChanges(next.project.watch.divergence().changes);
    expect(changes).toContain('moved/deep/hero/data.bin');
    expect(changes).toContain('moved/deep/hero/extra.bin');
  });
});
