/**
 * A pack packs only what a snapshot validated: every input's content is compared with the hash the
 * snapshot's validation recorded, a pack waits for pending validation, the artifacts name their revision,
 * and the validation worker thread answers exactly what the inline validation does.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { PackerEvent } from '@prometeu/packer-protocol';
import { describe, expect, it } from 'vitest';
import { PackerHost } from '../../server/src/index.js';
import { packOperation, type PackResponse } from '../../server/src/writes/pack-project.js';
import type { Project } from '../../server/src/project/project.js';
import { checkAsset, validationCounters } from '../../server/src/validation/check-asset.js';
import { pendingJobs } from '../../server/src/validation/project-validation.js';
import { crawledAt } from '../../server/src/project/loader.js';
import { reconcileOperation } from '../../server/src/writes/reconcile.js';
import { crawlAssets } from '../../server/src/domain/crawl.js';
import { buildSnapshot } from '../../server/src/domain/snapshot.js';
import { parseRegistry } from '../../server/src/domain/registry.js';
// The built module, so that the runner really starts its worker thread (from TypeScript sources it cannot).
import { ValidationRunner } from '../../server/dist/validation/validation-worker.js';
import { useTempDirs, writeProject, type AssetSpec } from '../support/workspace-builder.js';
import { makeWav } from './pack-fixtures.js';

const tempDir = useTempDirs('pack-validated-');

const ASSETS: AssetSpec[] = [
  { root: 'misc/hello', files: { 'data.bin': 'hello' } },
  {
    root: 'audio/sfx',
    type: 'sound_bank',
    inputs: { samples: ['a.wav', 'b.wav'] },
    files: { 'a.wav': makeWav(), 'b.wav': 'RIFF broken' },
  },
  { root: 'misc/other', files: { 'data.bin': 'other' }, registered: false },
];

function digest(folder: string, names: readonly string[]): Record<string, string> {
  const result: Record<string, string> = {};
  for (const name of names)
    result[name] = createHash('sha256')
      .update(readFileSync(join(folder, name)))
      .digest('hex');
  return result;
}

async function pack(project: Project, operationId: string): Promise<PackResponse> {
  const outcome = await project.lane.enqueue(packOperation(project, operationId, { projectId: project.id }));
  if ((outcome.status !== 'succeeded' && outcome.status !== 'failed') || !('response' in outcome))
    expect.fail(JSON.stringify(outcome));
  return outcome.response;
}

async function open(root: string): Promise<{ host: PackerHost; project: Project; events: PackerEvent[] }> {
  const host = new PackerHost({ watcher: null, epoch: 'validated-inputs', now: () => new Date(0) });
  const events: PackerEvent[] = [];
  host.subscribe((event) => events.push(event));
  const project = await host.open(pathToFileURL(root).href);
  return { host, project, events };
}

describe('a pack packs only what the snapshot validated', () => {
  it('refuses an input whose content changed behind its back, naming the path, and leaves build/ as it was', async () => {
    const written = writeProject(tempDir(), { assets: [{ root: 'misc/hello', files: { 'data.bin': 'hello' } }] });
    const { host, project } = await open(written.root);
    try {
      const first = await pack(project, 'pack-1');
      expect(first.outcome).toBe('succeeded');
      const names = ['assets.pa', 'asset_table.json', 'preload.json', 'asset_table_metadata.json'];
      const before = digest(join(written.root, 'build'), names);

      // Same size, same existence: only the content differs from what revision N validated.
      writeFileSync(join(written.assetsDir, 'misc/hello/data.bin'), 'HELLO');
      const second = await pack(project, 'pack-2');
      expect(second).toMatchObject({
        outcome: 'failed',
        failure: 'diverged',
        revision: first.revision,
        divergedPaths: ['misc/hello/data.bin'],
        artifacts: [],
      });
      expect(digest(join(written.root, 'build'), names)).toEqual(before);
    } finally {
      host.dispose();
    }
  });

  it('waits for pending validation, publishes it inside the pack, and packs that revision', async () => {
    const written = writeProject(tempDir(), { assets: [{ root: 'misc/hello', files: { 'data.bin': 'hello' } }] });
    const { host, project, events } = await open(written.root);
    try {
      expect(project.snapshot().counts.validationPending).toBe(1);
      const response = await pack(project, 'pack-1');
      expect(response).toMatchObject({ outcome: 'succeeded', revision: 2 });
      const published = events.filter((event) => event.kind === 'snapshot.published');
      expect(published.map((event) => [event.body, event.operationId])).toEqual([
        [{ revision: 1, previousRevision: null, cause: 'open' }, undefined],
        [
          {
            revision: 2,
            previousRevision: 1,
            cause: 'validation',
            // The checked asset is named as changed: its validation state and input hashes are new.
            assets: {
              added: [],
              removed: [],
              changed: [{ root: 'misc/hello', assetUuid: expect.any(String), assetId: 1 }],
              moved: [],
            },
          },
          'pack-1',
        ],
      ]);
      // The round that started at open finds its results already published and publishes nothing more.
      await project.validationSettled();
      expect(project.snapshot().revision).toBe(2);
    } finally {
      host.dispose();
    }
  });

  it('records nothing for an input edited between the snapshot and the validation read: the asset stays pending, the project reports the path, and the pack refuses it', async () => {
    const written = writeProject(tempDir(), {
      assets: [
        { root: 'misc/hello', files: { 'data.bin': 'hello' } },
        { root: 'misc/other', files: { 'data.bin': 'other' } },
      ],
    });
    const input = join(written.assetsDir, 'misc/hello/data.bin');
    let edited = false;
    const host = new PackerHost({
      watcher: null,
      epoch: 'validated-inputs',
      now: () => new Date(0),
      // The edit lands after the crawl of revision 1 and before the first round reads the file.
      beforeValidationRound: (projectId) => {
        if (edited) return;
        edited = true;
        const crawled = crawledAt(host.get(projectId).snapshot().crawl, 'misc/hello/data.bin')!;
        // A real edit's times may lag the clock by a tick: once the clock is past the crawl, the edit's
        // modification time is set just after the crawl, so the test does not depend on that tick.
        while (Date.now() < crawled + 2) void 0;
        writeFileSync(input, 'HELLO');
        // In seconds, half a millisecond clear of the crawl's millisecond whatever the float rounding.
        utimesSync(input, (crawled + 1.5) / 1000, (crawled + 1.5) / 1000);
      },
    });
    const events: PackerEvent[] = [];
    host.subscribe((event) => events.push(event));
    try {
      const project = await host.open(pathToFileURL(written.root).href);
      await project.validationSettled();
      const snapshot = project.snapshot();
      // No hash of bytes the snapshot never saw: the asset stays pending, the other one is validated.
      expect(snapshot.byRoot.get('misc/hello')).toMatchObject({ validation: 'pending', formatResult: null });
      expect(snapshot.byRoot.get('misc/hello')!.inputs.map((i) => i.sha256)).toEqual([null]);
      expect(snapshot.byRoot.get('misc/other')!.validation).toBe('done');
      expect(project.watch.divergence()).toMatchObject({
        diverged: true,
        changes: [{ path: 'misc/hello/data.bin', change: 'changed' }],
      });
      expect(events.filter((event) => event.kind === 'divergence.detected').map((event) => event.body)).toEqual([
        expect.objectContaining({ changes: [{ path: 'misc/hello/data.bin', change: 'changed' }] }),
      ]);

      const refused = await pack(project, 'pack-1');
      expect(refused).toMatchObject({ outcome: 'failed', failure: 'diverged', divergedPaths: ['misc/hello/data.bin'] });
      expect(existsSync(join(written.root, 'build'))).toBe(false);

      // A reconcile accepts the new bytes (their times now before its crawl); they are validated and packed.
      utimesSync(input, new Date(2000, 0, 1), new Date(2000, 0, 1));
      await project.lane.enqueue(reconcileOperation(project, 'reconcile-1'));
      await project.validationSettled();
      expect(project.snapshot().byRoot.get('misc/hello')!.inputs[0]!.sha256).toBe(
        createHash('sha256').update('HELLO').digest('hex'),
      );
      expect((await pack(project, 'pack-2')).outcome).toBe('succeeded');
    } finally {
      host.dispose();
    }
  });

  it('refuses a pack while the project reports an input of the build set as diverged, even when its bytes hash as validated', async () => {
    const written = writeProject(tempDir(), { assets: [{ root: 'misc/hello', files: { 'data.bin': 'hello' } }] });
    const { host, project } = await open(written.root);
    try {
      await project.validationSettled();
      // The watcher saw a change; the content was put back before the pack, so only the report says so.
      project.watch.tracker.apply(
        new Map([['misc/hello/data.bin', { path: 'misc/hello/data.bin', change: 'changed' as const }]]),
        false,
      );
      expect(await pack(project, 'pack-1')).toMatchObject({
        outcome: 'failed',
        failure: 'diverged',
        divergedPaths: ['misc/hello/data.bin'],
      });
      expect(existsSync(join(written.root, 'build'))).toBe(false);
    } finally {
      host.dispose();
    }
  });

  it('a reload keeps the format results of unchanged inputs: after a reconcile that touched one asset, only it is pending', async () => {
    const written = writeProject(tempDir(), {
      assets: [
        { root: 'misc/a', files: { 'data.bin': 'a' } },
        { root: 'misc/b', files: { 'data.bin': 'b' } },
        { root: 'misc/c', files: { 'data.bin': 'c' } },
      ],
    });
    const { host, project, events } = await open(written.root);
    try {
      await project.validationSettled();
      const validated = project.snapshot();
      const pendingAtReconcile: string[][] = [];
      host.subscribe((event) => {
        if (event.kind === 'snapshot.published' && event.body.cause === 'reconcile')
          pendingAtReconcile.push(
            project
              .snapshot()
              .assets.filter((record) => record.validation === 'pending')
              .map((record) => record.root),
          );
      });
      // New content in one asset; the same content, newly stamped, in another (a touch, a checkout).
      writeFileSync(join(written.assetsDir, 'misc/a/data.bin'), 'A, edited');
      utimesSync(join(written.assetsDir, 'misc/b/data.bin'), new Date(1_000_000), new Date(1_000_000));
      await project.lane.enqueue(reconcileOperation(project, 'reconcile-1'));
      expect(pendingAtReconcile).toEqual([['misc/a']]);
      // The unchanged assets keep the very result they had.
      expect(project.snapshot().byRoot.get('misc/c')!.formatResult).toBe(validated.byRoot.get('misc/c')!.formatResult);
      expect(project.snapshot().byRoot.get('misc/b')!.validation).toBe('done');
      await project.validationSettled();
      const published = events.filter((event) => event.kind === 'snapshot.published').at(-1)!;
      expect(published.body).toMatchObject({ cause: 'validation', assets: { changed: [{ root: 'misc/a' }] } });
    } finally {
      host.dispose();
    }
  });

  it('writes the packed revision into asset_table_metadata.json', async () => {
    const written = writeProject(tempDir(), { assets: [{ root: 'misc/hello', files: { 'data.bin': 'hello' } }] });
    const { host, project } = await open(written.root);
    try {
      await project.validationSettled();
      const response = await pack(project, 'pack-1');
      const metadata = JSON.parse(readFileSync(join(written.root, 'build', 'asset_table_metadata.json'), 'utf8')) as {
        snapshot_revision: number;
      };
      expect(metadata.snapshot_revision).toBe(response.revision);
    } finally {
      host.dispose();
    }
  });

  it('caches results by input content, format version and declaration: only a change of one runs the rules again', () => {
    const written = writeProject(tempDir(), { assets: [ASSETS[1]!] });
    const text = readFileSync(join(written.assetsDir, '.prometeu/index.json'), 'utf8');
    const jobOf = () => pendingJobs(buildSnapshot(1, crawlAssets(written.assetsDir), parseRegistry(text)))[0]!;
    const counted = (job: ReturnType<typeof jobOf>): { ran: number; cached: number } => {
      const before = { ...validationCounters };
      checkAsset(written.assetsDir, job);
      return { ran: validationCounters.ran - before.ran, cached: validationCounters.cached - before.cached };
    };
    const job = jobOf();
    counted(job);
    expect(counted(job)).toEqual({ ran: 0, cached: 1 });
    // The same bytes under another name: a new declaration, so the rules run again.
    expect(counted({ ...job, declaration: { ...job.declaration, name: 'renamed' } })).toEqual({ ran: 1, cached: 0 });
    // New content in one input, same size class: its hash differs, so the rules run again.
    writeFileSync(join(written.assetsDir, 'audio/sfx/b.wav'), 'RIFF broken, differently');
    expect(counted(job)).toEqual({ ran: 1, cached: 0 });
    expect(counted(job)).toEqual({ ran: 0, cached: 1 });
  });

  it('gets the same answers from the validation worker thread as from inline validation', async () => {
    const written = writeProject(tempDir(), { assets: ASSETS });
    const text = readFileSync(join(written.assetsDir, '.prometeu/index.json'), 'utf8');
    const snapshot = buildSnapshot(1, crawlAssets(written.assetsDir), parseRegistry(text));
    const jobs = pendingJobs(snapshot);
    expect(jobs.map((job) => job.root).sort()).toEqual(['audio/sfx', 'misc/hello', 'misc/other']);
    const runner = new ValidationRunner();
    try {
      const fromWorker = await runner.run(written.assetsDir, jobs);
      expect(fromWorker).toEqual(jobs.map((job) => checkAsset(written.assetsDir, job)));
      expect(fromWorker.find((answer) => answer.root === 'audio/sfx')!.diagnostics.map((d) => d.code)).toEqual([
        'format-input-invalid',
      ]);
    } finally {
      runner.dispose();
    }
  });

  it('ends an idle validation worker and starts a new one for the next round, with the same answers', async () => {
    const written = writeProject(tempDir(), { assets: ASSETS });
    const text = readFileSync(join(written.assetsDir, '.prometeu/index.json'), 'utf8');
    const jobs = pendingJobs(buildSnapshot(1, crawlAssets(written.assetsDir), parseRegistry(text)));
    const runner = new ValidationRunner({ idleMs: 20 });
    try {
      const first = await runner.run(written.assetsDir, jobs);
      const deadline = Date.now() + 10_000;
      while (runner.running) {
        if (Date.now() > deadline) throw new Error('the idle validation worker never ended');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(runner.idleEnds).toBe(1);
      // Two rounds at once on the new worker: neither is lost to the old worker's exit.
      const [second, third] = await Promise.all([
        runner.run(written.assetsDir, jobs),
        runner.run(written.assetsDir, jobs.slice(0, 1)),
      ]);
      expect(runner.running).toBe(true);
      expect(second).toEqual(first);
      expect(third).toEqual(first.slice(0, 1));
    } finally {
      runner.dispose();
    }
    expect(runner.running).toBe(false);
  });
});
